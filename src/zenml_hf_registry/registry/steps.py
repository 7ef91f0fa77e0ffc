"""ZenML steps that publish a model snapshot to a registry and pull it back.

Thin wrappers: tokens come from ZenML secrets (key `token`), the work is `publish_snapshot` /
`pull_snapshot`, and the record becomes an artifact with its facts as metadata (never a
token). When the pipeline runs with a ZenML Model, the metadata lands on its version too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.exceptions import StepContextError

from zenml_hf_registry.registry.models import HubTarget, PackageRecord, RegistryTarget
from zenml_hf_registry.registry.publish import publish_snapshot, pull_snapshot

__all__ = ["publish_model_snapshot", "pull_model_snapshot"]


def _secret_token(name: str | None) -> str | None:
    if not name:
        return None
    try:
        secret = Client().get_secret(name)
    except KeyError as exc:
        raise ValueError(
            f"The ZenML secret {name!r} does not exist; create it with "
            f"`zenml secret create {name} --token=<token>`."
        ) from exc
    token = secret.secret_values.get("token")
    if not token:
        raise ValueError(f"The ZenML secret {name!r} has no key `token`.")
    return str(token)


def _registry(
    registry: str, endpoint: str | None, api_url: str | None, secret: str | None
) -> RegistryTarget:
    org, sep, name = registry.partition("/")
    if not sep:
        raise ValueError(f"registry: {registry!r} is not ORG/REGISTRY")
    return RegistryTarget(
        org=org, registry=name, token=_secret_token(secret), endpoint=endpoint, api_url=api_url
    )


def _metadata(record: PackageRecord) -> dict[str, Any]:
    return {
        "package": record.name,
        "registry": record.registry,
        "registry_revision": record.registry_revision,
        "source_revision": record.revision,
        "file_name": record.file_name,
        "size_bytes": record.size,
        "md5": record.md5,
        "sha1": record.sha1,
        "sha256": record.sha256,
        "sha512": record.sha512,
        "files": len(record.files),
        "install_command": record.install_command,
    }


def _log(record: PackageRecord, output: str) -> None:
    metadata = _metadata(record)
    log_metadata(metadata=metadata, artifact_name=output, infer_artifact=True)
    try:
        get_step_context().model  # noqa: B018 - raises when the run has no Model
    except StepContextError:
        return
    log_metadata(metadata={output: metadata}, infer_model=True)


@step
def publish_model_snapshot(
    repo_id: str,
    registry: str,
    revision: str = "main",
    registry_endpoint: str | None = None,
    registry_api_url: str | None = None,
    registry_secret: str | None = "registry_token",  # noqa: S107 - a secret name
    source_endpoint: str = "https://huggingface.co",
    source_secret: str | None = None,
) -> Annotated[PackageRecord, "package_record"]:
    """Publish `repo_id@revision` from the source Hub to `registry` (ORG/REGISTRY).

    Args:
        repo_id: `namespace/repo` on the source Hub.
        registry: `org/registry`.
        revision: Branch, tag or commit; the record pins the commit SHA.
        registry_endpoint: Hub-protocol endpoint of the registry (default: Buildkite's).
        registry_api_url: Base URL of the registry's package REST API.
        registry_secret: ZenML secret with the registry token under `token`.
        source_endpoint: The source Hub.
        source_secret: ZenML secret with the source Hub token (None: anonymous).

    Returns:
        The package record.
    """
    record = publish_snapshot(
        repo_id,
        revision=revision,
        source=HubTarget(endpoint=source_endpoint, token=_secret_token(source_secret)),
        registry=_registry(registry, registry_endpoint, registry_api_url, registry_secret),
    )
    _log(record, "package_record")
    return record


@step
def pull_model_snapshot(
    repo_id: str,
    registry: str,
    revision: str | None = None,
    local_dir: str | None = None,
    registry_endpoint: str | None = None,
    registry_api_url: str | None = None,
    registry_secret: str | None = "registry_token",  # noqa: S107 - a secret name
) -> tuple[Annotated[str, "snapshot_path"], Annotated[PackageRecord, "pulled_record"]]:
    """Download a published snapshot, verify its checksums, and return where it is.

    Args:
        repo_id: `namespace/repo` in the registry.
        registry: `org/registry`.
        revision: Registry revision (package version); default the latest.
        local_dir: Download into this folder instead of the Hugging Face cache.
        registry_endpoint: Hub-protocol endpoint of the registry (default: Buildkite's).
        registry_api_url: Base URL of the registry's package REST API.
        registry_secret: ZenML secret with the registry token under `token`.

    Returns:
        The snapshot's local path and its record.
    """
    record, folder = pull_snapshot(
        repo_id,
        registry=_registry(registry, registry_endpoint, registry_api_url, registry_secret),
        revision=revision,
        local_dir=Path(local_dir) if local_dir else None,
    )
    _log(record, "pulled_record")
    return str(folder), record
