"""Space volumes on the local Hub's docker runtime: one bind mount per volume, no link followed.

The app (busybox sh) writes a report of what it sees at its mount paths and serves it; each
start appends a line to the bucket, so the report counts the starts the bucket has outlived.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, Volume

from tests.conftest import HubTokens, space_counters
from tests.containers.test_docker_spaces import README, space_containers, wait_for
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.docker

DOCKERFILE = 'FROM {image}\nCOPY app.sh /app.sh\nCMD ["/bin/sh", "/app.sh"]\n'

REPORT = """\
mkdir -p /tmp/www
echo "$SPACE_ID" >> /data/starts.txt
if echo overwritten > /model/weights.txt 2>/dev/null; then w=writable; else w=read-only; fi
{
  echo "weights=$(cat /model/weights.txt)"
  echo "model=$w"
  echo "starts=$(wc -l < /data/starts.txt)"
  echo "uid=$(id -u)"
} > /tmp/www/index.html
exec httpd -f -p "$PORT" -h /tmp/www
"""
PLANT = """\
mkdir -p /tmp/www /data/runs
ln -s / /data/to-root
ln -s ../.. /data/up
ln -s /etc /data/runs/latest
ls /data > /tmp/www/index.html
exec httpd -f -p "$PORT" -h /tmp/www
"""


@pytest.fixture
def docker_hub(
    hub_settings: HubSettings, docker_client: Any, test_registry: str
) -> Iterator[LocalHub]:
    settings = hub_settings.model_copy(
        update={"space_runtime": "docker", "space_startup_timeout": 60.0}
    )
    with LocalHub(settings) as hub:
        yield hub


@pytest.fixture
def api(docker_hub: LocalHub, hub_tokens: HubTokens) -> HfApi:
    return HfApi(endpoint=docker_hub.url, token=hub_tokens.writer.token)


def _push_app(api: HfApi, repo_id: str, image: str, script: str) -> None:
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=README),
            CommitOperationAdd(
                path_in_repo="Dockerfile",
                path_or_fileobj=DOCKERFILE.format(image=image).encode(),
            ),
            CommitOperationAdd(path_in_repo="app.sh", path_or_fileobj=script.encode()),
        ],
        commit_message="app",
        repo_type="space",
    )


def _report(api: HfApi, repo_id: str, **expected: str) -> dict[str, str]:
    """The app's report once it is running and says what `expected` says."""
    deadline = time.monotonic() + 90
    while True:
        wait_for(api, repo_id, "RUNNING")
        try:
            with urllib.request.urlopen(api.space_info(repo_id).host or "", timeout=10) as reply:
                lines = reply.read().decode().split()
        except OSError:
            lines = []  # replaced meanwhile (a restart or a rebuild)
        report = dict(line.partition("=")[::2] for line in lines)
        if lines and all(report.get(k) == v for k, v in expected.items()):
            return report
        assert time.monotonic() < deadline, (report, expected)
        time.sleep(0.3)


def test_a_model_read_only_at_its_pinned_commit_and_a_bucket_outliving_restarts_and_rebuilds(
    api: HfApi, docker_hub: LocalHub, pushed_image: str, docker_client: Any
) -> None:
    api.create_repo("acme/weights")
    first, _ = (
        api.upload_file(path_or_fileobj=v, path_in_repo="weights.txt", repo_id="acme/weights").oid
        for v in (b"v1", b"v2")
    )
    api.create_bucket("acme/app-data")
    volumes = [
        Volume(type="model", source="acme/weights", mount_path="/model", revision=first),
        Volume(type="bucket", source="acme/app-data", mount_path="/data"),
    ]
    api.create_repo("acme/served", repo_type="space", space_sdk="docker", space_volumes=volumes)
    _push_app(api, "acme/served", pushed_image, REPORT)

    report = _report(api, "acme/served", starts="1")
    assert report == {"weights": "v1", "model": "read-only", "starts": "1", "uid": "1000"}
    (container,) = space_containers(docker_client, docker_hub, "acme/served")
    binds = sorted((m["Destination"], m["Type"], m["RW"]) for m in container.attrs["Mounts"])
    assert binds == [("/data", "bind", True), ("/model", "bind", False)]

    api.restart_space("acme/served")
    assert _report(api, "acme/served", starts="2")["weights"] == "v1"
    _push_app(api, "acme/served", pushed_image, REPORT + "# a change that rebuilds\n")
    assert _report(api, "acme/served", starts="3")["model"] == "read-only"
    counters = space_counters(docker_hub, "acme/served")
    assert (counters["builds"], counters["restarts"]) == (2, 1)
    assert api.bucket_info("acme/app-data").total_files == 1


