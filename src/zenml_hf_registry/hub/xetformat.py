"""Xet wire formats, pure: hashes (chunk, xorb, file, term verification), xorbs and shards.

Everything follows the Xet Protocol Specification (hub-docs, `docs/xet/`): keyed blake3 hashes,
the aggregated (merkle) hash with its content-defined fan-out, the hash-to-string conversion
that reverses each 8-byte word, the xorb chunk framing with its three compression schemes and
the MDB shard layout. Parsers take untrusted bytes: every count and length is bounded by the
bytes actually present, and a malformed body raises `XetFormatError` (a 400 for the routes).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import blake3
import lz4.frame

__all__ = [
    "MAX_CHUNK_SIZE",
    "MAX_XORB_SIZE",
    "ChunkRef",
    "FileInfo",
    "FileTerm",
    "Shard",
    "ShardXorb",
    "XetFormatError",
    "Xorb",
    "aggregated_hash",
    "chunk_hash",
    "decompress_chunk",
    "file_hash",
    "hash_from_hex",
    "hash_to_hex",
    "parse_shard",
    "parse_xorb",
    "read_xorb",
    "serialize_dedup_shard",
    "verification_hash",
    "xorb_hash",
]

MAX_CHUNK_SIZE = 128 * 1024
# The spec caps a serialized xorb at 64 MiB, but hf_xet cuts xorbs at 64 MiB of chunk data
# (xet-core's MAX_XORB_BYTES, up to MAX_XORB_CHUNKS = 8192 chunks), so an incompressible xorb
# is that plus its 8-byte chunk headers and its footer (about 50 bytes a chunk): allow 1 MiB.
MAX_XORB_SIZE = 65 * 1024 * 1024

_DATA_KEY = bytes.fromhex("6697f5775b9550de3135cbaca597181c9de421109beb2b58b4d0b04b93adf229")
_INTERNAL_NODE_KEY = bytes.fromhex(
    "017ec5c7a5472996fd946666b48a02e65ddd536f37c76dd2f86352e64a53713f"
)
_VERIFICATION_KEY = bytes.fromhex(
    "7f1857d6ce56ed66127ff913e7a5c3f3a4cd26d5b5db49e64124987f28fb94c3"
)
_ZERO_KEY = bytes(32)
_SHARD_TAG = b"HFRepoMetaData\x00"
_SHARD_TAG += bytes(
    [85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)
_BOOKEND = b"\xff" * 32
_FLAG_VERIFICATION = 1 << 31
_FLAG_METADATA_EXT = 1 << 30
_XORB_FOOTER_IDENT = b"XETBLOB"
_ENTRY = 48
_FOOTER_SIZE = 200


class XetFormatError(ValueError):
    """Bytes that are not a valid xorb, shard or hash."""


def hash_to_hex(digest: bytes) -> str:
    """The spec's string form of a 32-byte hash: each 8-byte word reversed, then hex."""
    return "".join(digest[i : i + 8][::-1].hex() for i in range(0, 32, 8))


def hash_from_hex(text: str) -> bytes:
    """The raw 32 bytes of a hash in its string form; `XetFormatError` if it is not one."""
    if len(text) != 64 or not all(c in "0123456789abcdef" for c in text):
        raise XetFormatError(f"not a Xet hash: {text[:80]!r}")
    raw = bytes.fromhex(text)
    return b"".join(raw[i : i + 8][::-1] for i in range(0, 32, 8))


def chunk_hash(data: bytes | memoryview) -> bytes:
    """A chunk's hash: blake3 keyed with the data key."""
    return blake3.blake3(data, key=_DATA_KEY).digest()


def _merge(nodes: Sequence[tuple[bytes, int]]) -> tuple[bytes, int]:
    text = "".join(f"{hash_to_hex(h)} : {size}\n" for h, size in nodes)
    digest = blake3.blake3(text.encode(), key=_INTERNAL_NODE_KEY).digest()
    return digest, sum(size for _, size in nodes)


def _next_cut(nodes: Sequence[tuple[bytes, int]], start: int) -> int:
    remaining = len(nodes) - start
    if remaining <= 2:
        return len(nodes)
    end = start + min(9, remaining)
    for i in range(start + 2, end):
        # The cut test reads the hash's last 64-bit little-endian word, modulo 4.
        if int.from_bytes(nodes[i][0][24:32], "little") % 4 == 0:
            return i + 1
    return end


