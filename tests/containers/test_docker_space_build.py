"""Space-build mode for real: no container registry in the stack, the Space builds the image.

`zenml pipeline deploy` from a user's project directory with `build_in_space`: nothing is built
or pushed here. The Space repo gets ZenML's build context, the local Hub's docker runtime
builds it FROM the public parent image (pinned to its digest) and serves the pipeline, which
`zenml deployment invoke` calls. The parent image holds no pipeline code: the pipeline the
Space serves comes from the committed context.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from tests.containers.zenml_image import pushed_zenml_parent_image
from tests.zenml_cli import ROOT, ZenML
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenSpec

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

PIPELINE = "examples.hello_pipeline.pipeline.hello_pipeline"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: the example pipeline and a .dockerignore keeping data out."""
    root = tmp_path / "project"
    shutil.copytree(
        ROOT / "examples",
        root / "examples",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    (root / "data").mkdir()
    (root / "data" / "raw.bin").write_bytes(b"\0" * 1024)
    (root / ".dockerignore").write_text("data/\n")
    return root


def test_a_space_builds_the_pipeline_image_itself_with_no_registry_in_the_stack(
    zenml: ZenML, docker_client: Any, test_registry: str, project: Path, tmp_path: Path
) -> None:
    # Only the Space pulls the parent, anonymously, from the registry; the stack has none.
    parent = pushed_zenml_parent_image(docker_client, test_registry)
    repository = parent.rsplit(":", 1)[0]

    token = f"hf_build_e2e_{secrets.token_hex(12)}"  # in no file of the context
    settings = HubSettings(
        data_dir=tmp_path / "hub",
        tokens=(TokenSpec(token=token, user="alice", orgs=("acme",)),),
        space_runtime="docker",
        space_startup_timeout=180,
    )
    with LocalHub(settings) as hub:
        zenml.setup_stack(token, "--organization", "acme", "--endpoint", hub.url, cwd=project)
        assert "container_registry" not in zenml("stack", "describe", cwd=project).lower()
        config = tmp_path / "space-build.yaml"
        config.write_text(
            "settings:\n"
            "  docker:\n"
            f"    parent_image: {parent}\n"
            "    python_package_installer: pip\n"
            "    allow_download_from_artifact_store: false\n"
            "    allow_download_from_code_repository: false\n"
            "  deployer:\n"
            "    app_port: 7860\n"
            "    build_in_space: true\n"
        )
        output = zenml(
            "pipeline",
            "deploy",
            PIPELINE,
            "--name",
            "hello-built",
            "--config",
            str(config),
            "--timeout",
            "300",
            timeout=900,
            cwd=project,
        )
        assert token not in output
        assert "Building Docker image" not in output  # nothing was built here
        assert "where anyone can read it" in output  # a public Space shows its code
        details = zenml("deployment", "describe", "hello-built", "--show-metadata")
        assert "RUNNING" in details, details
        space_id = zenml.space_id(details)
        api = HfApi(endpoint=hub.url, token=token)
        files = set(api.list_repo_files(space_id, repo_type="space"))
        assert "examples/hello_pipeline/pipeline.py" in files
        assert "data/raw.bin" not in files
        dockerfile = Path(
            api.hf_hub_download(space_id, "Dockerfile", repo_type="space", local_dir=tmp_path)
        ).read_text()
        assert dockerfile.startswith(f"FROM {repository}@sha256:")  # the parent, pinned

        # The served pipeline is the committed code.
        answer = zenml("deployment", "invoke", "hello-built", "--name=Space", cwd=project)
        assert "Hello, Space!" in answer
        zenml("deployment", "delete", "hello-built", "-y", cwd=project)
        assert not api.repo_exists(space_id, repo_type="space")
