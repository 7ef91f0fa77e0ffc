"""Where snapshots come from and go to, and the typed record of a published package."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["HubTarget", "PackageEntry", "PackageRecord", "PackageVersion", "RegistryTarget"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
BUILDKITE_PACKAGES = "https://packages.buildkite.com"
BUILDKITE_API = "https://api.buildkite.com"


def _http_url(value: str, field: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{field}: {value!r} is not an http(s) URL")
    return value.rstrip("/")


class HubTarget(BaseModel):
    """A Hub to read snapshots from: its endpoint and a token (None: anonymous)."""

    model_config = ConfigDict(frozen=True)

    endpoint: str = "https://huggingface.co"
    token: str | None = Field(default=None, repr=False)

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "endpoint")


class RegistryTarget(BaseModel):
    """A Buildkite-style registry: `{org}/{registry}`, its Hub-protocol endpoint and token."""

    model_config = ConfigDict(frozen=True)

    org: str
    registry: str
    token: str | None = Field(default=None, repr=False)
    endpoint: str | None = Field(
        default=None,
        description="Hub-protocol endpoint; default "
        "https://packages.buildkite.com/{org}/{registry}/huggingface.",
    )
    api_url: str | None = Field(
        default=None,
        description="Base of the package REST API; default https://api.buildkite.com, or the "
        "endpoint's server for other hosts.",
    )
    api_token: str | None = Field(
        default=None, repr=False, description="Token for the REST API; default `token`."
    )

    @field_validator("org", "registry")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an organization or registry slug (lowercase letters, digits "
                "and '-', starting with a letter or digit)"
            )
        return value

    @field_validator("endpoint", "api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "endpoint")

    @property
    def slug(self) -> str:
        """`org/registry`."""
        return f"{self.org}/{self.registry}"

    @property
    def hub_endpoint(self) -> str:
        """The endpoint `HfApi` and `hf` use."""
        return self.endpoint or f"{BUILDKITE_PACKAGES}/{self.org}/{self.registry}/huggingface"

    @property
    def rest_base(self) -> str:
        """Base URL of the package listing API."""
        if self.api_url:
            return self.api_url
        parsed = urlparse(self.hub_endpoint)
        if parsed.netloc == urlparse(BUILDKITE_PACKAGES).netloc:
            return BUILDKITE_API
        return f"{parsed.scheme}://{parsed.netloc}"


class PackageEntry(BaseModel):
    """One file of a published snapshot."""

    path: str
    size: int
    sha256: str | None = Field(default=None, description="For LFS files.")
    git_oid: str | None = Field(default=None, description="For regular files.")


class PackageVersion(BaseModel):
    """One package in a registry's listing, with the source commit it holds."""

    id: str
    name: str = Field(description="`namespace/repo`.")
    version: str = Field(description="The registry's commit (the package version).")
    source_commit: str | None = Field(
        default=None,
        description="The source commit it holds; None when the registry keeps no history.",
    )
    created_at: str | None = None


class PackageRecord(BaseModel):
    """A model snapshot published to a registry, pinned to its source commit."""

    name: str = Field(description="`namespace/repo@<source commit SHA>`.")
    repo_id: str
    revision: str = Field(description="The source commit SHA the package holds.")
    registry: str = Field(description="`org/registry`.")
    registry_endpoint: str
    registry_revision: str = Field(description="The registry's commit (the package version).")
    package_id: str | None = None
    file_name: str
    size: int = Field(description="Size in bytes of the package archive.")
    md5: str
    sha1: str
    sha256: str
    sha512: str
    files: list[PackageEntry]
    pushed_at: datetime | None = None
    visibility: str | None = None
    uploaded_bytes: int = Field(default=0, description="Bytes this publish sent (0: reused).")
    install_command: str

    @property
    def total_file_bytes(self) -> int:
        """Sum of the snapshot's file sizes."""
        return sum(entry.size for entry in self.files)