def aggregated_hash(nodes: Sequence[tuple[bytes, int]]) -> bytes:
    """The merkle root over `(hash, size)` leaves, with the spec's content-defined fan-out."""
    if not nodes:
        return bytes(32)
    level = list(nodes)
    while len(level) > 1:
        merged: list[tuple[bytes, int]] = []
        start = 0
        while start < len(level):
            cut = _next_cut(level, start)
            merged.append(_merge(level[start:cut]))
            start = cut
        level = merged
    return level[0][0]


def xorb_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """A xorb's hash from its chunks' `(hash, size)`."""
    return aggregated_hash(chunks)


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """A file's hash from its chunks' `(hash, size)`: the merkle root, keyed once more."""
    if not chunks:
        return bytes(32)
    return blake3.blake3(aggregated_hash(chunks), key=_ZERO_KEY).digest()


def verification_hash(chunk_hashes: Iterable[bytes]) -> bytes:
    """The verification hash of a term: its chunk hashes concatenated, keyed."""
    return blake3.blake3(b"".join(chunk_hashes), key=_VERIFICATION_KEY).digest()


@dataclass(frozen=True)
class ChunkRef:
    """One chunk of a xorb: its hash, where its frame starts, its sizes and compression."""

    hash: bytes
    offset: int
    frame_size: int
    size: int
    scheme: int


@dataclass(frozen=True)
class Xorb:
    """A parsed xorb: its chunks in order and where the chunk frames end."""

    chunks: tuple[ChunkRef, ...]
    content_end: int

    def hash(self) -> bytes:
        """The xorb hash these chunks make."""
        return xorb_hash([(c.hash, c.size) for c in self.chunks])


def decompress_chunk(scheme: int, payload: bytes | memoryview, size: int) -> bytes:
    """A chunk's bytes from its compressed frame payload; `XetFormatError` if it lies."""
    try:
        if scheme == 0:
            data = bytes(payload)
        elif scheme == 1:
            data = lz4.frame.decompress(bytes(payload))
        elif scheme == 2:
            grouped = lz4.frame.decompress(bytes(payload))
            data = _ungroup4(grouped)
        else:
            raise XetFormatError(f"unknown chunk compression scheme {scheme}")
    except RuntimeError as exc:  # lz4's error for a corrupt frame
        raise XetFormatError(f"chunk does not decompress: {exc}") from exc
    if len(data) != size:
        raise XetFormatError(f"chunk decompresses to {len(data)} bytes, header says {size}")
    return data


def _ungroup4(grouped: bytes) -> bytes:
    n = len(grouped)
    split, rem = divmod(n, 4)
    sizes = [split + (1 if rem > i else 0) for i in range(4)]
    out = bytearray(n)
    start = 0
    for i, size in enumerate(sizes):
        out[i::4] = grouped[start : start + size]
        start += size
    return bytes(out)


def parse_xorb(body: bytes, *, verify: bool = True) -> Xorb:
    """Parse (and by default verify) a serialized xorb held in memory; see `read_xorb`."""
    if len(body) > MAX_XORB_SIZE:
        raise XetFormatError(f"xorb is {len(body)} bytes; at most {MAX_XORB_SIZE} allowed")
    return read_xorb(io.BytesIO(body), len(body), verify=verify)


