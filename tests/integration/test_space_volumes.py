"""Space volumes on the local Hub: set through huggingface_hub, mounted in the sandbox.

The app reports what it sees at its mount paths; each start appends a line to the bucket, so
the lines it reports count the starts the bucket has outlived.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, Volume
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

from tests.conftest import HubTokens, space_counters
from tests.integration.sandboxed_spaces import (
    DOCKERFILE,
    README,
    SERVE_REPORT,
    require_bubblewrap,
)
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration

APP = (
    """\
import http.server, json, os
from pathlib import Path

with open("/data/starts.txt", "a") as log:
    log.write(os.environ.get("SPACE_ID", "?") + "\\n")
try:
    Path("/model/weights.txt").write_text("overwritten")
    model_writable = True
except OSError:
    model_writable = False
report = {
    "weights": Path("/model/weights.txt").read_text(),
    "model_writable": model_writable,
    "starts": len(Path("/data/starts.txt").read_text().splitlines()),
}
"""
    + SERVE_REPORT
)


@pytest.fixture
def sandboxed_hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    require_bubblewrap()
    settings = hub_settings.model_copy(
        update={"space_sandbox": "bubblewrap", "space_startup_timeout": 30.0}
    )
    with LocalHub(settings) as hub:
        yield hub


@pytest.fixture
def api(sandboxed_hub: LocalHub, hub_tokens: HubTokens) -> HfApi:
    return HfApi(endpoint=sandboxed_hub.url, token=hub_tokens.writer.token)


def _model(api: HfApi, repo_id: str, *versions: str) -> list[str]:
    """A model repo with one commit per version of `weights.txt`; their commit ids."""
    api.create_repo(repo_id)
    return [
        api.upload_file(
            path_or_fileobj=text.encode(), path_in_repo="weights.txt", repo_id=repo_id
        ).oid
        for text in versions
    ]


def _push_app(api: HfApi, repo_id: str, app: str = APP) -> None:
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=README),
            CommitOperationAdd(path_in_repo="Dockerfile", path_or_fileobj=DOCKERFILE),
            CommitOperationAdd(path_in_repo="app.py", path_or_fileobj=app.encode()),
        ],
        commit_message="app",
        repo_type="space",
    )


def _report(api: HfApi, repo_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (runtime := api.get_space_runtime(repo_id)).stage != "RUNNING":
        assert runtime.stage not in ("BUILD_ERROR", "RUNTIME_ERROR"), runtime.raw
        assert time.monotonic() < deadline, runtime.raw
        time.sleep(0.2)
    with urllib.request.urlopen(f"{api.space_info(repo_id).host}/", timeout=10) as reply:
        report: dict[str, Any] = json.load(reply)
    return report


def test_a_model_at_its_pinned_commit_and_a_bucket_that_outlives_restarts_and_rebuilds(
    api: HfApi, sandboxed_hub: LocalHub
) -> None:
    first, _ = _model(api, "acme/weights", "v1", "v2")
    api.create_bucket("acme/app-data")
    volumes = [
        Volume(type="model", source="acme/weights", mount_path="/model", revision=first),
        Volume(type="bucket", source="acme/app-data", mount_path="/data"),
    ]
    api.create_repo("acme/served", repo_type="space", space_sdk="docker", space_volumes=volumes)
    _push_app(api, "acme/served")

    report = _report(api, "acme/served")
    assert report == {"weights": "v1", "model_writable": False, "starts": 1}
    mounted = api.get_space_runtime("acme/served").volumes
    assert mounted is not None
    assert [(v.type, v.source, v.mount_path, v.revision, v.read_only) for v in mounted] == [
        ("model", "acme/weights", "/model", first, True),
        ("bucket", "acme/app-data", "/data", None, None),
    ]

    api.restart_space("acme/served")
    assert _report(api, "acme/served")["starts"] == 2
    _push_app(api, "acme/served", APP + "\n# a change that rebuilds\n")
    time.sleep(0.5)  # the commit's rebuild is queued; wait for the new app, not the old
    assert _report(api, "acme/served")["starts"] == 3
    assert space_counters(sandboxed_hub, "acme/served")["builds"] == 2
    assert api.bucket_info("acme/app-data").total_files == 1


def test_a_repo_volume_without_revision_follows_the_branch_at_each_start(api: HfApi) -> None:
    _model(api, "acme/weights", "v1")
    api.create_bucket("acme/app-data")
    api.create_repo("acme/served", repo_type="space", space_sdk="docker")
    _push_app(api, "acme/served")
    assert api.get_space_runtime("acme/served").volumes is None
    deadline = time.monotonic() + 60
    while api.get_space_runtime("acme/served").stage != "RUNTIME_ERROR":  # no /data yet
        assert time.monotonic() < deadline
        time.sleep(0.2)

    api.set_space_volumes(
        "acme/served",
        [
            Volume(type="model", source="acme/weights", mount_path="/model", read_only=False),
            Volume(type="bucket", source="acme/app-data", mount_path="/data"),
        ],
    )
    assert api.get_space_runtime("acme/served").stage != "RUNTIME_ERROR"  # it restarted
    assert _report(api, "acme/served")["weights"] == "v1"
    (model,) = [v for v in api.get_space_runtime("acme/served").volumes or [] if v.type == "model"]
    assert model.read_only is True  # repos are always mounted read-only

    api.upload_file(path_or_fileobj=b"v2", path_in_repo="weights.txt", repo_id="acme/weights")
    api.restart_space("acme/served")
    time.sleep(0.5)
    assert _report(api, "acme/served")["weights"] == "v2"

    api.delete_space_volumes("acme/served")
    assert api.get_space_runtime("acme/served").volumes is None
    with pytest.raises(BadRequestError):
        api.delete_space_volumes("acme/served")  # none left


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"type": "bucket", "source": "acme/app-data", "mount_path": "data"}, "absolute"),
        ({"type": "bucket", "source": "acme/app-data", "mount_path": "/usr/x"}, "reserved"),
        ({"type": "bucket", "source": "acme/nothing", "mount_path": "/data"}, "not found"),
        ({"type": "model", "source": "acme/nothing", "mount_path": "/m"}, "not found"),
        ({"type": "model", "source": "acme/weights", "mount_path": "/m", "revision": "nope"}, ""),
        ({"type": "bucket", "source": "carol/private", "mount_path": "/data"}, "not found"),
        ({"type": "notebook", "source": "acme/weights", "mount_path": "/m"}, "type"),
    ],
)
def test_bad_volumes_are_refused_before_any_change(
    api: HfApi,
    sandboxed_hub: LocalHub,
    hub_tokens: HubTokens,
    volume: dict[str, Any],
    message: str,
) -> None:
    _model(api, "acme/weights", "v1")
    api.create_bucket("acme/app-data")
    HfApi(endpoint=sandboxed_hub.url, token=hub_tokens.outsider.token).create_bucket(
        "carol/private", private=True
    )
    api.create_repo("acme/served", repo_type="space", space_sdk="docker")
    good = Volume(type="bucket", source="acme/app-data", mount_path="/data")
    api.set_space_volumes("acme/served", [good])
    restarts = space_counters(sandboxed_hub, "acme/served")["restarts"]

    for bad in ([Volume(**volume)], [good, Volume(**{**volume, "mount_path": "/data"})]):
        with pytest.raises(BadRequestError) as refused:
            api.set_space_volumes("acme/served", bad)
        assert message in str(refused.value) or "Two volumes" in str(refused.value)
    with pytest.raises(BadRequestError):
        api.create_repo(
            "acme/never", repo_type="space", space_sdk="docker", space_volumes=[Volume(**volume)]
        )

    assert [v.source for v in api.get_space_runtime("acme/served").volumes or []] == [
        "acme/app-data"
    ]
    assert space_counters(sandboxed_hub, "acme/served")["restarts"] == restarts
    with pytest.raises(HfHubHTTPError):
        api.space_info("acme/never")


def test_only_a_writer_of_the_bucket_mounts_it_read_write(
    api: HfApi, sandboxed_hub: LocalHub, hub_tokens: HubTokens
) -> None:
    outsider = HfApi(endpoint=sandboxed_hub.url, token=hub_tokens.outsider.token)
    api.create_bucket("acme/shared")
    outsider.create_repo("carol/space", repo_type="space", space_sdk="docker")
    with pytest.raises(BadRequestError):
        outsider.set_space_volumes(
            "carol/space", [Volume(type="bucket", source="acme/shared", mount_path="/data")]
        )
    outsider.set_space_volumes(
        "carol/space",
        [Volume(type="bucket", source="acme/shared", mount_path="/data", read_only=True)],
    )


PLANT = (
    """\
