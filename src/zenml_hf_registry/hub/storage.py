"""Durable storage of the local Hub: content-addressed blobs plus an SQLite metadata database.

Blobs live at `blobs/sha256/ab/<sha256>` and are written to `tmp/` first, hashed while they
stream in, then renamed into place: an upload cut off half-way leaves nothing visible.
The database holds repos, refs, commits (each with its full file table), the LFS objects
each repo owns, and the old names of moved repos. Every write goes through one lock and one
transaction, so concurrent commits to a repo are serialized and a stale parent commit is
detected.

A blob is written before the database references it (an upload precedes its commit), so
garbage collection must not take a blob that nothing references *yet*: every write happens
under a `BlobLease`, which pins the blob until the request that wrote it (or counted on it
existing) has recorded it in the database or given up.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from zenml_hf_registry.hub.errors import PayloadTooLarge, UnprocessableEntity

__all__ = [
    "BlobInfo",
    "BlobLease",
    "BlobStore",
    "BlockReader",
    "Database",
    "ReconstructedBlobs",
    "git_blob_oid",
    "lfs_pointer",
]

_CHUNK = 1024 * 1024

_SCHEMA = """
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS repos (
    id INTEGER PRIMARY KEY,
    realm TEXT NOT NULL,
    type TEXT NOT NULL,
    namespace TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    private INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    UNIQUE (realm, type, namespace, name)
);
CREATE TABLE IF NOT EXISTS refs (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    PRIMARY KEY (repo_id, kind, name)
);
CREATE TABLE IF NOT EXISTS pull_requests (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    num INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    author TEXT NOT NULL,
    base TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repo_id, num)
);
CREATE TABLE IF NOT EXISTS commits (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    parent_id TEXT,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (repo_id, id)
);
CREATE TABLE IF NOT EXISTS files (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    commit_id TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    git_oid TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    lfs INTEGER NOT NULL,
    PRIMARY KEY (repo_id, commit_id, path)
);
CREATE TABLE IF NOT EXISTS repo_redirects (
    realm TEXT NOT NULL,
    type TEXT NOT NULL,
    namespace TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    PRIMARY KEY (realm, type, namespace, name)
);
CREATE TABLE IF NOT EXISTS buckets (
    id INTEGER PRIMARY KEY,
    realm TEXT NOT NULL,
    namespace TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    private INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (realm, namespace, name)
);
CREATE TABLE IF NOT EXISTS xet_xorbs (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    chunks BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS xet_chunks (
    hash TEXT PRIMARY KEY,
    xorb TEXT NOT NULL,
    idx INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS xet_chunks_xorb ON xet_chunks (xorb);
CREATE TABLE IF NOT EXISTS xet_files (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    sha256 TEXT,
    terms BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS xet_files_sha256 ON xet_files (sha256);
CREATE TABLE IF NOT EXISTS xet_shard_xorbs (
    shard TEXT NOT NULL,
    xorb TEXT NOT NULL,
    PRIMARY KEY (shard, xorb)
);
CREATE INDEX IF NOT EXISTS xet_shard_xorbs_xorb ON xet_shard_xorbs (xorb);
CREATE TABLE IF NOT EXISTS xet_file_repos (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    PRIMARY KEY (repo_id, hash)
);
CREATE TABLE IF NOT EXISTS xet_pending (
    xorb TEXT PRIMARY KEY,
    touched REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lfs_objects (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    oid TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (repo_id, oid)
);
"""


def git_blob_oid(data: bytes) -> str:
    """The git object id (sha1) of a blob with these bytes, as the Hub reports for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file committed in place of an LFS object."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its sha256, size and git blob oid."""

    sha256: str
    size: int


class BlobLease:
    """Blobs one request wrote or relies on, kept from garbage collection until released."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._held: list[str] = []

    def pin(self, sha256: str) -> bool:
        """Pin a blob (stored or about to be); returns whether it is stored now.

        Whether it is stored is asked after the pin is counted and outside `pin_lock`: a
        collection holds that lock while it decides and deletes, so the answer is either from
        before it (and the pin kept the blob) or from after it (and says the blob is gone).
        """
        with self._store.pin_lock:
            self._store.pins[sha256] += 1
            self._held.append(sha256)
        return self._store.exists(sha256)

    def release(self) -> None:
        """Give every pin back (the database references what was kept by now)."""
        with self._store.pin_lock:
            for sha256 in self._held:
                self._store.pins[sha256] -= 1
                if self._store.pins[sha256] <= 0:
                    del self._store.pins[sha256]
            self._held.clear()


class ReconstructedBlobs(Protocol):
    """Blobs kept as something else than a file (Xet reconstructions), found by sha256."""

    def blob_size(self, sha256: str) -> int | None:
        """The size of the blob with this sha256, None when not held."""

    def blob_blocks(self, sha256: str, start: int, end: int | None) -> Iterator[bytes]:
        """The blob's bytes `[start, end)` in blocks."""


class BlockReader(io.RawIOBase):
    """A read-only binary stream over an iterator of byte blocks."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        super().__init__()
        self._blocks = blocks
        self._pending = b""

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill `buffer` from the next blocks; 0 at the end."""
        while not self._pending:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._pending = block
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class BlobStore:
    """Content-addressed files under `root/blobs`, written atomically through `root/tmp`.

    Every reader goes through `open`, `size`, `iter_range` or `copy_to`: a blob is either a
    file here or a reconstruction held by `reconstructed` (Xet), and reads the same either way.
    """

    reconstructed: ReconstructedBlobs | None = None

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pins: Counter[str] = Counter()
        # Taken by pinning and by garbage collection, always after the database lock when
        # both are held (a collection, or inline files stored inside a transaction), and
        # never held while waiting for the database, so the two cannot deadlock. Re-entrant:
        # a collection holds it across its database work and the sweep of the blob files.
        self.pin_lock = threading.RLock()
        self.blobs = root / "blobs" / "sha256"
        self.tmp = root / "tmp"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp.iterdir():  # half-written uploads of a previous run
            leftover.unlink(missing_ok=True)

    def path(self, sha256: str) -> Path:
        """Where the blob with this sha256 lives (whether or not it exists)."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise UnprocessableEntity(f"invalid sha256 oid {sha256!r}")
        return self.blobs / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether a blob with this sha256 is stored (as a file or a reconstruction)."""
        if self.path(sha256).is_file():
            return True
        return self.reconstructed is not None and self.reconstructed.blob_size(sha256) is not None

    def exists_as_file(self, sha256: str) -> bool:
        """Whether the blob is stored as a file (an LFS or inline upload)."""
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The size of a stored blob; `FileNotFoundError` when it is not stored."""
        path = self.path(sha256)
        if path.is_file():
            return path.stat().st_size
        size = self.reconstructed.blob_size(sha256) if self.reconstructed else None
        if size is None:
            raise FileNotFoundError(sha256)
        return size

    def local_file(self, sha256: str) -> Path | None:
        """The blob's file when it is one (to serve it with sendfile-style responses)."""
        path = self.path(sha256)
        return path if path.is_file() else None

    def open(self, sha256: str) -> IO[bytes]:
        """A binary stream of the blob's bytes; `FileNotFoundError` when it is not stored."""
        path = self.path(sha256)
        if path.is_file():
            return path.open("rb")
        return io.BufferedReader(BlockReader(self.iter_range(sha256, 0, None)), _CHUNK)

    def iter_range(self, sha256: str, start: int, end: int | None) -> Iterator[bytes]:
        """The blob's bytes `[start, end)` (to the end when `end` is None) in blocks."""
        path = self.path(sha256)
        if path.is_file():
            return _file_blocks(path, start, end)
        if self.reconstructed is None or self.reconstructed.blob_size(sha256) is None:
            raise FileNotFoundError(sha256)
        return self.reconstructed.blob_blocks(sha256, start, end)

    def copy_to(self, sha256: str, target: Path) -> None:
        """Write the blob's bytes to `target`."""
        source = self.local_file(sha256)
        if source is not None:
            shutil.copyfile(source, target)
            return
        with self.open(sha256) as stream, target.open("wb") as out:
            shutil.copyfileobj(stream, out, _CHUNK)

    def read_bytes(self, sha256: str) -> bytes:
        """The whole blob in memory (small files: cards, configs)."""
        with self.open(sha256) as stream:
            return stream.read()

    @contextlib.contextmanager
    def lease(self) -> Iterator[BlobLease]:
        """A lease for the blobs of one upload or commit, released when the block ends."""
        lease = BlobLease(self)
        try:
            yield lease
        finally:
            lease.release()

    def put_bytes(self, data: bytes, *, lease: BlobLease) -> BlobInfo:
        """Store `data` (small, already in memory: inline commit files)."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not lease.pin(sha256):
            with self._staging() as (tmp_path, handle):
                handle.write(data)
                self._publish(tmp_path, handle, target)
        return BlobInfo(sha256, len(data))

    async def put_stream(
        self,
        chunks: AsyncIterator[bytes],
        *,
        max_size: int,
        lease: BlobLease,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> BlobInfo:
        """Stream a body into the store; refuse it whole if too big or not what it claims.

        The bytes are always received and checked, even when the blob is stored already: an
        upload proves its content, so it can neither probe which blobs exist nor claim one.
        """
        digest = hashlib.sha256()
        size = 0
        with self._staging() as (tmp_path, handle):
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise PayloadTooLarge(f"upload exceeds the {max_size} byte limit")
                digest.update(chunk)
                handle.write(chunk)
            sha256 = digest.hexdigest()
            if expected_size is not None and size != expected_size:
                raise UnprocessableEntity(f"received {size} bytes, expected {expected_size}")
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise UnprocessableEntity(
                    f"content hashes to sha256:{sha256}, expected sha256:{expected_sha256}"
                )
            if not lease.pin(sha256):
                self._publish(tmp_path, handle, self.path(sha256))
        return BlobInfo(sha256, size)

    def concat(
        self, parts: list[Path], expected_sha256: str, expected_size: int, *, lease: BlobLease
    ) -> BlobInfo:
        """Join multipart upload parts into one blob, verifying the announced oid and size."""
        digest = hashlib.sha256()
        size = 0
        with self._staging() as (tmp_path, handle):
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        handle.write(chunk)
            sha256 = digest.hexdigest()
            if size != expected_size or sha256 != expected_sha256:
                raise UnprocessableEntity(
                    f"assembled parts give sha256:{sha256} ({size} bytes), "
                    f"expected sha256:{expected_sha256} ({expected_size} bytes)"
                )
            if not lease.pin(sha256):
                self._publish(tmp_path, handle, self.path(sha256))
        return BlobInfo(sha256, size)

    def staging_file(self) -> Path:
        """A fresh path under tmp/ for a multipart part; removed on restart if left behind."""
        return self.tmp / f"part-{uuid.uuid4().hex}"

    def remove_unreferenced(self, referenced: set[str]) -> int:
        """Delete blobs no repo references and no lease pins; returns how many were removed."""
        removed = 0
        with self.pin_lock:
            for shard in self.blobs.iterdir():
                for blob in shard.iterdir():
                    if blob.name not in referenced and blob.name not in self.pins:
                        blob.unlink(missing_ok=True)
                        removed += 1
        return removed

    @contextlib.contextmanager
    def _staging(self) -> Iterator[tuple[Path, IO[bytes]]]:
        tmp_path = self.tmp / f"upload-{uuid.uuid4().hex}"
        handle = tmp_path.open("wb")
        try:
            yield tmp_path, handle
        finally:
            handle.close()
            tmp_path.unlink(missing_ok=True)

    @staticmethod
    def _publish(tmp_path: Path, handle: IO[bytes], target: Path) -> None:
        # Flushed, not fsynced: a server restart keeps everything (the OS has the pages), and
        # the emulator trades power-loss durability for upload speed, as a dev server may.
        handle.flush()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_path.replace(target)


def _file_blocks(path: Path, start: int, end: int | None) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            block = handle.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
            if not block:
                return
            if remaining is not None:
                remaining -= len(block)
            yield block


class Database:
    """The SQLite metadata database, one connection shared under a lock (the emulator's scale)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction; readers see all of it or none of it."""
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read under the lock."""
        with self.lock:
            yield self._conn

    def close(self) -> None:
        """Close the connection (the server's shutdown)."""
        with self.lock:
            self._conn.close()
