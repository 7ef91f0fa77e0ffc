"""The real path: ZenML builds and pushes the pipeline image, the Space builds FROM its digest.

`zenml pipeline deploy` with a local image builder and the 127.0.0.1:5000 registry in the
stack, the local Hub's docker runtime as the Hub, and a ZenML-ready parent image made offline.
The deployer proves the pushed image is public, pins the Space to its digest, and the Space's
container serves the pipeline, which `zenml deployment invoke` calls through the Hub's gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from tests.containers.zenml_image import pushed_zenml_parent_image
from tests.zenml_cli import ZenML
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenSpec

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

HF_TOKEN = "docker-e2e-sentinel-token-0123456789"
PIPELINE = "examples.hello_pipeline.pipeline.hello_pipeline"


def test_a_pipeline_image_built_by_zenml_runs_in_a_docker_space(
    zenml: ZenML, docker_client: Any, test_registry: str, tmp_path: Path
) -> None:
    parent = pushed_zenml_parent_image(docker_client, test_registry)
    settings = HubSettings(
        data_dir=tmp_path / "hub",
        tokens=(TokenSpec(token=HF_TOKEN, user="alice", orgs=("acme",)),),
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
        config = tmp_path / "docker.yaml"
        config.write_text(
            "settings:\n"
            "  docker:\n"
            f"    parent_image: {parent}\n"
            "    python_package_installer: pip\n"
            "    allow_download_from_artifact_store: false\n"
            "    allow_download_from_code_repository: false\n"
            "  deployer:\n"
            "    app_port: 7860\n"
        )
        output = zenml(
            "pipeline",
            "deploy",
            PIPELINE,
            "--name",
            "hello-docker",
            "--config",
            str(config),
            "--timeout",
            "300",
            timeout=900,
        )
        assert HF_TOKEN not in output
        details = zenml("deployment", "describe", "hello-docker", "--show-metadata")
        assert "RUNNING" in details, details
        space_id = zenml.space_id(details)
        api = HfApi(endpoint=hub.url, token=HF_TOKEN)
        dockerfile = Path(
            api.hf_hub_download(space_id, "Dockerfile", repo_type="space", local_dir=tmp_path)
        ).read_text()
        assert f"FROM {test_registry}/" in dockerfile
        assert "@sha256:" in dockerfile.splitlines()[0]  # pinned to the pushed digest

        assert "Hello, Docker!" in zenml("deployment", "invoke", "hello-docker", "--name=Docker")
        zenml("deployment", "delete", "hello-docker", "-y")
        assert not api.repo_exists(space_id, repo_type="space")
