"""Serve an exact published snapshot: pull and verify it once, when a deployed pipeline starts.

`pull_snapshot_at_start` is a ZenML init hook (`@pipeline(on_init=...)`, or called from one):
ZenML's deployment app runs it once before it answers any request, and what it returns is the
`pipeline_state` every step reads (`get_step_context().pipeline_state`). It is `pull_snapshot`
with the deployment's pin: one registry commit (never a branch), optionally the package's
sha256 as published, and the registry's read token taken from an environment variable that the
deployer fills from a ZenML secret (a Space secret, never a variable). Anything wrong (no such
package, a refused token, a file or a checksum that does not match) raises
`RefusedToServeError` and the app does not start: it never serves a model nobody verified.

No ZenML import here: the hook is a plain function of JSON-safe arguments.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from huggingface_hub.errors import RevisionNotFoundError
from pydantic import BaseModel, ConfigDict

from zenml_hf_registry.errors import (
    ConfigurationError,
    HfRegistryError,
    HubAccessError,
    RefusedToServeError,
    SnapshotNotFoundError,
)
from zenml_hf_registry.registry.models import PackageRecord, RegistryTarget
from zenml_hf_registry.registry.publish import pull_snapshot

__all__ = ["DEFAULT_TOKEN_ENV", "ServedSnapshot", "pull_snapshot_at_start"]

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_ENV = "REGISTRY_READ_TOKEN"  # noqa: S105 - the name of a variable, not a token
_COMMIT_ID = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ServedSnapshot(BaseModel):
    """A verified snapshot on local disk: the package record and the folder holding its files."""

    model_config = ConfigDict(frozen=True)

    record: PackageRecord
    path: Path

    def file(self, name: str) -> Path:
        """The local path of one file the package lists.

        Raises:
            KeyError: If the package has no such file.
        """
        if name not in {entry.path for entry in self.record.files}:
            raise KeyError(f"{self.record.name} has no file {name!r}")
        return self.path / name


def _check_pin(
    repo_id: str, registry: str, revision: str, sha256: str | None, token_env: str
) -> RegistryTarget:
    if not _COMMIT_ID.fullmatch(revision):
        raise ConfigurationError(
            f"revision: {revision!r} is not a commit id (40 hexadecimal digits). Pin the "
            "package version the publish step recorded (`registry_revision`): a branch would "
            "serve whatever the registry holds when the app starts."
        )
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        raise ConfigurationError(
            f"sha256: {sha256!r} is not a sha256 digest (64 lowercase hexadecimal digits)"
        )
    if not _ENV_NAME.fullmatch(token_env):
        raise ConfigurationError(f"token_env: {token_env!r} is not an environment variable name")
    org, sep, name = registry.partition("/")
    if not sep:
        raise ConfigurationError(f"registry: {registry!r} is not ORG/REGISTRY")
    try:
        return RegistryTarget(org=org, registry=name)
    except ValueError as exc:
        raise ConfigurationError(f"registry: {exc}") from exc


def pull_snapshot_at_start(
    repo_id: str,
    registry: str,
    revision: str,
    sha256: str | None = None,
    registry_endpoint: str | None = None,
    registry_api_url: str | None = None,
    token_env: str = DEFAULT_TOKEN_ENV,
    local_dir: str | None = None,
) -> ServedSnapshot:
    """Pull `repo_id` at the registry commit `revision`, verify it, and return where it is.

    Meant as a ZenML init hook: its arguments are the deployment's pin (JSON-safe, so they can
    sit in `on_init_kwargs` of a deploy config) and its return value becomes the pipeline state.

    Args:
        repo_id: `namespace/repo` in the registry.
        registry: `org/registry`.
        revision: The registry commit of the package (`PackageRecord.registry_revision`).
        sha256: The package's sha256 as published (`PackageRecord.sha256`); when given, a
            registry record that says otherwise is refused.
        registry_endpoint: Hub-protocol endpoint of the registry (default: Buildkite's).
        registry_api_url: Base URL of the registry's package REST API.
        token_env: The environment variable holding the registry read token; set it as a
            Space secret from a ZenML secret (`space_secrets`), never as a variable.
        local_dir: Download into this folder instead of the Hugging Face cache.

    Returns:
        The verified snapshot: its record and its local folder.

    Raises:
        RefusedToServeError: If the pin is malformed, or the package cannot be pulled or
            verified; the message says why and what to change, and never holds the token.
    """
    try:
        target = _check_pin(repo_id, registry, revision, sha256, token_env)
    except ConfigurationError as exc:
        raise RefusedToServeError(
            f"Refusing to serve {repo_id}: the deployment's snapshot pin is invalid: {exc}",
            repo_id=repo_id,
            revision=revision,
        ) from exc
    token = os.environ.get(token_env) or None
    target = target.model_copy(
        update={"token": token, "endpoint": registry_endpoint, "api_url": registry_api_url}
    )
    what = f"Refusing to serve {repo_id} at {revision} from {target.slug}"
    try:
        record, folder = pull_snapshot(
            repo_id,
            registry=target,
            revision=revision,
            local_dir=Path(local_dir) if local_dir else None,
            progress=lambda message: logger.info("%s", message),
        )
    except RevisionNotFoundError as exc:
        raise RefusedToServeError(
            f"{what}: the registry has no such package version", repo_id=repo_id, revision=revision
        ) from exc
    except (SnapshotNotFoundError, HubAccessError) as exc:
        hint = ""
        if token is None:
            hint = (
                f" No registry token was set in ${token_env}: give the deployment one as a "
                f"Space secret from a ZenML secret, e.g. space_secrets: "
                f"{{{token_env}: '{{{{registry_read.token}}}}'}}."
            )
        raise RefusedToServeError(
            f"{what}: {str(exc).rstrip('.')}.{hint}", repo_id=repo_id, revision=revision
        ) from exc
    except (HfRegistryError, OSError) as exc:
        raise RefusedToServeError(f"{what}: {exc}", repo_id=repo_id, revision=revision) from exc
    if record.registry_revision != revision:
        raise RefusedToServeError(
            f"{what}: the registry answered commit {record.registry_revision} instead",
            repo_id=repo_id,
            revision=revision,
        )
    if sha256 is not None and record.sha256 != sha256:
        raise RefusedToServeError(
            f"{what}: the registry's package sha256 is {record.sha256}, the deployment pins "
            f"{sha256}. Deploy with the record of the package you mean to serve.",
            repo_id=repo_id,
            revision=revision,
        )
    logger.info(
        "Serving %s (registry commit %s, package sha256 %s), verified",
        record.name,
        record.registry_revision,
        record.sha256,
    )
    return ServedSnapshot(record=record, path=folder)
