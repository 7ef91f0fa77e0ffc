"""Xet formats against bytes the real hf_xet client produced, and against hostile bytes."""

from __future__ import annotations

import hashlib
import math
import os
import struct
from pathlib import Path

import lz4.frame
import pytest

from zenml_hf_registry.hub import xetformat as xf

DATA = Path(__file__).parent / "data" / "xet"
XORB_NAME = "c66639f13d065e50b28bb66d3de5ed161cc061c659d2bf77857a1a864f391666"


def _captured_file() -> bytes:
    data = b"".join(struct.pack("<f", math.sin(i / 100.0)) for i in range(40000))
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(3000))
    return data + text.encode() + bytes(range(256)) * 300


def _xorb_bytes() -> bytes:
    return (DATA / f"{XORB_NAME}.xorb").read_bytes()


def test_hash_strings_reverse_each_eight_byte_word() -> None:
    raw = bytes(range(32))
    assert xf.hash_to_hex(raw) == (
        "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    )
    assert xf.hash_from_hex(xf.hash_to_hex(raw)) == raw
    for bad in ("", "zz" * 32, "A" * 64, "0" * 63):
        with pytest.raises(xf.XetFormatError):
            xf.hash_from_hex(bad)


def test_the_clients_xorb_verifies_and_rebuilds_the_file() -> None:
    xorb = xf.parse_xorb(_xorb_bytes())
    assert xf.hash_to_hex(xorb.hash()) == XORB_NAME
    body = _xorb_bytes()
    rebuilt = b"".join(
        xf.decompress_chunk(c.scheme, body[c.offset + 8 : c.offset + c.frame_size], c.size)
        for c in xorb.chunks
    )
    assert rebuilt == _captured_file()
    assert {c.scheme for c in xorb.chunks} == {2}  # the client chose byte grouping + LZ4


def test_the_clients_shard_names_the_file_it_uploaded() -> None:
    shard = xf.parse_shard((DATA / "upload.shard").read_bytes(), max_entries=1000)
    (info,) = shard.files
    data = _captured_file()
    assert xf.hash_to_hex(info.hash) == (DATA / "file.xet-hash").read_text().strip()
    assert info.size == len(data)
    assert info.sha256 is not None
    assert xf.hash_to_hex(info.sha256) == hashlib.sha256(data).hexdigest()
    xorb = xf.parse_xorb(_xorb_bytes())
    leaves = [(c.hash, c.size) for c in xorb.chunks]
    assert xf.file_hash(leaves) == info.hash
    for term in info.terms:
        assert xf.hash_to_hex(term.xorb) == XORB_NAME
        chunk_hashes = [c.hash for c in xorb.chunks[term.start : term.end]]
        assert term.verification == xf.verification_hash(chunk_hashes)
    (described,) = shard.xorbs
    assert xf.hash_to_hex(described.hash) == XORB_NAME
    assert list(described.chunks) == [(c.hash, c.size) for c in xorb.chunks]


def test_every_compression_scheme_round_trips() -> None:
    chunks = [b"plain bytes" * 100, b"lz4 " * 5000, bytes(range(256)) * 40 + b"xyz"]
    body = b""
    for scheme, data in enumerate(chunks):
        if scheme == 0:
            payload = data
        elif scheme == 1:
            payload = lz4.frame.compress(data)
        else:
            grouped = b"".join(data[i::4] for i in range(4))
            payload = lz4.frame.compress(grouped)
        header = bytes([0]) + len(payload).to_bytes(3, "little") + bytes([scheme])
        body += header + len(data).to_bytes(3, "little") + payload
    xorb = xf.parse_xorb(body)
    assert [c.size for c in xorb.chunks] == [len(c) for c in chunks]
    assert [c.hash for c in xorb.chunks] == [xf.chunk_hash(c) for c in chunks]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:-1], "runs past the end"),
        (lambda b: b[:5], "truncated chunk header"),
        (lambda b: b"\x01" + b[1:], "header version"),
        (lambda b: b[:4] + b"\x09" + b[5:], "compression scheme"),
        (lambda b: b"", "no chunks"),
    ],
)
def test_malformed_xorbs_are_refused(mutate: object, message: str) -> None:
    with pytest.raises(xf.XetFormatError, match=message):
        xf.parse_xorb(mutate(_xorb_bytes()))  # type: ignore[operator]


def test_a_tampered_chunk_changes_the_xorb_hash() -> None:
    body = bytearray(_xorb_bytes())
    first = xf.parse_xorb(bytes(body)).chunks[0]
    body[first.offset + first.frame_size - 1] ^= 0xFF
    try:
        tampered = xf.parse_xorb(bytes(body))
    except xf.XetFormatError:
        return  # the frame no longer decompresses: refused either way
    assert xf.hash_to_hex(tampered.hash()) != XORB_NAME


