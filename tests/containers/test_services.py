"""The real Docker engine and registry that the Docker-backed tests stand on."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.containers.images import import_busybox_image

pytestmark = pytest.mark.docker


def test_image_round_trips_through_the_registry_by_digest(
    docker_client: Any, test_registry: str
) -> None:
    repository = f"{test_registry}/zhr-tests/busybox-{uuid.uuid4().hex[:8]}"
    reference = import_busybox_image(docker_client, repository)

    for line in docker_client.api.push(repository, tag="latest", stream=True, decode=True):
        assert "error" not in line, line
    digest = docker_client.images.get_registry_data(reference).id
    assert digest.startswith("sha256:")

    docker_client.images.remove(reference, force=True)
    pulled = docker_client.images.pull(f"{repository}@{digest}")
    output = docker_client.containers.run(
        pulled.id, ["echo", "hello from the registry"], network_mode="none", remove=True
    )
    assert output.decode().strip() == "hello from the registry"
