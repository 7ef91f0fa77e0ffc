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

__all__ = [
    "HubTarget",
    "PackageEntry",
    "PackageRecord",
    "RegistryTarget",
    "list_packages",
    "publish_snapshot",
    "pull_snapshot",
    "snapshot_checksums",
]
