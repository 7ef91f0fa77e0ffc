"""Settings of one local Hub: where it keeps data, whom it trusts, and its protocol limits."""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "HubSettings",
    "OrgSpec",
    "RegistrySpec",
    "TokenRole",
    "TokenSpec",
    "load_or_create_dev_token",
]

MiB = 1024 * 1024


class TokenRole(StrEnum):
    """What a token may do, as on the Hub: read everything it can see, or also write."""

    READ = "read"
    WRITE = "write"


class TokenSpec(BaseModel):
    """One access token the local Hub accepts, and who it stands for."""

    model_config = ConfigDict(frozen=True)

    token: str = Field(min_length=8, repr=False, description="The bearer token's value.")
    # Hub user names are letters, digits, '-', '_' and '.'; hub-ci's test user is
    # `__DUMMY_HUB_USER__`, so a leading underscore is allowed. (pydantic matches patterns
    # with Rust's regex, where `$` is the end of the text: no trailing newline slips through.)
    user: str = Field(default="dev", pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$")
    fullname: str | None = Field(default=None, description="Display name (whoami's `fullname`).")
    role: TokenRole = TokenRole.WRITE
    orgs: tuple[str, ...] = Field(default=(), description="Organizations the user belongs to.")

    @classmethod
    def parse(cls, spec: str) -> TokenSpec:
        """Parse `TOKEN[:USER[:ROLE[:ORG,ORG...]]]`, the form the `hub serve --token` flag takes."""
        token, _, rest = spec.partition(":")
        user, _, rest = rest.partition(":")
        role, _, orgs = rest.partition(":")
        return cls(
            token=token,
            user=user or "dev",
            role=TokenRole(role or TokenRole.WRITE),
            orgs=tuple(o for o in orgs.split(",") if o),
        )

    def can_write(self, namespace: str) -> bool:
        """Whether this token may write repos under `namespace` (its user or one of its orgs)."""
        return self.role is TokenRole.WRITE and self.may_see(namespace)

    def may_see(self, namespace: str) -> bool:
        """Whether this token may read private repos under `namespace` (`*`: every one)."""
        return namespace == self.user or namespace in self.orgs or "*" in self.orgs


_SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"


class OrgSpec(BaseModel):
    """An organization the local Hub knows beyond its name: display name and repo defaults."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$")
    fullname: str | None = Field(default=None, description="Display name (whoami's `fullname`).")
    private_by_default: bool = Field(
        default=False,
        description="New repos are private unless asked otherwise, as in Enterprise orgs.",
    )


class RegistrySpec(BaseModel):
    """A Buildkite-style package registry served at `/{org}/{name}/huggingface`."""

    model_config = ConfigDict(frozen=True)

    org: str = Field(pattern=_SLUG, description="Organization slug.")
    name: str = Field(pattern=_SLUG, description="Registry slug.")
    private: bool = Field(default=True, description="Private registries refuse anonymous reads.")
    tokens: tuple[TokenSpec, ...] = Field(
        default=(), description="Registry tokens; each may read (or write) every repo in it."
    )

    @property
    def realm(self) -> str:
        """The realm key of this registry's repos."""
        return f"{self.org}/{self.name}"

    def authenticate(self, token: str) -> TokenSpec | None:
        """The registry token with this value, scoped to all of the registry's namespaces."""
        for spec in self.tokens:
            if spec.token == token:
                return spec.model_copy(update={"orgs": ("*",)})
        return None


class HubSettings(BaseModel):
    """Everything a local Hub needs to start; `create_app(settings)` takes nothing else."""

    data_dir: Path = Field(description="Blobs, the metadata database and temporary uploads.")
    admin_token: str | None = Field(
        default=None,
        min_length=16,
        repr=False,
        description="Bearer token of the control plane (`/_emulator/*`); a random one per "
        "start when not given.",
    )
    tokens: tuple[TokenSpec, ...] = Field(
        default=(), description="Accepted tokens; none means only anonymous reads of public repos."
    )
    organizations: tuple[OrgSpec, ...] = Field(
        default=(), description="Organizations with a display name or repo defaults."
    )
    lfs_threshold: int = Field(
        default=10 * MiB,
        ge=1,
        description="Files at least this large go through LFS (the Hub uses 10 MB); binary "
        "files of any size do too.",
    )
    multipart_chunk_size: int = Field(
        default=64 * MiB, ge=5 * MiB, description="Part size offered for multipart LFS uploads."
    )
    multipart_threshold: int = Field(
        default=1024 * MiB,
        ge=1,
        description="LFS objects at least this large upload in parts (parts are joined by a "
        "second pass over the data, so smaller objects go faster in one PUT).",
    )
    max_file_size: int = Field(default=50 * 1024 * MiB, ge=1, description="Largest file accepted.")
    max_request_size: int = Field(
        default=256 * MiB,
        ge=1024,
        description="Largest non-LFS request body (commit payloads carry regular files inline).",
    )
    max_json_size: int = Field(
        default=16 * MiB,
        ge=1024,
        description="Largest body of any other route (JSON); refused before it is read.",
    )
    xet_token_ttl: int = Field(
        default=3600, ge=1, description="Seconds a Xet CAS access token is valid."
    )
    xet_upload_grace: int = Field(
        default=24 * 3600,
        ge=0,
        description="Seconds a xorb is kept after it was last uploaded or offered for "
        "de-duplication, when no file uses it: for the shard that will name it, also from a "
        "client's local shard cache.",
    )
    max_xet_shard_size: int = Field(
        default=64 * MiB, ge=1024, description="Largest Xet shard accepted (the spec's limit)."
    )
    max_xet_shard_entries: int = Field(
        default=1_000_000,
        ge=16,
        description="Most file terms plus xorb chunks one Xet shard may describe.",
    )
    tree_page_size: int = Field(default=1000, ge=1, le=10000, description="Entries per tree page.")
    registries: tuple[RegistrySpec, ...] = Field(
        default=(), description="Package registries served below `/{org}/{name}/huggingface`."
    )
    space_runtime: Literal["process", "docker"] = Field(
        default="process",
        description="How Spaces run: local processes (no Docker needed) or Docker containers.",
    )
    space_workdir: Path | None = Field(
        default=None,
        description="Working directory of process-runtime Spaces; default: the Space's files.",
    )
    space_sandbox: Literal["auto", "bubblewrap", "none"] = Field(
        default="auto",
        description="How process-runtime Spaces are isolated: `bubblewrap` (required), `auto` "
        "(bubblewrap when installed), `none` (a clean environment and own HOME only).",
    )
    space_host: str = Field(default="127.0.0.1", description="Interface Space gateways bind.")
    space_startup_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Cap on the README's startup_duration_timeout (seconds); short in tests.",
    )
    space_build_delay: float = Field(
        default=0.0,
        ge=0,
        description="Seconds every build stays in BUILDING, to observe or race the stage.",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


def load_or_create_dev_token(data_dir: Path) -> TokenSpec:
    """The data dir's development token, created on first start and kept across restarts."""
    path = Path(data_dir) / "dev-token"
    if path.exists():
        value = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = "hub_dev_" + secrets.token_urlsafe(18)
        path.write_text(value + "\n")
        path.chmod(0o600)
    return TokenSpec(token=value, user="dev", role=TokenRole.WRITE, orgs=("dev-org",))
