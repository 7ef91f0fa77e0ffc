"""Errors of zenml-hf-registry, with their context as attributes.

    HfRegistryError
    ├── ConfigurationError           bad input, found before any side effect
    │   └── InvalidSpaceIdError      (space_id, reason)
    ├── HubAccessError               the Hub refused the token: 401/403 (endpoint)
    ├── HubUnavailableError          network errors, 429 and 5xx after retries (endpoint)
    └── SpaceError                   a Space operation failed (space_id)

The deployer translates these into ZenML's `DeployerError` family at its boundary. Messages
never contain tokens.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "HfRegistryError",
    "HubAccessError",
    "HubUnavailableError",
    "InvalidSpaceIdError",
    "SpaceError",
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
