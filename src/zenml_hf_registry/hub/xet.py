"""The local Hub's Xet content-addressed store (CAS): xorbs, file reconstructions, access tokens.

Xorbs are kept as uploaded (after verifying every chunk and the xorb hash) under
`xet/xorbs/`, so download ranges are served straight from disk; their chunk tables, the
chunk -> xorb index for global de-duplication and the file reconstructions live in the Hub's
SQLite database. A chunk is stored once: clients de-duplicate against the index before they
build xorbs, and a xorb is stored once however many files and repos use it.

A file registered by a shard is only accepted when its terms name stored chunks, its
verification hashes prove the uploader held those chunks, its hash is the merkle hash of
them, and the sha256 it claims is the sha256 of its reconstructed bytes. The sha256 is what
makes a Xet file an LFS object of the repo that uploaded it (`lfs_objects`), so commits,
`resolve`, Space builds and registry packages read it through `BlobStore.open` like any blob.

Garbage collection (`collect_garbage`, run by the repo backend's collection) removes the file
records no repo references any more, then the xorbs no remaining file uses and no upload in
flight may still use, with their chunk-index rows, in one transaction. How an upload in flight
is kept whole is told in `collect_garbage`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import sqlite3
import struct
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from zenml_hf_registry.hub import xetformat
from zenml_hf_registry.hub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from zenml_hf_registry.hub.storage import BlockReader, Database

__all__ = ["XetFile", "XetGrant", "XetStore", "XetTerm"]

_CHUNK_ROW = struct.Struct("<32sII")  # chunk hash, frame offset, uncompressed size
_TERM_ROW = struct.Struct("<32sIII")  # xorb hash, chunk start, chunk end, size
_FETCH_TTL = 3600
_READ_BUFFER = 1024 * 1024  # xorb reads: a few frames per system call
_DEDUP_XORBS = 128  # xorbs in one de-duplication answer (8 GiB of chunks at most)


@dataclass(frozen=True)
class XetGrant:
    """What a CAS access token allows: one repo (row id), read or write."""

    repo_id: int
    write: bool
    expires: int


@dataclass(frozen=True)
class XetTerm:
    """A stored reconstruction term: chunks `[start, end)` of a xorb, `size` bytes."""

    xorb: str
    start: int
    end: int
    size: int


@dataclass(frozen=True)
class XetFile:
    """A stored file reconstruction."""

    hash: str
    size: int
    sha256: str | None
    terms: tuple[XetTerm, ...]


@dataclass(frozen=True)
class _XorbIndex:
    hashes: tuple[bytes, ...]
    offsets: tuple[int, ...]  # frame start of each chunk, then the end of the last frame
    sizes: tuple[int, ...]


class XetStore:
    """Xorbs, chunk index, file reconstructions and CAS tokens of one local Hub."""

    def __init__(
        self,
        root: Path,
        db: Database,
        *,
        token_ttl: int,
        max_shard_entries: int,
        upload_grace: float = 24 * 3600,
    ) -> None:
        self.root = root / "xet"
        self.xorbs = self.root / "xorbs"
        self.tmp = self.root / "tmp"
        self.xorbs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp.iterdir():
            leftover.unlink(missing_ok=True)
        self.db = db
        self.token_ttl = token_ttl
        self.max_shard_entries = max_shard_entries
        self.upload_grace = upload_grace
        key_file = root / "xet-key"
        if not key_file.exists():
            key_file.write_bytes(secrets.token_bytes(32))
            key_file.chmod(0o600)
        self._key = key_file.read_bytes()
        self._tokens: dict[str, XetGrant] = {}
        self._lock = threading.Lock()
        self._index_cache: dict[str, _XorbIndex] = {}

    # -- tokens ---------------------------------------------------------------------------

    def issue_token(self, repo_id: int, *, write: bool) -> tuple[str, int]:
        """A new CAS access token for one repo; returns `(token, expiry unix time)`."""
        token = "xet_" + secrets.token_urlsafe(32)
        expires = int(time.time()) + self.token_ttl
        with self._lock:
            now = time.time()
            for old in [t for t, g in self._tokens.items() if g.expires < now]:
                del self._tokens[old]
            self._tokens[token] = XetGrant(repo_id, write, expires)
        return token, expires

    def check_token(self, token: str | None, *, write: bool) -> XetGrant:
        """The grant of a valid token; 401 when missing or expired, 403 when read-only."""
        grant = self._tokens.get(token) if token else None
        if grant is None or grant.expires < time.time():
            raise Unauthorized("missing, unknown or expired Xet access token; refresh it")
        if write and not grant.write:
            raise Forbidden("this Xet access token is read-only")
        return grant

    # -- xorbs ----------------------------------------------------------------------------

    def xorb_path(self, xorb: str) -> Path:
        """Where a xorb lives (whether or not it exists)."""
        _checked_hash(xorb)
        return self.xorbs / xorb[:2] / xorb

    def has_xorb(self, xorb: str) -> bool:
        """Whether a xorb is stored (its row is the truth: a collection removes it first)."""
        _checked_hash(xorb)
        with self.db.read() as conn:
            row = conn.execute("SELECT 1 FROM xet_xorbs WHERE hash=?", (xorb,)).fetchone()
        return row is not None

    def spool_path(self) -> Path:
        """A new temporary file name for an incoming xorb body (see `put_xorb_file`)."""
        return self.tmp / f"xorb-{uuid.uuid4().hex}"

    def put_xorb(self, xorb: str, body: bytes) -> bool:
        """Verify and store a xorb held in memory; see `put_xorb_file`."""
        spooled = self.spool_path()
        spooled.write_bytes(body)
        return self.put_xorb_file(xorb, spooled)

    def put_xorb_file(self, xorb: str, spooled: Path) -> bool:
        """Verify and store a xorb spooled to `spooled` (moved into place, or removed);
        returns whether it was new. `BadRequest` when invalid.

        Stored or not before, the xorb is marked pending (see `collect_garbage`): the shard
        that uses it comes later.

        The body is read one frame at a time, so a verify costs one chunk of memory however
        many xorbs arrive at once.
        """
        try:
            raw = _checked_hash(xorb)
            size = spooled.stat().st_size
            try:
                with spooled.open("rb") as handle:
                    parsed = xetformat.read_xorb(handle, size)
            except xetformat.XetFormatError as exc:
                raise BadRequest(f"invalid xorb: {exc}") from exc
            if parsed.hash() != raw:
                raise BadRequest("the xorb's chunks do not hash to the xorb hash in the URL")
            target = self.xorb_path(xorb)
            table = b"".join(_CHUNK_ROW.pack(c.hash, c.offset, c.size) for c in parsed.chunks)
            table += struct.pack("<I", parsed.content_end)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Whether it is stored is decided in the transaction that records it pending, so
            # a collection is wholly before (the xorb is stored anew) or after (it is kept).
            with self.db.transaction() as conn:
                _touch_pending(conn, [xorb])
                known = conn.execute("SELECT 1 FROM xet_xorbs WHERE hash=?", (xorb,)).fetchone()
                if known is not None:
                    return False
                spooled.replace(target)
                conn.execute(
                    "INSERT OR IGNORE INTO xet_xorbs (hash, size, chunks) VALUES (?, ?, ?)",
                    (xorb, size, table),
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO xet_chunks (hash, xorb, idx) VALUES (?, ?, ?)",
                    [(xetformat.hash_to_hex(c.hash), xorb, i) for i, c in enumerate(parsed.chunks)],
                )
            return True
        finally:
            spooled.unlink(missing_ok=True)

    def _index(self, xorb: str) -> _XorbIndex:
        cached = self._index_cache.get(xorb)
        if cached is not None:
            return cached
        with self.db.read() as conn:
            row = conn.execute("SELECT chunks FROM xet_xorbs WHERE hash=?", (xorb,)).fetchone()
        if row is None:
            raise BadRequest(_missing_xorb(xorb))
        table: bytes = row[0]
        count = (len(table) - 4) // _CHUNK_ROW.size
        rows = [_CHUNK_ROW.unpack_from(table, i * _CHUNK_ROW.size) for i in range(count)]
        (end,) = struct.unpack_from("<I", table, len(table) - 4)
        index = _XorbIndex(
            tuple(r[0] for r in rows), (*tuple(r[1] for r in rows), end), tuple(r[2] for r in rows)
        )
        with self._lock:
            if len(self._index_cache) > 1024:
                self._index_cache.clear()
            self._index_cache[xorb] = index
        return index

    def dedup_shard(self, chunk: str, grant: XetGrant) -> bytes:
        """The global de-duplication answer for a chunk hash (keyed hashes); 404 if unknown.

        Like the Hub's, the answer covers the chunk's xorb and the other xorbs registered with
        it (by the same shards, up to `_DEDUP_XORBS`): a client that finds one known chunk of
        a big file learns to skip every unchanged part of it, not only that xorb's.
        """
        _checked_hash(chunk)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT xorb FROM xet_chunks WHERE hash=?", (chunk,)).fetchone()
            if row is None:
                raise NotFound("chunk not known to this CAS")
            xorb = str(row[0])
            neighbours = [
                str(r[0])
                for r in conn.execute(
                    "SELECT DISTINCT xorb FROM xet_shard_xorbs WHERE shard IN "
                    "(SELECT shard FROM xet_shard_xorbs WHERE xorb=? LIMIT 16) AND xorb != ? "
                    "AND xorb IN (SELECT hash FROM xet_xorbs) LIMIT ?",
                    (xorb, xorb, _DEDUP_XORBS - 1),
                )
            ]
            if grant.write:
                # An uploader will name these xorbs in its shard without uploading them: they
                # are pending from this answer on, like the xorbs it uploads.
                _touch_pending(conn, [xorb, *neighbours])
            described = []
            for name in (xorb, *neighbours):
                index = self._index(name)
                chunks = list(zip(index.hashes, index.sizes, strict=True))
                described.append((xetformat.hash_from_hex(name), chunks, index.offsets[-1]))
        return xetformat.serialize_dedup_shard(
            described,
            secrets.token_bytes(32),
            expiry=int(time.time()) + 7 * 24 * 3600,
            created=int(time.time()),
        )

    # -- shards and files -----------------------------------------------------------------

    def put_shard(self, body: bytes, grant: XetGrant) -> int:
        """Verify and register a shard's files for the grant's repo; returns how many are new."""
        try:
            shard = xetformat.parse_shard(body, max_entries=self.max_shard_entries)
        except xetformat.XetFormatError as exc:
            raise BadRequest(f"invalid shard: {exc}") from exc
        for described in shard.xorbs:
            if not self.has_xorb(xetformat.hash_to_hex(described.hash)):
                raise BadRequest(_missing_xorb(xetformat.hash_to_hex(described.hash)))
        # Which xorbs go together in de-duplication answers: those the shard's files use (each
        # term's verification hash proves the uploader held its chunks).
        group = sorted({xetformat.hash_to_hex(t.xorb) for f in shard.files for t in f.terms})
        shard_id = hashlib.sha256(body).hexdigest()
        new = 0
        for info in shard.files:
            checked = self._check_file(info)
            with self.db.transaction() as conn:
                # Checked against cached chunk tables: its xorbs must still be stored now, in
                # the transaction that makes the file use them (a collection may have run).
                for xorb in {t.xorb for t in checked.terms}:
                    if conn.execute("SELECT 1 FROM xet_xorbs WHERE hash=?", (xorb,)).fetchone():
                        continue
                    raise BadRequest(_missing_xorb(xorb))
                if not conn.execute("SELECT 1 FROM repos WHERE id=?", (grant.repo_id,)).fetchone():
                    raise NotFound("the repo of this upload no longer exists")
                cur = conn.execute(
                    "INSERT OR IGNORE INTO xet_files (hash, size, sha256, terms) VALUES (?,?,?,?)",
                    (
                        checked.hash,
                        checked.size,
                        checked.sha256,
                        b"".join(
                            _TERM_ROW.pack(xetformat.hash_from_hex(t.xorb), t.start, t.end, t.size)
                            for t in checked.terms
                        ),
                    ),
                )
                new += cur.rowcount
                conn.execute(
                    "INSERT OR IGNORE INTO xet_file_repos (repo_id, hash) VALUES (?, ?)",
                    (grant.repo_id, checked.hash),
                )
                if checked.sha256 is not None:
                    # The file is now an LFS object of the uploader's repo, as an LFS upload is.
                    conn.execute(
                        "INSERT OR IGNORE INTO lfs_objects (repo_id, oid, size) VALUES (?, ?, ?)",
                        (grant.repo_id, checked.sha256, checked.size),
                    )
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO xet_shard_xorbs (shard, xorb) VALUES (?, ?)",
                [(shard_id, xorb) for xorb in group],
            )
        return new

    def _check_file(self, info: xetformat.FileInfo) -> XetFile:
        name = xetformat.hash_to_hex(info.hash)
        leaves: list[tuple[bytes, int]] = []
        terms: list[XetTerm] = []
        for term in info.terms:
            xorb = xetformat.hash_to_hex(term.xorb)
            index = self._index(xorb)
            if term.end > len(index.sizes):
                raise BadRequest(f"file {name} names chunks past the end of xorb {xorb}")
            hashes = index.hashes[term.start : term.end]
            sizes = index.sizes[term.start : term.end]
            if sum(sizes) != term.size:
                raise BadRequest(f"file {name}: a term's size does not match its chunks")
            if term.verification is None:
                raise BadRequest(f"file {name} has no verification entries")
            if not hmac.compare_digest(term.verification, xetformat.verification_hash(hashes)):
                raise BadRequest(f"file {name}: a term's verification hash does not match")
            leaves.extend(zip(hashes, sizes, strict=True))
            terms.append(XetTerm(xorb, term.start, term.end, term.size))
        if xetformat.file_hash(leaves) != info.hash:
            raise BadRequest(f"file {name}: its chunks do not hash to the file hash")
        # The sha256 is stored like every hash of the format: in 64-bit little-endian words.
        sha256 = xetformat.hash_to_hex(info.sha256) if info.sha256 is not None else None
        stored = XetFile(name, info.size, sha256, tuple(terms))
        if sha256 is not None and self.sha256_of(name) != sha256:
            actual = self.sha256_of_bytes(stored)
            if actual != sha256:
                raise BadRequest(f"file {name}: its bytes hash to sha256 {actual}, not {sha256}")
        return stored

    def sha256_of(self, file: str) -> str | None:
        """The verified sha256 of a stored file, if it was registered with one."""
        with self.db.read() as conn:
            row = conn.execute("SELECT sha256 FROM xet_files WHERE hash=?", (file,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def get_file(self, file: str) -> XetFile | None:
        """A stored file reconstruction by file hash."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT hash, size, sha256, terms FROM xet_files WHERE hash=?", (file,)
            ).fetchone()
        return None if row is None else _file_of(row)

    def find_by_sha256(self, sha256: str) -> XetFile | None:
        """A stored file whose verified sha256 is this one."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT hash, size, sha256, terms FROM xet_files WHERE sha256=? LIMIT 1", (sha256,)
            ).fetchone()
        return None if row is None else _file_of(row)

    def xet_hashes(self, sha256s: Iterable[str]) -> dict[str, str]:
        """The Xet file hash of each of these sha256s that is stored as a Xet file."""
        wanted = sorted(set(sha256s))
        found: dict[str, str] = {}
        with self.db.read() as conn:
            for i in range(0, len(wanted), 500):
                batch = wanted[i : i + 500]
                marks = ",".join("?" * len(batch))
                rows = conn.execute(
                    f"SELECT sha256, hash FROM xet_files WHERE sha256 IN ({marks})",  # noqa: S608
                    batch,
                ).fetchall()
                found.update((str(sha), str(name)) for sha, name in rows)
        return found

    def readable_file(self, file: str, grant: XetGrant) -> XetFile:
        """A file the grant's repo may read: one it uploaded or one its commits reference.

        Any other hash answers 404, whether stored or not: a caller cannot learn what other
        repos hold by guessing file hashes.
        """
        _checked_hash(file)
        stored = self.get_file(file)
        if stored is not None:
            with self.db.read() as conn:
                owned = conn.execute(
                    "SELECT 1 FROM xet_file_repos WHERE repo_id=? AND hash=?",
                    (grant.repo_id, file),
                ).fetchone()
                if owned is None and stored.sha256 is not None:
                    owned = conn.execute(
                        "SELECT 1 FROM files WHERE repo_id=? AND sha256=? AND lfs=1 LIMIT 1",
                        (grant.repo_id, stored.sha256),
                    ).fetchone()
            if owned is not None:
                return stored
        raise NotFound(f"file {file} not found")

    # -- garbage collection ---------------------------------------------------------------

    def collect_garbage(self, conn: sqlite3.Connection, referenced: set[str]) -> list[str]:
        """Remove what nothing uses any more, in the caller's transaction; returns the removed
        xorbs, whose files the caller deletes once it has committed (`remove_xorb_files`).

        `referenced` holds every sha256 a commit, an LFS object or a blob lease names. A file
        record goes when no repo uploaded it (`xet_file_repos`, which a repo's deletion
        empties) and no such sha256 is its own. A xorb then goes, with its chunk-index and
        shard-group rows, when no remaining file uses it and it is not pending.

        Pending is what keeps an upload in flight whole. Xorbs reach the CAS before the shard
        that uses them, so between the two nothing references them. Each xorb a client
        uploads, and each one a de-duplication answer offers it (which it will name without
        uploading), is marked pending in the same transaction that stores or reads it, and
        stays so for `upload_grace` seconds from the last such mark. A lease as blobs have
        cannot do it: the upload is many requests, with no request spanning them. A grace from
        the first upload alone would not do either: a de-duplicated xorb may be years old.
        The mark outlives the shard and the repo on purpose: hf_xet keeps the shards it
        uploaded in a local cache and de-duplicates against them later without asking, so
        a client that deletes a repo and uploads the same bytes again names the same xorbs.

        Why nothing in flight is lost, and nothing accepted misses data: a collection is one
        transaction, so each mark is wholly before it (the xorb is kept) or after it (the
        xorb was not found, so the client uploads its chunks, or it is stored anew). A shard
        arriving after its grace ran out, naming a xorb collected since, is refused with a
        400 naming the xorb, because `put_shard` checks every xorb a file uses in the
        transaction that registers the file; a retried upload stores the xorb again.
        """
        now = time.time()
        conn.execute("DELETE FROM xet_pending WHERE touched < ?", (now - self.upload_grace,))
        owned = {str(r[0]) for r in conn.execute("SELECT DISTINCT hash FROM xet_file_repos")}
        dead_files = [
            str(name)
            for name, sha256 in conn.execute("SELECT hash, sha256 FROM xet_files")
            if name not in owned and (sha256 is None or sha256 not in referenced)
        ]
        conn.executemany("DELETE FROM xet_files WHERE hash=?", [(f,) for f in dead_files])
        used = {str(r[0]) for r in conn.execute("SELECT DISTINCT xorb FROM xet_pending")}
        for (table,) in conn.execute("SELECT terms FROM xet_files"):
            for offset in range(0, len(table), _TERM_ROW.size):
                used.add(xetformat.hash_to_hex(_TERM_ROW.unpack_from(table, offset)[0]))
        dead_xorbs = [
            str(r[0]) for r in conn.execute("SELECT hash FROM xet_xorbs") if r[0] not in used
        ]
        # The chunk index goes with its xorbs: a de-duplication answer never names one.
        for statement in (
            "DELETE FROM xet_chunks WHERE xorb=?",
            "DELETE FROM xet_shard_xorbs WHERE xorb=?",
            "DELETE FROM xet_xorbs WHERE hash=?",
        ):
            conn.executemany(statement, [(x,) for x in dead_xorbs])
        with self._lock:
            for xorb in dead_xorbs:
                self._index_cache.pop(xorb, None)
        return dead_xorbs

    def remove_xorb_files(self, xorbs: Iterable[str]) -> None:
        """Delete the files of collected xorbs (their rows are gone: nothing reads them)."""
        for xorb in xorbs:
            self.xorb_path(xorb).unlink(missing_ok=True)

    # -- reading --------------------------------------------------------------------------

    def fetch_plan(
        self, stored: XetFile, start: int, end: int
    ) -> tuple[int, list[XetTerm], dict[str, list[tuple[int, int, int, int]]]]:
        """The terms covering bytes `[start, end)` of a file and the xorb ranges to fetch.

        Returns `(offset into the first term, terms, {xorb: [(chunk start, chunk end, first
        byte, last byte)]})`, with each xorb's ranges merged where they touch or overlap.
        """
        terms: list[XetTerm] = []
        offset_into_first = 0
        position = 0
        for term in stored.terms:
            term_end = position + term.size
            if term_end > start and position < end:
                if not terms:
                    first, skip = term, start - position
                    # Trim whole chunks before the start from the first term.
                    index = self._index(term.xorb)
                    chunk = term.start
                    while skip >= index.sizes[chunk]:
                        skip -= index.sizes[chunk]
                        chunk += 1
                    trimmed = sum(index.sizes[term.start : chunk])
                    first = XetTerm(term.xorb, chunk, term.end, term.size - trimmed)
                    offset_into_first = skip
                    terms.append(first)
                else:
                    terms.append(term)
            position = term_end
            if position >= end:
                break
        wanted: dict[str, list[tuple[int, int]]] = {}
        for term in terms:
            wanted.setdefault(term.xorb, []).append((term.start, term.end))
        fetch: dict[str, list[tuple[int, int, int, int]]] = {}
        for xorb, ranges in wanted.items():
            index = self._index(xorb)
            merged: list[list[int]] = []
            for lo, hi in sorted(ranges):
                if merged and lo <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            fetch[xorb] = [(lo, hi, index.offsets[lo], index.offsets[hi] - 1) for lo, hi in merged]
        return offset_into_first, terms, fetch

    def sign_fetch(self, xorb: str, first: int, last: int) -> str:
        """The query string of a presigned URL for bytes `[first, last]` of a xorb."""
        expires = int(time.time()) + _FETCH_TTL
        mac = self._fetch_mac(xorb, first, last, expires)
        return f"range={first}-{last}&expires={expires}&sig={mac}"

    def check_fetch(self, xorb: str, first: int, last: int, expires: int, sig: str) -> None:
        """403 unless the signature covers exactly this xorb range and has not expired."""
        if not hmac.compare_digest(sig, self._fetch_mac(xorb, first, last, expires)):
            raise Forbidden("invalid xorb fetch signature")
        if expires < time.time():
            raise Forbidden("xorb fetch URL expired; ask for the reconstruction again")

    def _fetch_mac(self, xorb: str, first: int, last: int, expires: int) -> str:
        message = f"{xorb}:{first}:{last}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def iter_bytes(
        self, stored: XetFile, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """The file's bytes `[start, end)`, decompressed chunk by chunk from its xorbs."""
        for piece in self._pieces(stored, start, end):
            yield piece if isinstance(piece, bytes) else bytes(piece)

    def _pieces(
        self, stored: XetFile, start: int = 0, end: int | None = None
    ) -> Iterator[bytes | memoryview]:
        """`iter_bytes` frame by frame: a reader holds one chunk at a time, however long the
        xorb ranges its file is made of (so concurrent downloads cost no more than a chunk
        each)."""
        end = stored.size if end is None else min(end, stored.size)
        if start >= end:
            return
        skip, terms, _ = self.fetch_plan(stored, start, end)
        remaining = end - start
        for term in terms:
            index = self._index(term.xorb)
            with self.xorb_path(term.xorb).open("rb", buffering=_READ_BUFFER) as handle:
                handle.seek(index.offsets[term.start])
                for i in range(term.start, term.end):
                    header = handle.read(8)
                    frame_size = int.from_bytes(header[1:4], "little")
                    scheme = header[4]
                    payload = handle.read(frame_size)
                    if len(payload) != frame_size:
                        raise OSError(f"xorb {term.xorb} is shorter than its index says")
                    data: bytes | memoryview = (
                        payload
                        if scheme == 0 and frame_size == index.sizes[i]
                        else xetformat.decompress_chunk(scheme, payload, index.sizes[i])
                    )
                    if skip:
                        data, skip = memoryview(data)[skip:], max(0, skip - len(data))
                    if len(data) >= remaining:
                        yield data[:remaining]
                        return
                    remaining -= len(data)
                    yield data

    def sha256_of_bytes(self, stored: XetFile) -> str:
        """The sha256 of a stored file's bytes, hashed straight from its xorbs in one pass."""
        digest = hashlib.sha256()
        for piece in self._pieces(stored):
            digest.update(piece)
        return digest.hexdigest()

    def reader(self, stored: XetFile) -> IO[bytes]:
        """A binary file object reading the whole file."""
        return io.BufferedReader(BlockReader(self.iter_bytes(stored)), 4 * 1024 * 1024)

    # -- the blob store's view ------------------------------------------------------------

    def blob_size(self, sha256: str) -> int | None:
        """The size of the Xet file with this verified sha256, None when there is none."""
        stored = self.find_by_sha256(sha256)
        return None if stored is None else stored.size

    def blob_blocks(self, sha256: str, start: int, end: int | None) -> Iterator[bytes]:
        """The bytes `[start, end)` of the Xet file with this sha256."""
        stored = self.find_by_sha256(sha256)
        if stored is None:
            raise FileNotFoundError(sha256)
        return self.iter_bytes(stored, start, end)


def _touch_pending(conn: sqlite3.Connection, xorbs: list[str]) -> None:
    conn.executemany(
        "INSERT INTO xet_pending (xorb, touched) VALUES (?, ?) "
        "ON CONFLICT (xorb) DO UPDATE SET touched = excluded.touched",
        [(xorb, time.time()) for xorb in xorbs],
    )


def _missing_xorb(xorb: str) -> str:
    return (
        f"xorb {xorb} is not stored (never uploaded, or collected since: no file used it and "
        "its upload grace ran out); upload it again and retry. A client that de-duplicated "
        "against its local shard cache must clear that cache first"
    )


def _checked_hash(text: str) -> bytes:
    try:
        return xetformat.hash_from_hex(text)
    except xetformat.XetFormatError as exc:
        raise BadRequest(str(exc)) from exc


def _file_of(row: tuple[str, int, str | None, bytes]) -> XetFile:
    table = row[3]
    terms = tuple(
        XetTerm(xetformat.hash_to_hex(x), s, e, n)
        for x, s, e, n in (
            _TERM_ROW.unpack_from(table, i) for i in range(0, len(table), _TERM_ROW.size)
        )
    )
    return XetFile(str(row[0]), int(row[1]), row[2], terms)
