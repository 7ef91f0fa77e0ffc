"""A deployed pipeline reads a model volume at its pinned commit and keeps files in its
space_storage bucket across a restart and a rebuild (real ZenML CLI and server, local Hub,
sandboxed process runtime)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from tests.conftest import space_counters
from tests.integration.sandboxed_spaces import require_bubblewrap
from tests.zenml_cli import ZenML, free_port
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenSpec

# Its own ZenML server and local Hub, on the worker of the other end-to-end tests.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("zenml-e2e")]

ROOT = Path(__file__).resolve().parents[2]
HF_TOKEN = "e2e-volumes-sentinel-hf-token-0123456789"
PIPELINE = "tests.e2e.volume_pipeline.volume_pipeline"


@pytest.fixture(scope="module")
def zenml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZenML]:
    require_bubblewrap()  # the process runtime mounts volumes in its sandbox only
    cli = ZenML(tmp_path_factory.mktemp("zenml-e2e-volumes"))
    cli("login", "--local", "--port", str(free_port()), timeout=180)
    try:
        yield cli
    finally:
        cli("logout", "--local", check=False, timeout=120)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    settings = HubSettings(
        data_dir=tmp_path_factory.mktemp("hub-e2e-volumes"),
        tokens=(TokenSpec(token=HF_TOKEN, user="alice", orgs=("acme",)),),
        space_workdir=ROOT,
        space_sandbox="bubblewrap",
        space_startup_timeout=120,
    )
    with LocalHub(settings) as running:
        yield running


def config(tmp_path: Path, parent_image: str) -> str:
    text = (ROOT / "examples" / "hello_pipeline" / "local_hub.yaml").read_text()
    text = text.replace("local/zenml-hf-registry:dev", parent_image)
    text += (
        "    space_storage: true\n"
        "    space_volumes:\n"
        "      - {type: model, source: acme/weights, mount_path: /model}\n"
    )
    path = tmp_path / f"volumes-{parent_image.rsplit(':', 1)[1]}.yaml"
    path.write_text(text)
    return str(path)


def invoke(zenml: ZenML, note: str) -> str:
    return zenml("deployment", "invoke", "vols", f"--note={note}")


def wait_running(api: HfApi, space_id: str) -> None:
    deadline = time.monotonic() + 180
    while (stage := api.get_space_runtime(space_id).stage) != "RUNNING":
        assert stage not in ("BUILD_ERROR", "RUNTIME_ERROR"), stage
        assert time.monotonic() < deadline, stage
        time.sleep(0.5)


@pytest.mark.timeout(900)
def test_a_served_pipeline_reads_its_pinned_model_and_keeps_its_data(
    zenml: ZenML, hub: LocalHub, tmp_path: Path
) -> None:
    api = HfApi(endpoint=hub.url, token=HF_TOKEN)
    api.create_repo("acme/weights")
    v1 = api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="acme/weights").oid
    zenml.setup_stack(HF_TOKEN, "--organization", "acme", "--endpoint", hub.url)

    def deploy(parent_image: str, *flags: str) -> str:
        return zenml(
            *("pipeline", "deploy", PIPELINE, "--name", "vols"),
            *("--config", config(tmp_path, parent_image), "--timeout", "180", *flags),
            timeout=300,
        )

    output = deploy("local/zenml-hf-registry:dev")
    assert f"the default branch is commit {v1}" in output
    assert HF_TOKEN not in output
    space_id = ZenML.space_id(zenml("deployment", "describe", "vols", "--show-metadata"))
    assert "weights=v1 notes=a model_writable=False" in invoke(zenml, "a")

    # The model moves on; a restart keeps the pinned commit, and the bucket keeps the notes.
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="w.txt", repo_id="acme/weights")
    restarts = space_counters(hub, space_id)["restarts"]
    api.restart_space(space_id)
    wait_running(api, space_id)
    assert space_counters(hub, space_id)["restarts"] == restarts + 1
    assert "weights=v1 notes=a,b model_writable=False" in invoke(zenml, "b")

    # A new image rebuilds the Space; the redeploy pins the model's new head, and the notes
    # are still there.
    builds = space_counters(hub, space_id)["builds"]
    output = deploy("local/zenml-hf-registry:rebuilt", "--update")
    assert "is commit" in output
    wait_running(api, space_id)
    assert space_counters(hub, space_id)["builds"] == builds + 1
    assert "weights=v2 notes=a,b,c model_writable=False" in invoke(zenml, "c")

    bucket = f"{space_id}-data"
    zenml("deployment", "delete", "vols", "-y")
    assert not api.repo_exists(space_id, repo_type="space")
    assert api.bucket_info(bucket).total_files == 1  # the notes outlive the Space
