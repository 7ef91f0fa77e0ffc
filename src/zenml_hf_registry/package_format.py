"""The reproducible package archive of a model snapshot, and its checksums.

A package is the snapshot's files as an uncompressed POSIX (pax) tar archive, members sorted by
path, each a regular file with mode 0644, uid/gid 0, empty owner names and mtime 0, with no
directory entries. The same files always give the same bytes, so anyone holding a snapshot can
recompute a package's MD5/SHA1/SHA256/SHA512 locally. The archive is never materialized: files
stream once through a tar writer into the four hashes.

Both the registry facade of the local Hub and the publishing client use this module.
"""

from __future__ import annotations

import hashlib
import tarfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

__all__ = [
    "ChecksumsCancelledError",
    "PackageChecksums",
    "PackageFile",
    "package_checksums",
    "package_file_name",
]

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PackageFile:
    """One member: its path in the snapshot, its size, and how to read it."""

    path: str
    size: int
    open: Callable[[], IO[bytes]]


@dataclass(frozen=True)
class PackageChecksums:
    """Size and digests of a package archive."""

    size: int
    md5: str
    sha1: str
    sha256: str
    sha512: str


class ChecksumsCancelledError(Exception):
    """The pass was stopped through its `cancel` event before it finished."""


class _HashSink:
    """A write-only file object that hashes and counts what tarfile writes."""

    def __init__(self, cancel: threading.Event | None = None) -> None:
        self._cancel = cancel
        self.size = 0
        self._hashes = [
            hashlib.md5(usedforsecurity=False),
            hashlib.sha1(usedforsecurity=False),
            hashlib.sha256(),
            hashlib.sha512(),
        ]

    def write(self, data: bytes) -> int:
        if self._cancel is not None and self._cancel.is_set():
            raise ChecksumsCancelledError
        self.size += len(data)
        for digest in self._hashes:
            digest.update(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def result(self) -> PackageChecksums:
        md5, sha1, sha256, sha512 = (h.hexdigest() for h in self._hashes)
        return PackageChecksums(self.size, md5, sha1, sha256, sha512)


def package_checksums(
    files: Iterable[PackageFile], cancel: threading.Event | None = None
) -> PackageChecksums:
    """Size and checksums of the package archive of these files, in one streaming pass.

    Setting `cancel` stops the pass within a megabyte (`ChecksumsCancelledError`).
    """
    sink = _HashSink(cancel)
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as tar:  # type: ignore[call-overload]
        for item in sorted(files, key=lambda f: f.path):
            info = tarfile.TarInfo(item.path)
            info.size = item.size
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with item.open() as handle:
                tar.addfile(info, handle)
    return sink.result()


def package_file_name(repo_id: str, commit: str) -> str:
    """The package's file name: namespace, repo and the commit SHA."""
    return f"{repo_id.replace('/', '--')}--{commit}.tar"