def read_xorb(stream: BinaryIO, size: int, *, verify: bool = True) -> Xorb:
    """Parse (and by default verify) a serialized xorb of `size` bytes: frames, then an
    optional footer. The stream is read one frame at a time, so memory stays at one chunk
    whatever the xorb's size.

    Verifying decompresses every chunk and hashes it; without it only the framing is read
    (for xorbs this server stored after verifying them).
    """
    if size > MAX_XORB_SIZE:
        raise XetFormatError(f"xorb is {size} bytes; at most {MAX_XORB_SIZE} allowed")
    chunks: list[ChunkRef] = []
    offset = 0
    while offset < size:
        header = stream.read(min(8, size - offset))
        if header.startswith(_XORB_FOOTER_IDENT):
            break  # the xorb's own metadata footer (chunk hashes and boundaries)
        if len(header) < 8:
            raise XetFormatError(f"truncated chunk header at byte {offset}")
        version = header[0]
        frame_size = int.from_bytes(header[1:4], "little")
        scheme = header[4]
        length = int.from_bytes(header[5:8], "little")
        if version != 0:
            raise XetFormatError(f"chunk header version {version} at byte {offset}")
        if length == 0 or length > MAX_CHUNK_SIZE or frame_size > MAX_CHUNK_SIZE + 1024:
            raise XetFormatError(f"chunk at byte {offset} has an impossible size")
        end = offset + 8 + frame_size
        if end > size:
            raise XetFormatError(f"chunk at byte {offset} runs past the end of the xorb")
        digest = b""
        if verify:
            payload = stream.read(frame_size)
            if len(payload) != frame_size:
                raise XetFormatError(f"chunk at byte {offset} runs past the end of the xorb")
            data = payload if scheme == 0 else decompress_chunk(scheme, payload, length)
            if len(data) != length:
                raise XetFormatError(
                    f"chunk at byte {offset} holds {len(data)} bytes, not {length}"
                )
            digest = chunk_hash(data)
        else:
            stream.seek(frame_size, io.SEEK_CUR)
        chunks.append(ChunkRef(digest, offset, 8 + frame_size, length, scheme))
        offset = end
    if not chunks:
        raise XetFormatError("xorb holds no chunks")
    return Xorb(tuple(chunks), offset)


@dataclass(frozen=True)
class FileTerm:
    """One term of a file reconstruction: chunks `[start, end)` of a xorb."""

    xorb: bytes
    start: int
    end: int
    size: int
    verification: bytes | None


@dataclass(frozen=True)
class FileInfo:
    """One file of a shard: its hash, terms and (optional) sha256."""

    hash: bytes
    terms: tuple[FileTerm, ...]
    sha256: bytes | None

    @property
    def size(self) -> int:
        """The file's size: the sum of its terms."""
        return sum(t.size for t in self.terms)


@dataclass(frozen=True)
class ShardXorb:
    """One xorb a shard describes: its hash and chunks `(hash, size)`."""

    hash: bytes
    chunks: tuple[tuple[bytes, int], ...]
    raw_size: int
    stored_size: int


@dataclass(frozen=True)
class Shard:
    """A parsed shard (upload form: header, file info, CAS info, optional footer)."""

    files: tuple[FileInfo, ...]
    xorbs: tuple[ShardXorb, ...]


class _Reader:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.offset = 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.body):
            raise XetFormatError(f"shard truncated at byte {self.offset}")
        data = self.body[self.offset : self.offset + size]
        self.offset += size
        return data


def parse_shard(body: bytes, *, max_entries: int) -> Shard:
    """Parse an uploaded shard; `max_entries` bounds its file terms plus xorb chunks."""
    reader = _Reader(body)
    header = reader.take(_ENTRY)
    if header[:32] != _SHARD_TAG:
        raise XetFormatError("not a shard (bad header tag)")
    version, footer_size = struct.unpack("<QQ", header[32:48])
    if version != 2:
        raise XetFormatError(f"shard header version {version}, expected 2")
    budget = max_entries
    files: list[FileInfo] = []
    while True:
        entry = reader.take(_ENTRY)
        if entry[:32] == _BOOKEND:
            break
        flags, count = struct.unpack("<II", entry[32:40])
        budget -= count + 1
        if budget < 0 or count * _ENTRY > len(body):
            raise XetFormatError(f"shard has more than {max_entries} entries")
        if count == 0:
            raise XetFormatError("a file in the shard has no terms")
        raw_terms = [reader.take(_ENTRY) for _ in range(count)]
        checks: list[bytes | None] = [None] * count
        if flags & _FLAG_VERIFICATION:
            checks = [reader.take(_ENTRY)[:32] for _ in range(count)]
        sha256 = reader.take(_ENTRY)[:32] if flags & _FLAG_METADATA_EXT else None
        terms = []
        for raw, check in zip(raw_terms, checks, strict=True):
            _, size, start, end = struct.unpack("<IIII", raw[32:48])
            if end <= start or size == 0:
                raise XetFormatError("a file term has an empty or reversed chunk range")
            terms.append(FileTerm(raw[:32], start, end, size, check))
        files.append(FileInfo(entry[:32], tuple(terms), sha256))
    xorbs: list[ShardXorb] = []
    while True:
        entry = reader.take(_ENTRY)
        if entry[:32] == _BOOKEND:
            break
        _, count, raw_size, stored_size = struct.unpack("<IIII", entry[32:48])
        budget -= count + 1
        if budget < 0 or count * _ENTRY > len(body):
            raise XetFormatError(f"shard has more than {max_entries} entries")
        chunks = []
        for _ in range(count):
            raw = reader.take(_ENTRY)
            _, size = struct.unpack("<II", raw[32:40])
            chunks.append((raw[:32], size))
        xorbs.append(ShardXorb(entry[:32], tuple(chunks), raw_size, stored_size))
    rest = len(body) - reader.offset
    if rest not in (0, footer_size):
        raise XetFormatError(f"shard has {rest} unexpected trailing bytes")
    return Shard(tuple(files), tuple(xorbs))


