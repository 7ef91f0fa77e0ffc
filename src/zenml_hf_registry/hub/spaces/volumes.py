"""Space volumes: what a `Volume` may say (checked before any change) and what gets mounted.

A volume is a bucket (read-write unless `readOnly`) or a model, dataset or Space repo (always
read-only, at `revision` or the branch head when the Space starts), shown to the app at an
absolute `mountPath`. This module checks the shape of a volume list; whether each source
exists and the caller may read it is the Space manager's to check, with the backends.

A mounted folder is reached without following links: a bucket is written by the Spaces that
mount it, so one could leave a symbolic link where a later mount looks (its `path`, or a folder
a nested volume is mounted on), and resolving it on this machine would show the next Space
host files (`/`, the data dir). `Mount.open` walks down from a folder of the server's own with
`O_NOFOLLOW` at every step and refuses a link (`UnsafeMountError`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenml_hf_registry.hub.errors import BadRequest, HubError
from zenml_hf_registry.hub.repos import validate_path
from zenml_hf_registry.hub.wire import SpaceVolumeBody

__all__ = [
    "VOLUME_TYPES",
    "Mount",
    "UnsafeMountError",
    "VolumeSpec",
    "parse_volumes",
    "prepare_mounts",
]

VOLUME_TYPES = ("bucket", "model", "dataset", "space")
# Where a mount would hide what the app needs to run (system files, its own code).
_RESERVED = ("/proc", "/sys", "/dev", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc")
_APP = "/home/user/app"


@dataclass(frozen=True)
class VolumeSpec:
    """One checked volume, as stored on the Space and reported in its runtime."""

    type: str
    source: str
    mount_path: str
    revision: str | None = None
    read_only: bool | None = None
    path: str | None = None

    @property
    def namespace(self) -> str:
        """The source's namespace."""
        return self.source.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The source's name."""
        return self.source.split("/", 1)[1]

    @property
    def writable(self) -> bool:
        """Only buckets may be written, and only when not asked to be read-only."""
        return self.type == "bucket" and not self.read_only

    def body(self) -> dict[str, Any]:
        """The stored (and reported) form: the Hub's camelCase `Volume`."""
        return SpaceVolumeBody(
            type=self.type,
            source=self.source,
            mount_path=self.mount_path,
            revision=self.revision,
            read_only=self.read_only,
            path=self.path,
        ).body()

    @classmethod
    def from_body(cls, item: dict[str, Any]) -> VolumeSpec:
        """A stored volume back (stored volumes were checked on the way in)."""
        return cls(
            type=item["type"],
            source=item["source"],
            mount_path=item["mountPath"],
            revision=item.get("revision"),
            read_only=item.get("readOnly"),
            path=item.get("path"),
        )


class UnsafeMountError(Exception):
    """A volume's folder cannot be mounted safely (a link, a file, or missing where it must
    be); the message names the volume and the part at fault."""


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_below(fd: int, relative: str, *, create: bool, what: str) -> int:
    """A new descriptor on `relative` below the folder open as `fd`, reached one component at
    a time without following links (made with `create` when missing)."""
    current = os.dup(fd)
    walked: list[str] = []
    try:
        for part in (p for p in relative.split("/") if p):
            walked.append(part)
            shown = "/".join(walked)
            if part in (".", ".."):
                raise UnsafeMountError(f"{what}: {shown!r} is not a plain folder name")
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=current)
            try:
                child = os.open(part, _FOLDER_FLAGS, dir_fd=current)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise UnsafeMountError(
                        f"{what}: {shown!r} is a symbolic link or a file, not a folder; links "
                        "in volumes are never followed on the host, so it is not mounted"
                    ) from exc
                if exc.errno == errno.ENOENT:
                    raise UnsafeMountError(f"{what}: {shown!r} does not exist") from exc
                raise
            os.close(current)
            current = child
        return current
    except BaseException:
        os.close(current)
        raise


@dataclass(frozen=True)
class Mount:
    """A folder of this machine shown to the app at `target`: `relative` below `root`.

    `root` is a folder the server made (a bucket's, a repo checkout's), below a data dir
    resolved when the server started, and itself no link; everything below it may have been
    written by a Space, so it is only ever reached through `open`.
    """

    root: Path
    relative: str
    target: str
    read_only: bool
    description: str = "volume"
    create: bool = False

    @property
    def source(self) -> Path:
        """The folder's path on this machine (for logs and for engines that take a path)."""
        return self.root / self.relative if self.relative else self.root

    @property
    def what(self) -> str:
        """How errors name this volume."""
        return f"{self.description} at {self.target}"

    def open(self, *, create: bool = False) -> int:
        """A descriptor on the folder, reached without following any link below `root`;
        missing folders are made with `create`. The caller closes it."""
        try:
            root = os.open(self.root, _FOLDER_FLAGS)
        except OSError as exc:
            raise UnsafeMountError(
                f"{self.what}: its folder cannot be opened ({exc.strerror})"
            ) from exc
        try:
            return _open_below(root, self.relative, create=create, what=self.what)
        finally:
            os.close(root)


