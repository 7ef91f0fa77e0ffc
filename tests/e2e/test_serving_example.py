"""The serving example end to end on the process runtime: a scikit-learn model published with
the companion step, served by a deployment that pulls exactly that package at start.

Train and publish (`examples/serving_pipeline/train.py`, the real ZenML step) -> `zenml
pipeline deploy` pinned to the package -> `zenml deployment invoke` answers from it -> a new
snapshot, redeployed, switches the model with one restart and no build -> a package whose bytes
were tampered with in the registry is refused at start: the deploy fails naming the cause and
nothing answers.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from tests.conftest import space_counters
from tests.zenml_cli import ZenML, free_port
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec
from zenml_hf_registry.registry import PackageRecord

# Its own ZenML server and local Hub: one xdist worker, beside the other e2e module.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("zenml-serving")]

ROOT = Path(__file__).resolve().parents[2]
HF_TOKEN = "serve-sentinel-hf-token-0123456789"
REGISTRY_WRITE = TokenSpec(
    token="serve-sentinel-registry-write-0123", user="acme", role=TokenRole.WRITE
)
REGISTRY_READ = TokenSpec(
    token="serve-sentinel-registry-read-01234", user="acme", role=TokenRole.READ
)
PIPELINE = "examples.serving_pipeline.pipeline.iris_classifier"
FLOWER = ("--sepal_length=6.3", "--sepal_width=3.3", "--petal_length=6.0", "--petal_width=2.5")
TOKENS = (HF_TOKEN, REGISTRY_WRITE.token, REGISTRY_READ.token)


@pytest.fixture(scope="module")
def zenml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZenML]:
    cli = ZenML(tmp_path_factory.mktemp("zenml-serving"))
    cli("login", "--local", "--port", str(free_port()), timeout=180)
    try:
        yield cli
    finally:
        cli("logout", "--local", check=False, timeout=120)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    settings = HubSettings(
        data_dir=tmp_path_factory.mktemp("hub-serving"),
        tokens=(TokenSpec(token=HF_TOKEN, user="alice", orgs=("acme",)),),
        registries=(
            RegistrySpec(org="acme", name="models", tokens=(REGISTRY_WRITE, REGISTRY_READ)),
        ),
        space_workdir=ROOT,
        space_startup_timeout=120,
    )
    with LocalHub(settings) as running:
        yield running


@pytest.fixture(scope="module")
def stack(zenml: ZenML, hub: LocalHub) -> str:
    zenml.setup_stack(HF_TOKEN, "--organization", "acme", "--endpoint", hub.url)
    for name, token in (("registry_token", REGISTRY_WRITE), ("registry_read", REGISTRY_READ)):
        zenml("secret", "create", name, f"--token={token.token}")
    return "hf-stack"


def train(zenml: ZenML, hub: LocalHub, work: Path, c: float) -> tuple[PackageRecord, Path]:
    """The example's training script: its published record and the deploy config it wrote."""
    config, record = work / f"serve-{c}.yaml", work / f"record-{c}.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.serving_pipeline.train",
            *("--hub-endpoint", hub.url, "--registry", "acme/models"),
            *("--registry-endpoint", f"{hub.url}/acme/models/huggingface"),
            *("--c", str(c), "--stack", "default"),
            *("--config-out", str(config), "--record-out", str(record)),
        ],
        env=zenml.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert not [token for token in TOKENS if token in output]
    return PackageRecord.model_validate_json(record.read_text()), config


def deploy(zenml: ZenML, config: Path, *flags: str, check: bool = True) -> str:
    output = zenml(
        *("pipeline", "deploy", PIPELINE, "--name", "iris", "--config", str(config)),
        *("--timeout", "180", *flags),
        timeout=300,
        check=check,
    )
    assert not [token for token in TOKENS if token in output]
    return output


def predict(zenml: ZenML) -> dict[str, Any]:
    output = zenml("deployment", "invoke", "iris", *FLOWER)
    prediction: dict[str, Any] = json.loads(output[output.index("{") :])["outputs"]["prediction"]
    return prediction


@pytest.mark.timeout(900)  # three trainings, three deploys (one failing) on a shared machine
def test_the_serving_example_answers_from_exactly_the_published_snapshot(
    zenml: ZenML, hub: LocalHub, stack: str, tmp_path: Path
) -> None:
    first, first_config = train(zenml, hub, tmp_path, 1.0)
    assert first.name.startswith("acme/iris-classifier@")
    assert "model.joblib" in {f.path for f in first.files}
    pin = first_config.read_text()
    assert f"revision: {first.registry_revision}" in pin
    assert f"sha256: {first.sha256}" in pin
    assert "REGISTRY_READ_TOKEN: '{{registry_read.token}}'" in pin

    deploy(zenml, first_config)
    answer = predict(zenml)
    assert answer["species"] == "virginica"
    assert answer["package"] == first.name
    assert answer["registry_revision"] == first.registry_revision
    assert answer["package_sha256"] == first.sha256
    details = zenml("deployment", "describe", "iris", "--show-metadata")
    space_id = zenml.space_id(details)
    api = HfApi(endpoint=hub.url, token=HF_TOKEN)
    # The read token is a Space secret (inside the deployment's one secret), never a variable.
    assert not [v for v in api.get_space_variables(space_id).values() if "serve-" in v.value]
    logs = zenml("deployment", "logs", "iris")
    assert f"Loaded {first.name}" in logs
    assert not [token for token in TOKENS if token in details + logs]
    before = space_counters(hub, space_id)

    # A new snapshot: only the pin changes, so the redeploy is one restart and no build.
    second, second_config = train(zenml, hub, tmp_path, 0.05)
    assert second.registry_revision != first.registry_revision
    assert second.sha256 != first.sha256
    deploy(zenml, second_config, "--update")
    switched = predict(zenml)
    assert switched["package"] == second.name
    assert switched["package_sha256"] == second.sha256
    assert switched["probability"] != answer["probability"]  # another model answers
    after = space_counters(hub, space_id)
    assert (after["builds"] - before["builds"], after["restarts"] - before["restarts"]) == (0, 1)

    # A third snapshot whose model file the registry's store then serves altered: the app
    # pulls it at start, finds the content wrong and refuses to start.
    third, third_config = train(zenml, hub, tmp_path, 0.5)
    model_bytes = Path(
        api.hf_hub_download(
            "acme/iris-classifier",
            "model.joblib",
            revision=third.revision,
            local_dir=tmp_path / "third",
        )
    ).read_bytes()
    # The model went through Xet, so the store may hold it as a reconstruction rather than a
    # file: read it through the store, and put the altered bytes where a blob file is served
    # first.
    blobs = hub.app.state.hub.blobs
    sha256 = hashlib.sha256(model_bytes).hexdigest()
    altered = bytearray(blobs.read_bytes(sha256))
    altered[-1] ^= 0xFF
    blobs.path(sha256).parent.mkdir(parents=True, exist_ok=True)
    blobs.path(sha256).write_bytes(bytes(altered))
    failed = deploy(zenml, third_config, "--update", check=False)
    # The deploy fails with the root cause, as the app's log chains it.
    assert "Failed to provision deployment iris: The app crashed: " in failed
    assert "ChecksumMismatchError: acme/iris-classifier: content of model.joblib mismatch" in failed
    assert "Failed to execute init hook for pipeline iris_classifier" in failed
    logs = zenml("deployment", "logs", "iris")
    assert (
        f"RefusedToServeError: Refusing to serve acme/iris-classifier at {third.registry_revision}"
        in logs
    )
    assert not [token for token in TOKENS if token in logs]
    assert "ERROR" in zenml("deployment", "describe", "iris")
    invoked = zenml("deployment", "invoke", "iris", *FLOWER, check=False)
    assert third.name not in invoked
    assert second.name not in invoked

    zenml("deployment", "delete", "iris", "-y")
    assert not api.repo_exists(space_id, repo_type="space")