def serialize_dedup_shard(
    xorbs: Sequence[tuple[bytes, Sequence[tuple[bytes, int]], int]],
    hmac_key: bytes,
    *,
    expiry: int,
    created: int = 0,
) -> bytes:
    """A global-deduplication answer: xorbs' chunks with their hashes keyed by `hmac_key`.

    `xorbs` are `(xorb hash, chunks as (hash, size) in xorb order, stored size)`. Keyed hashes
    let a client match chunks it holds without learning the hashes of chunks it does not hold
    (which would let it claim them).

    The answer is a whole shard file as xet-core writes it: after the info sections come the
    lookup tables the footer points at (file, xorb and chunk: truncated hash -> entry index,
    sorted), which hf_xet reads to index the shard (the spec's footer calls them reserved).
    """
    out = bytearray(_SHARD_TAG + struct.pack("<QQ", 2, _FOOTER_SIZE))
    file_info_offset = len(out)
    out += _BOOKEND + bytes(16)
    cas_info_offset = len(out)
    xorb_lookup: list[tuple[int, int]] = []
    chunk_lookup: list[tuple[int, int, int]] = []
    entry = 0  # entries of the CAS info section: a xorb's header, then its chunks
    total_raw = total_stored = 0
    for xorb, chunks, stored_size in xorbs:
        raw_size = sum(size for _, size in chunks)
        total_raw, total_stored = total_raw + raw_size, total_stored + stored_size
        out += xorb + struct.pack("<IIII", 0, len(chunks), raw_size, stored_size)
        xorb_lookup.append((_truncated(xorb), entry))
        start = 0  # each chunk's start in the xorb's unpacked bytes
        for index, (digest, size) in enumerate(chunks):
            keyed = blake3.blake3(digest, key=hmac_key).digest()
            out += keyed + struct.pack("<II", start, size) + bytes(8)
            chunk_lookup.append((_truncated(keyed), entry, index))
            start += size
        entry += 1 + len(chunks)
    out += _BOOKEND + bytes(16)
    file_lookup_offset = len(out)  # no files: an empty table
    xorb_lookup_offset = len(out)
    for key, at in sorted(xorb_lookup):
        out += struct.pack("<QI", key, at)
    chunk_lookup_offset = len(out)
    for key, at, index in sorted(chunk_lookup):
        out += struct.pack("<QII", key, at, index)
    footer_offset = len(out)
    out += struct.pack(
        "<QQQQQQQQQ",
        1,
        file_info_offset,
        cas_info_offset,
        file_lookup_offset,
        0,
        xorb_lookup_offset,
        len(xorb_lookup),
        chunk_lookup_offset,
        len(chunk_lookup),
    )
    out += hmac_key + struct.pack("<QQ", created, expiry) + bytes(48)
    out += struct.pack("<QQQQ", total_stored, total_raw, total_raw, footer_offset)
    assert len(out) - footer_offset == _FOOTER_SIZE
    return bytes(out)


def _truncated(digest: bytes) -> int:
    """xet-core's lookup key of a hash: its first 64-bit little-endian word."""
    return int.from_bytes(digest[:8], "little")
