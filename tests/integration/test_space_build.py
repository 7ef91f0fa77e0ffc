"""Space-build mode against the local Hub: ZenML's build context becomes the Space's files.

The process runtime does not build images, so these tests look at what the Space repo holds
and what each redeploy changes; tests/containers/test_docker_space_build.py builds and serves
the same context in a real Docker Space. One test lets the app start (no sandbox, so it can
open this test's ZenML store) to check that a file of the context committed through Xet is
what the running Space reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, hf_hub_url
from zenml.deployers.exceptions import DeployerError
from zenml.deployers.utils import invoke_deployment

from tests.conftest import HubTokens, hub_faults, space_counters
from tests.integration.test_deployer_bad_input import hub_writes
from tests.integration.zenml_stacks import register_hf_stack
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration

BUILD_IN_SPACE: dict[str, dict[str, Any]] = {
    "docker": {
        "parent_image": "local/zenml-hf-registry:dev",
        "python_package_installer": "pip",
        "allow_download_from_artifact_store": False,
        "allow_download_from_code_repository": False,
    },
    "deployer": {"app_port": 7860, "verify_image": False, "build_in_space": True},
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A source root as a user has it: code, data to ignore, git metadata, its own README."""
    from zenml.utils import source_utils

    root = tmp_path / "project"
    (root / "helpers").mkdir(parents=True)
    (root / "helpers" / "text.py").write_text("def shout(s: str) -> str:\n    return s.upper()\n")
    (root / "notes.md").write_text("# notes\n")
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_bytes(b"x,y\n" * 100_000)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "README.md").write_text("# my project\n")
    (root / ".dockerignore").write_text("data/\n")
    source_utils.set_custom_source_root(str(root))  # clean_zenml resets it
    return root


def deploy(settings: dict[str, dict[str, Any]], name: str = "built") -> None:
    from examples.hello_pipeline.pipeline import hello_pipeline

    # The app needs ZenML's image to start; what the Space holds is what these tests check.
    with contextlib.suppress(DeployerError):
        hello_pipeline.with_options(settings=settings).deploy(deployment_name=name, timeout=3)


def next_build(hub: LocalHub, space_id: str, builds: int) -> dict[str, Any]:
    """The Space's counters once a build after the first `builds` has started (builds are
    counted when they start, which may be after the previous app's start has played out)."""
    deadline = time.monotonic() + 60
    while (counters := space_counters(hub, space_id))["builds"] == builds:
        assert time.monotonic() < deadline, counters
        time.sleep(0.1)
    return counters


def space_files(api: HfApi, space_id: str) -> dict[str, bytes]:
    files = {}
    for path in api.list_repo_files(space_id, repo_type="space"):
        local = api.hf_hub_download(space_id, path, repo_type="space")
        files[path] = Path(local).read_bytes()
    return files