def test_one_bind_mount_per_volume_even_from_the_same_folder(
    api: HfApi, docker_hub: LocalHub, pushed_image: str, docker_client: Any
) -> None:
    api.create_repo("acme/weights")
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="weights.txt", repo_id="acme/weights")
    api.create_bucket("acme/app-data")
    volumes = [
        Volume(type="model", source="acme/weights", mount_path="/model"),
        Volume(type="model", source="acme/weights", mount_path="/model-again"),
        Volume(type="bucket", source="acme/app-data", mount_path="/data"),
        Volume(type="bucket", source="acme/app-data", mount_path="/data-ro", read_only=True),
    ]
    api.create_repo("acme/twice", repo_type="space", space_sdk="docker", space_volumes=volumes)
    _push_app(api, "acme/twice", pushed_image, REPORT)
    assert _report(api, "acme/twice")["weights"] == "v1"
    (container,) = space_containers(docker_client, docker_hub, "acme/twice")
    binds = sorted((m["Destination"], m["RW"]) for m in container.attrs["Mounts"])
    assert binds == [
        ("/data", True),
        ("/data-ro", False),
        ("/model", False),
        ("/model-again", False),
    ]


@pytest.mark.parametrize(
    ("volume", "at_fault"),
    [
        ({"path": "to-root"}, "bucket acme/shared (path 'to-root') at /data: 'to-root'"),
        ({"path": "up"}, "bucket acme/shared (path 'up') at /data: 'up'"),
        ({"path": "runs/latest/ssl"}, "at /data: 'runs/latest'"),
        ({"mount_path": "/data/to-root", "read_only": True}, "inside the bucket acme/shared"),
    ],
)
def test_a_link_a_space_planted_in_its_bucket_is_never_followed_by_a_later_mount(
    api: HfApi,
    docker_hub: LocalHub,
    hub_settings: HubSettings,
    pushed_image: str,
    docker_client: Any,
    volume: dict[str, Any],
    at_fault: str,
) -> None:
    api.create_bucket("acme/shared")
    whole = Volume(type="bucket", source="acme/shared", mount_path="/data")
    api.create_repo("acme/planter", repo_type="space", space_sdk="docker", space_volumes=[whole])
    _push_app(api, "acme/planter", pushed_image, PLANT)
    assert _report(api, "acme/planter", runs="", **{"to-root": "", "up": ""})
    data_dir_before = sorted(p.name for p in hub_settings.data_dir.iterdir())
    # Where the links lead: a runtime following them would bind these, or make them writable
    # for UID 1000 (as the docker runtime once did, chmod-ing the host's `/` to 0777).
    watched = [Path("/"), Path("/etc"), Path("/etc/ssl"), hub_settings.data_dir]
    modes = {path: path.stat().st_mode for path in watched}

    later = {"type": "bucket", "source": "acme/shared", "mount_path": "/data", **volume}
    volumes = [Volume(**later)] if "path" in volume else [whole, Volume(**later)]
    api.create_repo("acme/next", repo_type="space", space_sdk="docker", space_volumes=volumes)
    _push_app(api, "acme/next", pushed_image, PLANT)
    runtime = wait_for(api, "acme/next", "RUNTIME_ERROR", "RUNNING")
    assert runtime.stage == "RUNTIME_ERROR"
    message = runtime.raw["errorMessage"]
    assert at_fault in message
    assert "never followed" in message
    assert str(hub_settings.data_dir) not in message
    assert space_containers(docker_client, docker_hub, "acme/next") == []  # none was started
    assert sorted(p.name for p in hub_settings.data_dir.iterdir()) == data_dir_before
    assert {path: path.stat().st_mode for path in watched} == modes
