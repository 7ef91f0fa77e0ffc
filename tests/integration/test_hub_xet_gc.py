"""Garbage collection of the local Hub's Xet storage, through the real client over loopback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, constants, hf_hub_download

from tests.conftest import HubTokens
from zenml_hf_registry.hub import LocalHub
from zenml_hf_registry.hub.xet import XetStore

pytestmark = pytest.mark.integration

HF = Path(sys.executable).with_name("hf")
SIZE = 12 * 1024 * 1024  # LFS-sized, so Xet; one xorb
SHARDS = "/_xet/v1/shards"
_TABLES = ("xet_xorbs", "xet_chunks", "xet_files", "xet_file_repos", "xet_shard_xorbs")


@pytest.fixture(autouse=True)
def _xet_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the Xet path: on, whatever the run's environment says."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)


def _store(hub: LocalHub) -> XetStore:
    store: XetStore = hub.app.state.hub.xet
    return store


def _xorb_files(hub: LocalHub) -> set[str]:
    return {p.name for p in _store(hub).xorbs.rglob("*") if p.is_file()}


def _rows(hub: LocalHub, table: str) -> int:
    # A separate connection: what a restarted server would find on disk.
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608


def _files(hub: LocalHub) -> set[str]:
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as conn:
        return {str(r[0]) for r in conn.execute("SELECT hash FROM xet_files")}


def _download(hub: LocalHub, api: HfApi, repo_id: str, where: Path) -> bytes:
    path = hf_hub_download(repo_id, "w.bin", endpoint=hub.url, token=api.token, cache_dir=where)
    return Path(path).read_bytes()


def _upload_in_thread(api: HfApi, repo_id: str, data: bytes) -> tuple[threading.Thread, dict]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["commit"] = api.upload_file(
                repo_id=repo_id, path_or_fileobj=data, path_in_repo="w.bin"
            )
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_deleting_a_repo_removes_its_xorbs_and_xet_records(
    hub: LocalHub, api: HfApi, tmp_path: Path
) -> None:
    api.create_repo("acme/kept")
    kept = os.urandom(SIZE)
    api.upload_file(repo_id="acme/kept", path_or_fileobj=kept, path_in_repo="w.bin")
    kept_xorbs = _xorb_files(hub)
    assert kept_xorbs
    before = {table: _rows(hub, table) for table in _TABLES}

    api.create_repo("acme/doomed")
    api.upload_file(repo_id="acme/doomed", path_or_fileobj=os.urandom(SIZE), path_in_repo="w.bin")
    assert _xorb_files(hub) > kept_xorbs
    assert all(_rows(hub, table) > before[table] for table in _TABLES)

    _store(hub).upload_grace = 0  # no upload in flight, none to come from a client's cache
    api.delete_repo("acme/doomed")
    assert _xorb_files(hub) == kept_xorbs  # the doomed repo's xorb files are gone
    assert {table: _rows(hub, table) for table in _TABLES} == before
    assert _rows(hub, "xet_pending") == 0
    assert _download(hub, api, "acme/kept", tmp_path / "c") == kept

    api.delete_repo("acme/kept")
    assert _xorb_files(hub) == set()
    assert all(_rows(hub, table) == 0 for table in _TABLES)


def test_deleting_an_lfs_file_for_good_collects_its_xet_storage(hub: LocalHub, api: HfApi) -> None:
    data = os.urandom(SIZE)
    api.create_repo("acme/scrubbed")
    api.upload_file(repo_id="acme/scrubbed", path_or_fileobj=data, path_in_repo="w.bin")
    assert _xorb_files(hub)
    (lfs_file,) = api.list_lfs_files("acme/scrubbed")
    _store(hub).upload_grace = 0
    api.permanently_delete_lfs_files("acme/scrubbed", [lfs_file])
    assert _xorb_files(hub) == set()
    assert all(_rows(hub, table) == 0 for table in _TABLES)


def test_deleting_one_of_two_repos_sharing_chunks_keeps_the_others_file(
    hub: LocalHub, api: HfApi, tmp_path: Path
) -> None:
    first = bytearray(os.urandom(SIZE))
    api.create_repo("acme/first")
    api.upload_file(repo_id="acme/first", path_or_fileobj=bytes(first), path_in_repo="w.bin")
    (first_file,) = _files(hub)
    second = bytearray(first)
    second[SIZE // 2 : SIZE // 2 + 4096] = os.urandom(4096)
    api.create_repo("acme/second")
    api.upload_file(repo_id="acme/second", path_or_fileobj=bytes(second), path_in_repo="w.bin")
    (second_file,) = _files(hub) - {first_file}
    # De-duplicated: the second file uses the first one's xorb for its unchanged chunks.
    shared = _xorb_files(hub)
    terms = _store(hub).get_file(second_file)
    assert terms is not None
    assert {t.xorb for t in terms.terms} & {t.xorb for t in _first_terms(hub, first_file)}

    _store(hub).upload_grace = 0
    api.delete_repo("acme/first")
    assert _files(hub) == {second_file}  # the first file's record went, its shared xorb stayed
    assert _xorb_files(hub) == shared
    assert _download(hub, api, "acme/second", tmp_path / "c") == bytes(second)

    api.delete_repo("acme/second")
    assert _xorb_files(hub) == set()
    assert all(_rows(hub, table) == 0 for table in _TABLES)


def _first_terms(hub: LocalHub, file_hash: str) -> tuple[Any, ...]:
    stored = _store(hub).get_file(file_hash)
    assert stored is not None
    return stored.terms


def test_a_collection_during_an_upload_in_flight_loses_nothing(
    hub: LocalHub, api: HfApi, tmp_path: Path
) -> None:
    """The upload's xorbs are stored, its shard held back at the door; meanwhile another repo
    is deleted (a collection runs). The xorbs nothing references yet are kept."""
    api.create_repo("acme/other")
    api.upload_file(repo_id="acme/other", path_or_fileobj=os.urandom(SIZE), path_in_repo="w.bin")
    other_xorbs = _xorb_files(hub)
    api.create_repo("acme/in-flight")
    hub.control.add_fault(method="POST", path=SHARDS, action="delay", delay=8)
    data = os.urandom(SIZE)
    thread, outcome = _upload_in_thread(api, "acme/in-flight", data)
    _wait_for(lambda: _xorb_files(hub) > other_xorbs, "the upload's xorbs")
    files_before = _files(hub)
    api.delete_repo("acme/other")
    assert _files(hub) == set()
    assert files_before
    assert _xorb_files(hub)  # the upload's xorbs survived
    thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert _download(hub, api, "acme/in-flight", tmp_path / "c") == data


def test_a_dedup_answer_keeps_its_xorbs_for_the_upload_that_relies_on_them(
    hub: LocalHub, api: HfApi, tmp_path: Path, hub_tokens: HubTokens
) -> None:
    """The tricky case: a client with an empty cache learns from the CAS that a repo about to
    be deleted holds its chunks, and names that repo's xorb in its shard without uploading
    it. The repo is deleted between the answer and the shard: the xorb is kept."""
    data = os.urandom(SIZE)
    api.create_repo("acme/source")
    api.upload_file(repo_id="acme/source", path_or_fileobj=data, path_in_repo="w.bin")
    source_xorbs = _xorb_files(hub)
    # Its own upload's mark on the xorb is long past the grace: only the answer can keep it.
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as conn:
        conn.execute("UPDATE xet_pending SET touched = touched - 2 * 86400")
    copy = tmp_path / "w.bin"
    copy.write_bytes(data[:-1])  # another file (another hash) made of nearly all its chunks
    api.create_repo("acme/copy")
    hub.control.add_fault(method="POST", path=SHARDS, action="delay", delay=8)
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_XET", "HF_TOKEN")}
    env.update(HF_ENDPOINT=hub.url, HF_TOKEN=hub_tokens.writer.token, HF_HOME=str(tmp_path / "h"))
    upload = subprocess.Popen(
        [str(HF), "upload", "acme/copy", str(copy), "w.bin"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # The answer marked the source's xorb pending again, for the shard that will name it.
        _wait_for(lambda: bool(_fresh_marks(hub) & source_xorbs), "the dedup answer")
        api.delete_repo("acme/source")
        assert _xorb_files(hub) >= source_xorbs  # pending again: kept
        output, _ = upload.communicate(timeout=120)
    finally:
        upload.kill()
    assert upload.returncode == 0, output.decode(errors="replace")
    assert _download(hub, api, "acme/copy", tmp_path / "c") == data[:-1]


def _fresh_marks(hub: LocalHub) -> set[str]:
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as conn:
        rows = conn.execute("SELECT xorb FROM xet_pending WHERE touched > ?", (time.time() - 600,))
        return {str(r[0]) for r in rows}


def test_a_shard_naming_a_collected_xorb_is_refused_and_a_retry_stores_it(
    hub: LocalHub, api: HfApi, tmp_path: Path
) -> None:
    """Past the upload grace, a collection may take a xorb the shard will name: the shard is
    refused with a 400 saying so, nothing is registered, and uploading again succeeds."""
    api.create_repo("acme/slow")
    hub.control.add_fault(method="POST", path=SHARDS, action="delay", delay=8)
    data = os.urandom(SIZE)
    thread, outcome = _upload_in_thread(api, "acme/slow", data)
    _wait_for(lambda: bool(_xorb_files(hub)), "the upload's xorbs")
    store = _store(hub)
    store.upload_grace = 0  # as if the shard came a day late
    hub.app.state.hub.repos.collect_garbage()
    assert _xorb_files(hub) == set()
    assert _rows(hub, "xet_xorbs") == 0
    assert _rows(hub, "xet_chunks") == 0
    thread.join(60)
    assert "error" in outcome
    # hf_xet reports the status (the message is the server's 400 body, not shown by it).
    assert "400 Bad Request" in str(outcome["error"])
    assert SHARDS in str(outcome["error"])
    assert _files(hub) == set()
    assert api.list_repo_commits("acme/slow")[0].title == "initial commit"

    store.upload_grace = 3600
    api.upload_file(repo_id="acme/slow", path_or_fileobj=data, path_in_repo="w.bin")
    assert _download(hub, api, "acme/slow", tmp_path / "c") == data
