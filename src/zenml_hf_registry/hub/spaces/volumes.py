"""Space volumes: what a `Volume` may say (checked before any change) and what gets mounted.

A volume is a bucket (read-write unless `readOnly`) or a model, dataset or Space repo (always
read-only, at `revision` or the branch head when the Space starts), shown to the app at an
absolute `mountPath`. This module checks the shape of a volume list; whether each source
exists and the caller may read it is the Space manager's to check, with the backends.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenml_hf_registry.hub.errors import BadRequest, HubError
from zenml_hf_registry.hub.repos import validate_path
from zenml_hf_registry.hub.wire import SpaceVolumeBody

__all__ = ["VOLUME_TYPES", "Mount", "VolumeSpec", "parse_volumes"]

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


@dataclass(frozen=True)
class Mount:
    """A folder of this machine shown to the app at `target`."""

    source: Path
    target: str
    read_only: bool


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
