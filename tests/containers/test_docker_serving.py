"""The serving example in a real container: ZenML builds the pipeline image (scikit-learn from
the pipeline's DockerSettings, satisfied by the offline parent image), the Space runs it on the
local Hub's docker runtime, and the app pulls and verifies the pinned package from the
registry at start, with the read token from a Space secret, then answers predictions from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from tests.containers.zenml_image import pushed_zenml_parent_image
from tests.zenml_cli import ROOT, ZenML
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec
from zenml_hf_registry.registry import PackageRecord

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

HF_TOKEN = "docker-serve-sentinel-token-0123456789"
REGISTRY_WRITE = TokenSpec(
    token="docker-serve-registry-write-01", user="acme", role=TokenRole.WRITE
)
REGISTRY_READ = TokenSpec(token="docker-serve-registry-read-012", user="acme", role=TokenRole.READ)
PIPELINE = "examples.serving_pipeline.pipeline.iris_classifier"


def test_the_serving_example_answers_from_the_published_snapshot_in_a_docker_space(
    zenml: ZenML, docker_client: Any, test_registry: str, tmp_path: Path
) -> None:
    parent = pushed_zenml_parent_image(docker_client, test_registry)
    settings = HubSettings(
        data_dir=tmp_path / "hub",
        tokens=(TokenSpec(token=HF_TOKEN, user="alice", orgs=("acme",)),),
        registries=(
            RegistrySpec(org="acme", name="models", tokens=(REGISTRY_WRITE, REGISTRY_READ)),
        ),
        space_runtime="docker",
        space_startup_timeout=180,
    )
    with LocalHub(settings) as hub:
        zenml(
            "container-registry",
            "register",
            "local-registry",
            "--flavor=default",
            f"--uri={test_registry}",
        )
        zenml.setup_stack(
            HF_TOKEN,
            *("--organization", "acme", "--endpoint", hub.url),
            *("--container-registry", "local-registry"),
        )
        for name, token in (("registry_token", REGISTRY_WRITE), ("registry_read", REGISTRY_READ)):
            zenml("secret", "create", name, f"--token={token.token}")
        template = tmp_path / "docker.yaml"
        template.write_text(
            "settings:\n"
            "  docker:\n"
            f"    parent_image: {parent}\n"
            "    python_package_installer: pip\n"
            "    allow_download_from_artifact_store: false\n"
            "    allow_download_from_code_repository: false\n"
            "  deployer:\n"
            "    app_port: 7860\n"
            "    space_secrets:\n"
            "      REGISTRY_READ_TOKEN: '{{registry_read.token}}'\n"
        )
        config, record_file = tmp_path / "serve.yaml", tmp_path / "record.json"
        trained = subprocess.run(
            [
                sys.executable,
                "-m",
                "examples.serving_pipeline.train",
                *("--hub-endpoint", hub.url, "--registry", "acme/models"),
                *("--registry-endpoint", f"{hub.url}/acme/models/huggingface"),
                *("--stack", "default", "--template", str(template)),
                *("--config-out", str(config), "--record-out", str(record_file)),
            ],
            env=zenml.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert trained.returncode == 0, (trained.stdout + trained.stderr)[-4000:]
        record = PackageRecord.model_validate_json(record_file.read_text())

        output = zenml(
            *("pipeline", "deploy", PIPELINE, "--name", "iris-docker", "--config", str(config)),
            *("--timeout", "300"),
            timeout=900,
        )
        assert REGISTRY_READ.token not in output
        details = zenml("deployment", "describe", "iris-docker", "--show-metadata")
        assert "RUNNING" in details, details
        space_id = zenml.space_id(details)
        api = HfApi(endpoint=hub.url, token=HF_TOKEN)
        dockerfile = Path(
            api.hf_hub_download(space_id, "Dockerfile", repo_type="space", local_dir=tmp_path)
        ).read_text()
        assert "@sha256:" in dockerfile.splitlines()[0]  # the image ZenML built, by digest
        assert REGISTRY_READ.token not in dockerfile

        invoked = zenml(
            *("deployment", "invoke", "iris-docker", "--sepal_length=6.3"),
            *("--sepal_width=3.3", "--petal_length=6.0", "--petal_width=2.5"),
        )
        prediction = json.loads(invoked[invoked.index("{") :])["outputs"]["prediction"]
        assert prediction["species"] == "virginica"
        assert prediction["package"] == record.name
        assert prediction["package_sha256"] == record.sha256
        assert f"Loaded {record.name}" in zenml("deployment", "logs", "iris-docker")

        zenml("deployment", "delete", "iris-docker", "-y")
        assert not api.repo_exists(space_id, repo_type="space")
