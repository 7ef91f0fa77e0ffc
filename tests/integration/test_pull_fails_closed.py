"""`pull` fails closed against a hostile or damaged registry: nothing is written outside its
target, nothing unverifiable is accepted silently, nothing tampered with stays on disk."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_publish import REGISTRY_READ, Setup, setup  # noqa: F401
from zenml_hf_registry.errors import (
    ChecksumMismatchError,
    UntrustedAnswerError,
    UnverifiableSnapshotError,
)
from zenml_hf_registry.registry import RegistryTarget, pull_snapshot

pytestmark = pytest.mark.integration

GOOD_SHA = "a" * 40


class HostileRegistry:
    """Answers model info and package records as told; records every path asked for."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.details: dict[str, Any] = {}
        self.paths: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                registry.paths.append(self.path)
                if self.path.startswith("/acme/models/huggingface/api/models/"):
                    body = registry.info
                elif self.path.startswith("/v2/packages/") and "/packages?" in self.path:
                    body = {"items": [{"id": "p1", "version": registry.info.get("sha")}]}
                elif self.path.startswith("/v2/packages/"):
                    body = registry.details
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.target = RegistryTarget(
            org="acme",
            registry="models",
            token="hostile-registry-token",
            endpoint=f"{url}/acme/models/huggingface",
            api_url=url,
        )


@pytest.fixture
def hostile() -> Iterator[HostileRegistry]:
    registry = HostileRegistry()
    yield registry
    registry.server.shutdown()


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_revision_that_is_not_a_commit_id_writes_nothing(
    hostile: HostileRegistry, tmp_path: Path
) -> None:
    hostile.info = {"id": "acme/m", "sha": "../../../escaped", "siblings": []}
    with pytest.raises(UntrustedAnswerError, match="not a commit id") as refused:
        pull_snapshot("acme/m", registry=hostile.target, cache_dir=tmp_path / "cache")
    assert refused.value.endpoint == hostile.target.endpoint
    assert _files_under(tmp_path) == []
    assert not any("/resolve/" in p or "/tree/" in p for p in hostile.paths)


def test_a_listed_file_outside_the_snapshot_is_refused(
    hostile: HostileRegistry, tmp_path: Path
) -> None:
    hostile.info = {
        "id": "acme/m",
        "sha": GOOD_SHA,
        "siblings": [{"rfilename": "../../outside.txt", "size": 1}],
    }
    with pytest.raises(UntrustedAnswerError, match="outside the snapshot"):
        pull_snapshot("acme/m", registry=hostile.target, local_dir=tmp_path / "pulled")
    assert _files_under(tmp_path) == []


def test_a_record_without_checksums_is_refused_unless_asked_for(
    hostile: HostileRegistry, tmp_path: Path
) -> None:
    hostile.info = {"id": "acme/m", "sha": GOOD_SHA, "siblings": []}
    hostile.details = {"id": "p1", "name": "acme/m", "checksums": {}}
    with pytest.raises(UnverifiableSnapshotError, match="allow_unverified"):
        pull_snapshot("acme/m", registry=hostile.target, cache_dir=tmp_path / "cache")
    assert not any("/resolve/" in p or "/tree/" in p for p in hostile.paths)  # nothing fetched


def test_a_tampered_file_is_refused_and_removed(setup: Setup, tmp_path: Path) -> None:  # noqa: F811
    record = setup.publish(tmp_path / "publish-cache")
    weights = next(f for f in record.files if f.path == "model.safetensors")
    blob = setup.registry_hub.app.state.hub.blobs.path(weights.sha256)
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF  # same size, other bytes: what a compromised store would serve
    blob.write_bytes(bytes(data))
    reader = setup.registry.model_copy(update={"token": REGISTRY_READ.token})
    cache = tmp_path / "pull-cache"

    with pytest.raises(ChecksumMismatchError, match=r"model\.safetensors"):
        pull_snapshot("acme/tiny-model", registry=reader, cache_dir=cache)
    # Neither the snapshot's link nor the cached blob is left for anyone to load.
    assert not [p for p in _files_under(cache) if p.stat().st_size == len(data)]


def test_unrelated_files_in_the_target_folder_are_not_judged(
    setup: Setup,  # noqa: F811
    tmp_path: Path,
) -> None:
    setup.publish(tmp_path / "publish-cache")
    target = tmp_path / "pulled"
    target.mkdir()
    (target / "notes.txt").write_text("mine, not the package's")
    reader = setup.registry.model_copy(update={"token": REGISTRY_READ.token})
    record, folder = pull_snapshot("acme/tiny-model", registry=reader, local_dir=target)
    assert folder == target
    assert (target / "notes.txt").read_text() == "mine, not the package's"
    assert {f.path for f in record.files} >= {"config.json", "model.safetensors"}
