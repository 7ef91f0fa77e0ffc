"""Docker Spaces on the local Hub's docker runtime: a real engine and registry, no Docker Hub."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, SpaceRuntime

from tests.conftest import HubTokens
from zenml_hf_registry.hub import HubSettings, LocalHub
from zenml_hf_registry.hub.spaces.manager import engine_mark

pytestmark = pytest.mark.docker

README = b"---\nsdk: docker\napp_port: 7860\n---\n"
SERVE = (
    'CMD ["/bin/sh", "-c", "mkdir -p /tmp/www && echo \\"hello $GREETING\\" > /tmp/www/index.html'
    ' && exec httpd -f -p $PORT -h /tmp/www"]\n'
)


@pytest.fixture
def docker_hub(
    hub_settings: HubSettings, docker_client: Any, test_registry: str
) -> Iterator[LocalHub]:
    settings = hub_settings.model_copy(
        update={"space_runtime": "docker", "space_startup_timeout": 60.0}
    )
    with LocalHub(settings) as hub:
        yield hub


def wait_for(api: HfApi, repo_id: str, *stages: str, timeout: float = 90) -> SpaceRuntime:
    deadline = time.monotonic() + timeout
    runtime = api.get_space_runtime(repo_id)
    while runtime.stage not in stages and time.monotonic() < deadline:
        time.sleep(0.3)
        runtime = api.get_space_runtime(repo_id)
    if runtime.stage not in stages:
        build = "".join(api.fetch_space_logs(repo_id, build=True))
        pytest.fail(
            f"stage {runtime.stage} ({runtime.raw.get('errorMessage')}); build log:\n{build}"
        )
    return runtime


def space_containers(docker_client: Any, hub: LocalHub, repo_id: str) -> list[Any]:
    """The containers of this Hub's Space (other Hubs' Spaces may run on the same engine)."""
    prefix = engine_mark(hub.settings.data_dir) + "-"
    suffix = "-" + repo_id.replace("/", "--").lower()
    return [
        container
        for container in docker_client.containers.list(
            all=True, filters={"label": "zenml-hf-registry.space"}
        )
        if container.labels["zenml-hf-registry.space"].startswith(prefix)
        and container.labels["zenml-hf-registry.space"].endswith(suffix)
    ]


def test_a_space_builds_from_a_registry_image_and_serves(
    docker_hub: LocalHub, hub_tokens: HubTokens, pushed_image: str, docker_client: Any
) -> None:
    api = HfApi(endpoint=docker_hub.url, token=hub_tokens.writer.token)
    api.create_repo(
        "acme/docker-app",
        repo_type="space",
        space_sdk="docker",
        space_secrets=[{"key": "GREETING", "value": "from a secret"}],
    )
    api.create_commit(
        "acme/docker-app",
        [
            CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=README),
            CommitOperationAdd(
                path_in_repo="Dockerfile", path_or_fileobj=f"FROM {pushed_image}\n{SERVE}".encode()
            ),
        ],
        commit_message="app",
        repo_type="space",
    )
    wait_for(api, "acme/docker-app", "RUNNING")
    host = api.space_info("acme/docker-app").host
    with urllib.request.urlopen(host or "", timeout=10) as response:
        assert response.read().decode().strip() == "hello from a secret"
    assert f"pulling {pushed_image} anonymously" in "".join(
        api.fetch_space_logs("acme/docker-app", build=True)
    )
    (container,) = space_containers(docker_client, docker_hub, "acme/docker-app")
    assert container.attrs["Config"]["User"] == "1000"

    api.delete_repo("acme/docker-app", repo_type="space")
    assert space_containers(docker_client, docker_hub, "acme/docker-app") == []


def test_an_image_that_needs_credentials_is_a_build_error(
    docker_hub: LocalHub, hub_tokens: HubTokens, authenticated_registry: str
) -> None:
    image = f"{authenticated_registry}/private/base:latest"
    api = HfApi(endpoint=docker_hub.url, token=hub_tokens.writer.token)
    api.create_repo("acme/private-base", repo_type="space", space_sdk="docker")
    api.upload_file(
        path_or_fileobj=f"FROM {image}\n{SERVE}".encode(),
        path_in_repo="Dockerfile",
        repo_id="acme/private-base",
        repo_type="space",
    )
    runtime = wait_for(api, "acme/private-base", "BUILD_ERROR", "RUNNING")
    assert runtime.stage == "BUILD_ERROR"
    assert f"cannot pull {image} anonymously" in runtime.raw["errorMessage"]
    assert "public images" in runtime.raw["errorMessage"]


def test_a_failing_build_step_is_a_build_error_with_its_log(
    docker_hub: LocalHub, hub_tokens: HubTokens, pushed_image: str
) -> None:
    api = HfApi(endpoint=docker_hub.url, token=hub_tokens.writer.token)
    api.create_repo("acme/broken-build", repo_type="space", space_sdk="docker")
    api.upload_file(
        path_or_fileobj=f'FROM {pushed_image}\nRUN echo "compiling" && exit 3\n{SERVE}'.encode(),
        path_in_repo="Dockerfile",
        repo_id="acme/broken-build",
        repo_type="space",
    )
    runtime = wait_for(api, "acme/broken-build", "BUILD_ERROR", "RUNNING")
    assert runtime.stage == "BUILD_ERROR"
    assert "docker build failed" in runtime.raw["errorMessage"]
    build_log = "".join(api.fetch_space_logs("acme/broken-build", build=True))
    assert "compiling" in build_log
    assert "returned a non-zero code: 3" in build_log
