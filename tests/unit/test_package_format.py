"""The reproducible package archive: the same files always give the same four checksums."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading

import pytest

from zenml_hf_registry.package_format import (
    ChecksumsCancelledError,
    PackageFile,
    package_checksums,
    package_file_name,
)

pytestmark = pytest.mark.unit

FILES = {
    "config.json": b'{"model_type": "tiny"}\n',
    "weights/model.safetensors": bytes(range(256)) * 9000,
    "README.md": b"# tiny\n",
}


def members(files: dict[str, bytes]) -> list[PackageFile]:
    return [
        PackageFile(path, len(data), lambda data=data: io.BytesIO(data))  # type: ignore[misc]
        for path, data in files.items()
    ]


def documented_archive(files: dict[str, bytes]) -> bytes:
    """The archive as the module's docstring defines it, materialized in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(files[path]), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(files[path]))
    return buffer.getvalue()


def test_checksums_are_those_of_the_documented_archive() -> None:
    archive = documented_archive(FILES)
    sums = package_checksums(members(FILES))
    assert sums.size == len(archive)
    assert sums.md5 == hashlib.md5(archive, usedforsecurity=False).hexdigest()
    assert sums.sha1 == hashlib.sha1(archive, usedforsecurity=False).hexdigest()
    assert sums.sha256 == hashlib.sha256(archive).hexdigest()
    assert sums.sha512 == hashlib.sha512(archive).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == sorted(FILES)


def test_order_does_not_matter_but_content_does() -> None:
    forward = package_checksums(members(FILES))
    backward = package_checksums(list(reversed(members(FILES))))
    assert forward == backward
    changed = package_checksums(members({**FILES, "README.md": b"# tiny!\n"}))
    for field in ("md5", "sha1", "sha256", "sha512"):
        assert getattr(changed, field) != getattr(forward, field)


def test_a_cancelled_pass_stops() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ChecksumsCancelledError):
        package_checksums(members({"big.bin": b"\0" * (4 * 1024 * 1024)}), cancel)
    assert package_checksums(members(FILES), threading.Event()) == package_checksums(members(FILES))


def test_the_file_name_carries_the_commit() -> None:
    commit = "a" * 40
    assert package_file_name("acme/tiny", commit) == f"acme--tiny--{commit}.tar"