import http.server, json, os

# What a Space could leave in a bucket for the next Space that mounts it: links out of it.
os.symlink("/", "/data/to-root")
os.symlink("../..", "/data/up")  # from the bucket's folder on the host: the Hub's data dir
os.makedirs("/data/runs", exist_ok=True)
os.symlink("/etc", "/data/runs/latest")
report = {"planted": sorted(os.listdir("/data"))}
"""
    + SERVE_REPORT
)
LIST_DATA = (
    """\
import http.server, json, os

report = {"data": sorted(os.listdir("/data")), "fds": sorted(os.listdir("/proc/self/fd"))}
"""
    + SERVE_REPORT
)


def _runtime_error(api: HfApi, repo_id: str) -> str:
    deadline = time.monotonic() + 60
    while (runtime := api.get_space_runtime(repo_id)).stage != "RUNTIME_ERROR":
        assert runtime.stage not in ("RUNNING", "BUILD_ERROR"), runtime.raw
        assert time.monotonic() < deadline, runtime.raw
        time.sleep(0.2)
    message: str = runtime.raw["errorMessage"]
    return message


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
    api: HfApi, hub_settings: HubSettings, volume: dict[str, Any], at_fault: str
) -> None:
    api.create_bucket("acme/shared")
    whole = Volume(type="bucket", source="acme/shared", mount_path="/data")
    api.create_repo("acme/planter", repo_type="space", space_sdk="docker", space_volumes=[whole])
    _push_app(api, "acme/planter", PLANT)
    assert _report(api, "acme/planter")["planted"] == ["runs", "to-root", "up"]
    data_dir_before = sorted(p.name for p in hub_settings.data_dir.iterdir())

    # A Space (its owner's, or another) mounting the bucket's `path`, or a volume nested in it,
    # where a link now is: the Space fails to start and says why; nothing of the host shows.
    later = {"type": "bucket", "source": "acme/shared", "mount_path": "/data", **volume}
    volumes = [Volume(**later)] if "path" in volume else [whole, Volume(**later)]
    api.create_repo("acme/next", repo_type="space", space_sdk="docker", space_volumes=volumes)
    _push_app(api, "acme/next", LIST_DATA)
    message = _runtime_error(api, "acme/next")
    assert at_fault in message
    assert "never followed" in message
    assert str(hub_settings.data_dir) not in message
    assert sorted(p.name for p in hub_settings.data_dir.iterdir()) == data_dir_before
    assert not Path("/etc/ssl/data").exists()

    # The bucket itself still mounts; the links are there, unfollowed, for the app to remove,
    # and the app holds no descriptor of the host's folders.
    api.set_space_volumes("acme/next", [whole])
    report = _report(api, "acme/next")
    assert report["data"] == ["runs", "to-root", "up"]
    assert report["fds"] == ["0", "1", "2", "3"]  # stdio and the listing's own
