"""Space ids: `{namespace}/{prefix}-{deployment}-{id8}`, within the Hub's naming rules; the
Storage Bucket of a Space's `space_storage` is named after it."""

from __future__ import annotations

import re
from uuid import UUID

from zenml_hf_registry.errors import InvalidSpaceIdError

__all__ = [
    "MAX_NAME_LENGTH",
    "sanitize",
    "space_id_for",
    "storage_bucket_for",
    "validate_space_id",
]

MAX_NAME_LENGTH = 96
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


def sanitize(text: str) -> str:
    """Lowercase, anything outside `[a-z0-9._-]` becomes '-', runs of '-' and '.' collapse
    (the Hub refuses `--` and `..`), and separators are trimmed from both ends."""
    text = re.sub(r"[^a-z0-9._-]+", "-", text.lower())
    text = re.sub(r"-{2,}", "-", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"[-.]{2,}", "-", text)
    return text.strip("-._")


def validate_space_id(space_id: str) -> str:
    """Check `namespace/name` against the Hub's rules; return it unchanged."""
    namespace, sep, name = space_id.partition("/")
    if not sep or "/" in name:
        raise InvalidSpaceIdError(space_id, "a Space id is `namespace/name`")
    for part, what in ((namespace, "namespace"), (name, "name")):
        if not part:
            raise InvalidSpaceIdError(space_id, f"the {what} is empty")
        if len(part) > MAX_NAME_LENGTH:
            raise InvalidSpaceIdError(
                space_id, f"the {what} has {len(part)} characters; the limit is {MAX_NAME_LENGTH}"
            )
        if not _NAME.fullmatch(part):
            raise InvalidSpaceIdError(
                space_id,
                f"the {what} may only use letters, digits, '.', '_' and '-', "
                "and must start and end with a letter or digit",
            )
        if "--" in part or ".." in part:
            raise InvalidSpaceIdError(space_id, f"the {what} must not contain '--' or '..'")
    return space_id


def space_id_for(namespace: str, prefix: str, deployment_name: str, deployment_id: UUID) -> str:
    """The Space id of a deployment. The id suffix keeps two ZenML projects or servers that
    use one namespace apart; the name part is shortened, never the suffix, to fit 96."""
    suffix = str(deployment_id)[:8]
    head = "-".join(p for p in (sanitize(prefix), sanitize(deployment_name) or "deployment") if p)
    room = MAX_NAME_LENGTH - len(suffix) - 1
    head = head[:room].rstrip("-._")
    return validate_space_id(f"{namespace}/{head}-{suffix}")


def storage_bucket_for(space_id: str) -> str:
    """The Storage Bucket `space_storage` mounts: `{namespace}/{space name}-data`. A name too
    long for the suffix is shortened before its last part (the deployment id), never after."""
    namespace, name = validate_space_id(space_id).split("/")
    room = MAX_NAME_LENGTH - len("-data")
    if len(name) > room:
        head, _, tail = name.rpartition("-")
        head = head[: room - len(tail) - 1].rstrip("-._") if head else ""
        name = f"{head}-{tail}" if head else tail[:room]
    return validate_space_id(f"{namespace}/{name}-data")