def test_the_build_context_becomes_the_space_and_redeploys_send_only_what_changed(
    clean_zenml: Any,
    hub: LocalHub,
    hub_tokens: HubTokens,
    project: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = hub_tokens.writer.token
    register_hf_stack(clean_zenml, {"token": token, "endpoint": hub.url, "organization": "acme"})
    api = HfApi(endpoint=hub.url, token=token)

    with caplog.at_level(logging.WARNING):
        deploy(BUILD_IN_SPACE)
    metadata = clean_zenml.get_deployment("built").deployment_metadata
    space_id = metadata["space_id"]
    assert metadata["built_in_space"] is True
    files = space_files(api, space_id)

    # The code and ZenML's requirements files are there; ignored data, .git and the
    # .dockerignore itself are not; the Space's README is the deployer's.
    assert files["helpers/text.py"] == (project / "helpers" / "text.py").read_bytes()
    assert "notes.md" in files
    assert not [p for p in files if p.startswith(("data/", ".git/")) or p == ".dockerignore"]
    assert files["README.md"].startswith(b"---\n")
    assert b"sdk: docker" in files["README.md"]
    requirements = [p for p in files if p.startswith(".zenml_") and "requirements" in p]
    assert requirements, sorted(files)
    assert any(b"zenml-hf-registry==" in files[p] for p in requirements)
    dockerfile = files["Dockerfile"].decode().splitlines()
    assert dockerfile[0] == "FROM local/zenml-hf-registry:dev"
    assert "COPY . ." in dockerfile
    assert dockerfile.index("COPY . .") < dockerfile.index("USER 1000")
    # The launcher reads what changes per deploy from a Space secret: nothing per deploy here.
    assert dockerfile[-1] == 'ENTRYPOINT ["python", "-m", "zenml_hf_registry.deployer.launch"]'
    assert not [line for line in dockerfile if "deployment_id" in line or line.startswith("CMD")]
    assert not any(p.startswith("RUN pip install uv") for p in dockerfile)
    assert f"public Space {space_id}" in caplog.text  # the code is as public as the Space
    assert token not in caplog.text

    # A code-only change commits that file alone: one rebuild, no restart.
    builds = space_counters(hub, space_id)["builds"]
    api.upload_file(  # a file the user added to the Space by hand (a commit: a rebuild)
        path_or_fileobj=b"mine", path_in_repo="extra.txt", repo_id=space_id, repo_type="space"
    )
    before = next_build(hub, space_id, builds)
    (project / "helpers" / "text.py").write_text("def shout(s: str) -> str:\n    return s\n")
    (project / "notes.md").unlink()
    deploy(BUILD_IN_SPACE)
    after = next_build(hub, space_id, before["builds"])
    assert (after["builds"] - before["builds"], after["restarts"] - before["restarts"]) == (1, 0)
    commits = api.list_repo_commits(space_id, repo_type="space")
    changed = space_files(api, space_id)
    assert changed["helpers/text.py"].endswith(b"return s\n")
    assert "notes.md" not in changed  # a file the deployer wrote and the context lost
    assert changed["extra.txt"] == b"mine"  # a file the deployer never wrote stays

    # Unchanged code: a new, equivalent snapshot commits nothing (nothing per deploy is in the
    # Dockerfile), and re-provisioning the same snapshot sends no change either.
    writes = hub_writes(hub)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        deploy(BUILD_IN_SPACE)
    assert not [m for m in caplog.messages if m.startswith(f"Space {space_id}: commit")]
    assert hub_writes(hub) == writes
    with contextlib.suppress(DeployerError):
        clean_zenml.provision_deployment("built", timeout=3)
    assert hub_writes(hub) == writes
    assert len(api.list_repo_commits(space_id, repo_type="space")) == len(commits)

    # Back to a pipeline image (skip_build): the code leaves the Space.
    image_mode = {
        "docker": {**BUILD_IN_SPACE["docker"], "skip_build": True},
        "deployer": {**BUILD_IN_SPACE["deployer"], "build_in_space": False},
    }
    deploy(image_mode)
    assert set(space_files(api, space_id)) == {
        ".gitattributes",
        "README.md",
        "Dockerfile",
        "extra.txt",
    }
    clean_zenml.delete_deployment("built")
    assert not api.repo_exists(space_id, repo_type="space")


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        (
            "too-large",
            ["over the 1 MB that build_in_space commits", "data/ 1.5 MB", ".dockerignore"],
        ),
        ("token-in-file", ["'.env' holds the deployer's Hugging Face token", ".dockerignore"]),
        ("skip-build", ["skip_build asks for no build"]),
        ("dockerfile", ["cannot also build DockerSettings.dockerfile"]),
        ("unreachable-parent", ["builds FROM the parent image 127.0.0.1:9/zenml:1", "public"]),
    ],
)
def test_a_context_the_space_cannot_take_is_refused_before_anything_is_created(
    clean_zenml: Any,
    hub: LocalHub,
    hub_tokens: HubTokens,
    project: Path,
    case: str,
    expect: list[str],
) -> None:
    from examples.hello_pipeline.pipeline import hello_pipeline

    token = hub_tokens.writer.token
    register_hf_stack(clean_zenml, {"token": token, "endpoint": hub.url, "organization": "acme"})
    settings = {k: dict(v) for k, v in BUILD_IN_SPACE.items()}
    if case == "too-large":
        (project / ".dockerignore").unlink()
        (project / "data" / "more.bin").write_bytes(b"\0" * 1_200_000)
        settings["deployer"]["build_context_limit_mb"] = 1
    elif case == "token-in-file":
        (project / ".env").write_text(f"HF_TOKEN={token}\n")
    elif case == "skip-build":
        settings["docker"]["skip_build"] = True
    elif case == "unreachable-parent":
        settings["docker"]["parent_image"] = "127.0.0.1:9/zenml:1"
        settings["deployer"]["verify_image"] = True
    else:
        (project / "Dockerfile.base").write_text("FROM python:3.11\n")
        settings["docker"]["dockerfile"] = str(project / "Dockerfile.base")

    with pytest.raises(DeployerError) as refused:
        hello_pipeline.with_options(settings=settings).deploy(deployment_name="bad", timeout=3)
    message = str(refused.value)
    for fragment in expect:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert token not in message
    assert hub_writes(hub) == {}
    assert list(HfApi(endpoint=hub.url, token=token).list_spaces()) == []


