"""Publish model snapshots to Buildkite-style registries and pull them back (no ZenML needed)."""

from __future__ import annotations

from zenml_hf_registry.registry.models import (
    HubTarget,
    PackageEntry,
    PackageRecord,
    RegistryTarget,
)
from zenml_hf_registry.registry.publish import (
    list_packages,
    publish_snapshot,
    pull_snapshot,
    snapshot_checksums,
)
from zenml_hf_registry.registry.serving import (
    DEFAULT_TOKEN_ENV,
    ServedSnapshot,
    pull_snapshot_at_start,
)

__all__ = [
    "DEFAULT_TOKEN_ENV",
    "HubTarget",
    "PackageEntry",
    "PackageRecord",
    "RegistryTarget",
    "ServedSnapshot",
    "list_packages",
    "publish_snapshot",
    "pull_snapshot",
    "pull_snapshot_at_start",
    "snapshot_checksums",
]