def test_malformed_shards_are_refused() -> None:
    shard = (DATA / "upload.shard").read_bytes()
    with pytest.raises(xf.XetFormatError, match="header tag"):
        xf.parse_shard(b"\x00" * 48 + shard[48:], max_entries=1000)
    with pytest.raises(xf.XetFormatError, match="truncated"):
        xf.parse_shard(shard[:100], max_entries=1000)
    with pytest.raises(xf.XetFormatError, match="more than 2 entries"):
        xf.parse_shard(shard, max_entries=2)
    huge = bytearray(shard)
    huge[48 + 36 : 48 + 40] = (2**31).to_bytes(4, "little")  # a file claiming 2^31 terms
    with pytest.raises(xf.XetFormatError):
        xf.parse_shard(bytes(huge), max_entries=10**12)


def test_dedup_answers_key_the_chunk_hashes() -> None:
    xorb = xf.parse_xorb(_xorb_bytes())
    key = bytes(range(32))
    answer = xf.serialize_dedup_shard(
        [
            (
                xf.hash_from_hex(XORB_NAME),
                [(c.hash, c.size) for c in xorb.chunks],
                len(_xorb_bytes()),
            )
        ],
        key,
        expiry=2_000_000_000,
    )
    footer = answer[-200:]
    (version, file_info, cas_info, file_lookup, n_files, xorb_lookup, n_xorbs, chunk_lookup) = (
        struct.unpack_from("<8Q", footer)
    )
    (n_chunks,) = struct.unpack_from("<Q", footer, 64)
    assert footer[72:104] == key  # the footer carries the key
    assert struct.unpack_from("<Q", footer, 192)[0] == len(answer) - 200  # footer offset
    assert (version, n_files, n_xorbs, n_chunks) == (1, 0, 1, len(xorb.chunks))
    # The info sections parse as a shard; the lookup tables come after them.
    parsed = xf.parse_shard(answer[:file_lookup], max_entries=1000)
    assert parsed.files == ()
    (described,) = parsed.xorbs
    raw = {c.hash for c in xorb.chunks}
    assert all(h not in raw for h, _ in described.chunks)  # never the raw hashes
    assert [size for _, size in described.chunks] == [c.size for c in xorb.chunks]
    # Each chunk entry starts where the previous one's unpacked bytes end.
    starts = [
        struct.unpack_from("<I", answer, cas_info + 48 * (1 + i) + 32)[0]
        for i in range(len(xorb.chunks))
    ]
    assert starts == [sum(c.size for c in xorb.chunks[:i]) for i in range(len(xorb.chunks))]
    # The xorb lookup names entry 0; the chunk lookup is sorted and finds every keyed hash.
    assert struct.unpack_from("<QI", answer, xorb_lookup) == (
        int.from_bytes(xf.hash_from_hex(XORB_NAME)[:8], "little"),
        0,
    )
    table = [
        struct.unpack_from("<QII", answer, chunk_lookup + 16 * i) for i in range(len(xorb.chunks))
    ]
    assert [k for k, _, _ in table] == sorted(k for k, _, _ in table)
    for key_word, xorb_entry, chunk_index in table:
        assert xorb_entry == 0
        assert int.from_bytes(described.chunks[chunk_index][0][:8], "little") == key_word
    assert file_info == 48
    assert file_lookup == xorb_lookup


def test_a_xorb_of_64_mib_of_incompressible_chunks_is_accepted() -> None:
    # hf_xet cuts xorbs at 64 MiB of chunk data: with headers the body is a little more.
    chunks = [os.urandom(64 * 1024) for _ in range(1024)]
    header = bytes([0]) + (64 * 1024).to_bytes(3, "little") + bytes([0])
    body = b"".join(header + (64 * 1024).to_bytes(3, "little") + c for c in chunks)
    assert len(body) > 64 * 1024 * 1024
    parsed = xf.parse_xorb(body)
    assert parsed.hash() == xf.xorb_hash([(xf.chunk_hash(c), len(c)) for c in chunks])
    with pytest.raises(xf.XetFormatError):
        xf.parse_xorb(body + body[: 2 * 1024 * 1024])


def test_a_dedup_answer_indexes_every_xorb_it_describes() -> None:
    first = [(bytes([i]) * 32, 100 + i) for i in range(3)]
    second = [(bytes([50 + i]) * 32, 200 + i) for i in range(2)]
    names = (b"\x07" * 32, b"\x03" * 32)
    answer = xf.serialize_dedup_shard(
        [(names[0], first, 400), (names[1], second, 500)], bytes(32), expiry=1
    )
    footer = answer[-200:]
    _, _, cas_info, _, _, xorb_lookup, n_xorbs, chunk_lookup, n_chunks = struct.unpack_from(
        "<9Q", footer
    )
    assert (n_xorbs, n_chunks) == (2, 5)
    # Sorted by key; each names its xorb header's entry in the CAS info section.
    xorbs = [struct.unpack_from("<QI", answer, xorb_lookup + 12 * i) for i in range(2)]
    assert xorbs == sorted(
        [(int.from_bytes(names[0][:8], "little"), 0), (int.from_bytes(names[1][:8], "little"), 4)]
    )
    for key, entry in xorbs:
        assert (
            int.from_bytes(answer[cas_info + 48 * entry : cas_info + 48 * entry + 8], "little")
            == key
        )
    chunks = [struct.unpack_from("<QII", answer, chunk_lookup + 16 * i) for i in range(5)]
    assert sorted((e, i) for _, e, i in chunks) == [(0, 0), (0, 1), (0, 2), (4, 0), (4, 1)]