def test_a_file_dropped_while_the_hub_fails_is_still_deleted_on_the_next_deploy(
    clean_zenml: Any, hub: LocalHub, hub_tokens: HubTokens, project: Path
) -> None:
    token = hub_tokens.writer.token
    register_hf_stack(clean_zenml, {"token": token, "endpoint": hub.url, "organization": "acme"})
    api = HfApi(endpoint=hub.url, token=token)
    deploy(BUILD_IN_SPACE)
    space_id = clean_zenml.get_deployment("built").deployment_metadata["space_id"]
    assert "notes.md" in api.list_repo_files(space_id, repo_type="space")

    (project / "notes.md").unlink()
    hub_faults(hub, "POST", method="POST", path=r"/commit/", status=503, times=100)
    deploy(BUILD_IN_SPACE)  # fails: the commit never lands
    assert "notes.md" in api.list_repo_files(space_id, repo_type="space")
    assert "notes.md" in clean_zenml.get_deployment("built").deployment_metadata["managed_files"]

    hub_faults(hub, "DELETE")
    deploy(BUILD_IN_SPACE)
    assert "notes.md" not in api.list_repo_files(space_id, repo_type="space")
    assert (
        "notes.md" not in clean_zenml.get_deployment("built").deployment_metadata["managed_files"]
    )


BLOB_APP = '''"""A pipeline that answers with what it reads of a file committed with its code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from zenml import pipeline, step

WEIGHTS = Path(__file__).resolve().parent / "weights" / "model.bin"


@step
def read_weights(start: int, length: int) -> str:
    data = WEIGHTS.read_bytes()
    return json.dumps(
        {
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "slice": data[start : start + length].hex(),
            "read_from": str(WEIGHTS),
        }
    )


@pipeline
def blob_app(start: int = 0, length: int = 16) -> str:
    return read_weights(start, length)
'''


@pytest.fixture
def unsandboxed_hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    """A process-runtime Hub whose Spaces may open this test's ZenML store (a SQLite file):
    the app then really starts, which it cannot reach from the sandbox."""
    settings = hub_settings.model_copy(update={"space_sandbox": "none"})
    with LocalHub(settings) as running:
        yield running


def test_a_space_built_from_a_context_with_an_lfs_sized_file_serves_its_exact_bytes(
    clean_zenml: Any, unsandboxed_hub: LocalHub, hub_tokens: HubTokens, project: Path
) -> None:
    hub = unsandboxed_hub
    weights = os.urandom(12 * 1024 * 1024)  # LFS-sized: the default client sends it via Xet
    (project / "weights").mkdir()
    (project / "weights" / "model.bin").write_bytes(weights)
    (project / "blob_app.py").write_text(BLOB_APP)
    token = hub_tokens.writer.token
    register_hf_stack(clean_zenml, {"token": token, "endpoint": hub.url, "organization": "acme"})
    api = HfApi(endpoint=hub.url, token=token)

    sys.path.insert(0, str(project))
    try:
        blob_app = importlib.import_module("blob_app").blob_app
        blob_app.with_options(settings=BUILD_IN_SPACE).deploy(deployment_name="blob", timeout=120)
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("blob_app", None)
    space_id = clean_zenml.get_deployment("blob").deployment_metadata["space_id"]

    # The file went through Xet (the Hub knows it as a Xet file) and reads back byte-exact.
    url = hf_hub_url(space_id, "weights/model.bin", repo_type="space", endpoint=hub.url)
    metadata = api.get_hf_file_metadata(url=url)
    assert metadata.xet_file_data is not None
    assert metadata.size == len(weights)

    # The running Space's app reads the committed file: the whole of it, and a slice inside.
    start = 7 * 1024 * 1024 + 123
    answer = invoke_deployment("blob", start=start, length=64)
    served = json.loads(answer["outputs"]["output"])
    # Read from the Space's own copy of its files, not from the project it was deployed from.
    assert not Path(served.pop("read_from")).is_relative_to(project)
    assert served == {
        "size": len(weights),
        "sha256": hashlib.sha256(weights).hexdigest(),
        "slice": weights[start : start + 64].hex(),
    }
    clean_zenml.delete_deployment("blob")