def _enclosing(mount: Mount, mounts: Sequence[Mount]) -> Mount | None:
    """The innermost other mount whose target holds this one's."""
    outer = [
        m for m in mounts if m is not mount and mount.target.startswith(m.target.rstrip("/") + "/")
    ]
    return max(outer, key=lambda m: len(m.target), default=None)


def prepare_mounts(mounts: Sequence[Mount]) -> None:
    """Check that every mount can be made without following a link, before a Space starts.

    Each folder is opened as `Mount.open` does (made when missing if the mount says `create`,
    as a bucket's sub-folder is). A volume mounted inside another one needs a folder there to
    be mounted on: the runtime would create it by path, following whatever an earlier Space
    left in a bucket, so it is made (in a writable volume) or checked here, link-free, first.
    """
    for mount in mounts:
        os.close(mount.open(create=mount.create))
    for mount in mounts:
        outer = _enclosing(mount, mounts)
        if outer is None:
            continue
        relative = mount.target[len(outer.target.rstrip("/")) + 1 :]
        fd = outer.open()
        try:
            os.close(
                _open_below(
                    fd,
                    relative,
                    create=not outer.read_only,
                    what=f"{mount.what} (inside the {outer.what})",
                )
            )
        finally:
            os.close(fd)


def _mount_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise BadRequest(f"Invalid volume mountPath {value!r}: it must be an absolute path")
    if "\0" in value or any(part in (".", "..") for part in value.split("/")):
        raise BadRequest(f"Invalid volume mountPath {value!r}: no '.' or '..' segments")
    path = posixpath.normpath(value)
    if path == "/" or any(path == r or path.startswith(r + "/") for r in _RESERVED):
        raise BadRequest(f"Invalid volume mountPath {value!r}: that path is reserved")
    if path == _APP or _APP.startswith(path + "/") or path.startswith(_APP + "/"):
        raise BadRequest(f"Invalid volume mountPath {value!r}: it would hide the app's files")
    return path


def _volume(item: Any) -> VolumeSpec:
    if not isinstance(item, dict):
        raise BadRequest("each volume must be an object {type, source, mountPath, ...}")
    kind = item.get("type")
    if kind not in VOLUME_TYPES:
        raise BadRequest(f"Invalid volume type {kind!r}: use one of {', '.join(VOLUME_TYPES)}")
    source = item.get("source")
    if not isinstance(source, str) or source.count("/") != 1 or "" in source.split("/"):
        raise BadRequest(f"Invalid volume source {source!r}: use namespace/name")
    revision = item.get("revision")
    if revision is not None and (kind == "bucket" or not isinstance(revision, str)):
        raise BadRequest(f"Invalid volume revision {revision!r}: only repos have revisions")
    read_only = item.get("readOnly")
    if read_only is not None and not isinstance(read_only, bool):
        raise BadRequest(f"Invalid volume readOnly {read_only!r}: true or false")
    sub_path = item.get("path")
    if sub_path is not None:
        try:
            sub_path = validate_path(str(sub_path).strip("/"))
        except HubError as exc:
            raise BadRequest(f"Invalid volume path {item.get('path')!r}: {exc.message}") from exc
    return VolumeSpec(
        type=kind,
        source=source,
        mount_path=_mount_path(item.get("mountPath")),
        revision=revision,
        # Repos are always mounted read-only, as on the Hub, whatever was asked.
        read_only=True if kind != "bucket" else read_only,
        path=sub_path,
    )


def parse_volumes(raw: Any) -> list[VolumeSpec]:
    """Check a `volumes` list's shape: types, sources, absolute and distinct mount paths."""
    if not isinstance(raw, list):
        raise BadRequest("'volumes' must be a list of {type, source, mountPath, ...} objects")
    volumes = [_volume(item) for item in raw]
    seen: set[str] = set()
    for volume in volumes:
        if volume.mount_path in seen:
            raise BadRequest(f"Two volumes are mounted at {volume.mount_path}")
        seen.add(volume.mount_path)
    return volumes
