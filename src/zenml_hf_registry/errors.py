"""Errors of zenml-hf-registry, with their context as attributes.

    HfRegistryError
    ├── ConfigurationError           bad input, found before any side effect
    │   └── InvalidSpaceIdError      (space_id, reason)
    │   └── SnapshotNotFoundError    (repo_id, revision): unknown repo or revision at the source
    ├── HubAccessError               the Hub refused the token: 401/403 (endpoint)
    ├── HubUnavailableError          network errors, 429 and 5xx after retries (endpoint)
    ├── SpaceError                   a Space operation failed (space_id)
    ├── PublishError                 a snapshot could not be published or verified
    │   ├── ChecksumMismatchError    (repo_id, field, expected, actual)
    │   └── UnverifiableSnapshotError (repo_id): the registry gives nothing to verify against
    ├── RefusedToServeError          (repo_id, revision): a deployment's pinned snapshot could
    │                                not be pulled or verified at start, so the app does not start
    └── UntrustedAnswerError         a server's answer is unsafe to act on (endpoint)

The deployer translates these into ZenML's `DeployerError` family at its boundary. Messages
never contain tokens.
"""

from __future__ import annotations

__all__ = [
    "ChecksumMismatchError",
    "ConfigurationError",
    "HfRegistryError",
    "HubAccessError",
    "HubUnavailableError",
    "InvalidSpaceIdError",
    "PublishError",
    "RefusedToServeError",
    "SnapshotNotFoundError",
    "SpaceError",
    "UntrustedAnswerError",
    "UnverifiableSnapshotError",
]


class HfRegistryError(Exception):
    """Base of every error this package raises."""


class ConfigurationError(HfRegistryError, ValueError):
    """Invalid input, found before anything was created or changed."""


class InvalidSpaceIdError(ConfigurationError):
    """A Space id that breaks the Hub's naming rules."""

    def __init__(self, space_id: str, reason: str) -> None:
        super().__init__(f"invalid Space id {space_id!r}: {reason}")
        self.space_id = space_id
        self.reason = reason


class HubAccessError(HfRegistryError):
    """The Hub refused the credentials (invalid, expired or read-only token)."""

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class HubUnavailableError(HfRegistryError):
    """The Hub could not be reached or kept failing (network, 429, 5xx)."""

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class SpaceError(HfRegistryError):
    """A Space operation failed."""

    def __init__(self, message: str, *, space_id: str) -> None:
        super().__init__(message)
        self.space_id = space_id


class SnapshotNotFoundError(ConfigurationError):
    """The source has no such repo or revision (or the token may not read it)."""

    def __init__(self, message: str, *, repo_id: str, revision: str) -> None:
        super().__init__(message)
        self.repo_id = repo_id
        self.revision = revision


class PublishError(HfRegistryError):
    """Publishing or pulling a snapshot failed."""

    def __init__(self, message: str, *, repo_id: str) -> None:
        super().__init__(message)
        self.repo_id = repo_id


class ChecksumMismatchError(PublishError):
    """What the registry holds is not what was sent, or the cached snapshot is not the source's."""

    def __init__(
        self,
        *,
        repo_id: str,
        field: str,
        expected: str,
        actual: str,
        holder: str = "the registry",
        hint: str = "",
    ) -> None:
        super().__init__(
            f"{repo_id}: {field} mismatch: expected {expected}, {holder} has {actual}"
            + (f". {hint}" if hint else ""),
            repo_id=repo_id,
        )
        self.field = field
        self.expected = expected
        self.actual = actual


class UnverifiableSnapshotError(PublishError):
    """The registry's package record carries no checksums: nothing proves the files are right."""


class RefusedToServeError(HfRegistryError):
    """A deployment's pinned snapshot could not be pulled or verified when the app started: it
    serves nothing rather than a model nobody verified. The cause is chained (`__cause__`)."""

    def __init__(self, message: str, *, repo_id: str, revision: str) -> None:
        super().__init__(message)
        self.repo_id = repo_id
        self.revision = revision


class UntrustedAnswerError(HfRegistryError):
    """A server answered something unsafe to act on (a commit id that is not one, a path
    outside the target): nothing is written."""

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint
