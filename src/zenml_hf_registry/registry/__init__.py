"""Publish model snapshots to Buildkite-style registries and pull them back (no ZenML needed)."""

from __future__ import annotations

from zenml_hf_registry.registry.models import (
    HubTarget,
    PackageEntry,
    PackageRecord,
    PackageVersion,
    RegistryTarget,
)
from zenml_hf_registry.registry.publish import (
    describe_package,
    list_package_versions,
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
    "PackageVersion",
    "RegistryTarget",
    "ServedSnapshot",
    "describe_package",
    "list_package_versions",
    "list_packages",
    "publish_snapshot",
    "pull_snapshot",
    "pull_snapshot_at_start",
    "snapshot_checksums",
]
