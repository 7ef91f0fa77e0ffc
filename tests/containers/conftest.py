"""Fixtures of the Docker tests: registries on loopback, with and without credentials."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.containers.images import import_busybox_image
from tests.zenml_cli import ZenML, free_port


@pytest.fixture
def authenticated_registry(tmp_path: Path, docker_client: Any) -> Iterator[str]:
    """A docker-registry that demands credentials for every pull (htpasswd, bcrypt)."""
    import bcrypt

    port = free_port()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"ci:{bcrypt.hashpw(b'secret', bcrypt.gensalt()).decode()}\n")
    config = tmp_path / "registry.yml"
    config.write_text(
        json.dumps(
            {
                "version": 0.1,
                "storage": {"filesystem": {"rootdirectory": str(tmp_path / "data")}},
                "http": {"addr": f"127.0.0.1:{port}"},
                "auth": {"htpasswd": {"realm": "basic-realm", "path": str(htpasswd)}},
            }
        )
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
            except urllib.error.HTTPError as error:
                if error.code == 401:
                    break
            except OSError:
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def pushed_image(docker_client: Any, test_registry: str) -> str:
    """A tiny image pushed to the test registry and removed locally: only a pull brings it back."""
    repository = f"{test_registry}/zhr-tests/space-base-{uuid.uuid4().hex[:8]}"
    reference = import_busybox_image(docker_client, repository)
    for line in docker_client.api.push(repository, tag="latest", stream=True, decode=True):
        assert "error" not in line, line
    docker_client.images.remove(reference, force=True)
    return reference


@pytest.fixture
def zenml(tmp_path: Path) -> Iterator[ZenML]:
    """The ZenML CLI logged in to its own local ZenML server."""
    cli = ZenML(tmp_path / "zenml-cli")
    cli("login", "--local", "--port", str(free_port()), timeout=180)
    try:
        yield cli
    finally:
        cli("logout", "--local", check=False, timeout=120)
