"""Space stages -> ZenML deployment statuses, in named groups."""

from __future__ import annotations

from zenml.enums import DeploymentStatus

__all__ = ["BUILDING", "FAILED", "RUNNING", "STOPPED", "deployment_status"]

# The app is being built or started; the new version is not live yet.
BUILDING = frozenset(
    {"NO_APP_FILE", "BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"}
)
# Serving (a sleeping Space wakes on its first request).
RUNNING = frozenset({"RUNNING", "SLEEPING"})
# Broken until the next deploy; `errorMessage` says why.
FAILED = frozenset({"CONFIG_ERROR", "BUILD_ERROR", "RUNTIME_ERROR"})
# The Space exists but does not run: `zenml deployment provision` restarts it. Never ABSENT,
# which would make ZenML forget the Space id and orphan a Space that may be paid for.
STOPPED = frozenset({"PAUSED", "STOPPED", "DELETING"})


def deployment_status(stage: str) -> DeploymentStatus:
    """The ZenML status of a Space stage (before the app's own health check)."""
    if stage in RUNNING:
        return DeploymentStatus.RUNNING
    if stage in BUILDING:
        return DeploymentStatus.PENDING
    if stage in FAILED:
        return DeploymentStatus.ERROR
    return DeploymentStatus.UNKNOWN
