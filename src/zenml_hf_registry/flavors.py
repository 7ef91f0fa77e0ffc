"""The Hugging Face deployer flavor: config, per-pipeline settings, and the flavor classes.

Declarative and light: it imports ZenML's base classes only; the implementation is imported
when ZenML asks for it. Two flavor names point at the same deployer:

- `huggingface` replaces ZenML's built-in flavor of that name whenever this package is
  installed (see `zenml_hf_registry._override`); existing components keep their config keys.
- `huggingface-spaces` is registered explicitly with `zenml deployer flavor register
  zenml_hf_registry.flavors.HuggingFaceSpacesDeployerFlavor`, for ZenML servers that cannot
  import this package.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from zenml.deployers.base_deployer import (
    BaseDeployerConfig,
    BaseDeployerFlavor,
    BaseDeployerSettings,
)
from zenml.models import FlavorRequest
from zenml.utils.secret_utils import SecretField, is_secret_reference

if TYPE_CHECKING:
    from zenml_hf_registry.deployer.deployer import HuggingFaceDeployer

__all__ = [
    "HUGGINGFACE_FLAVOR",
    "SPACES_FLAVOR",
    "HuggingFaceDeployerConfig",
    "HuggingFaceDeployerFlavor",
    "HuggingFaceDeployerSettings",
    "HuggingFaceSpacesDeployerFlavor",
    "SpaceVolume",
]

HUGGINGFACE_FLAVOR = "huggingface"
SPACES_FLAVOR = "huggingface-spaces"
DEFAULT_ENDPOINT = "https://huggingface.co"

# The hardware names of huggingface_hub 2.4 (`SpaceHardware`), kept here so that validating a
# config does not import huggingface_hub; a unit test checks the two lists stay equal.
SPACE_HARDWARE = (
    "cpu-basic", "cpu-upgrade", "zero-a10g", "t4-small", "t4-medium", "l4x1", "l4x4",
    "l40sx1", "l40sx4", "l40sx8", "a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4",
    "a100-large", "a100x4", "a100x8", "rtx-pro-6000", "rtx-pro-6000x2", "rtx-pro-6000x4",
    "rtx-pro-6000x8",
)  # fmt: skip
# The retired persistent storage tiers: still accepted by `space_storage`, all meaning the
# same Storage Bucket (see `HuggingFaceDeployerSettings.space_storage`).
SPACE_STORAGE = ("small", "medium", "large")
STORAGE_MOUNT_PATH = "/data"
VOLUME_TYPES = ("bucket", "model", "dataset", "space")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPO_ID_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
# Mount paths that would hide what the app needs: the system, ZenML's image code (/app) and
# the Hub's app folder with the user's home above it.
_RESERVED_MOUNTS = ("/proc", "/sys", "/dev", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc")
_APP_FOLDERS = ("/app", "/home/user/app")


def _overlap(a: str, b: str) -> bool:
    """Whether one mount path is the other or inside it."""
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


class SpaceVolume(BaseModel):
    """A volume mounted in the Space, as huggingface_hub's `Volume` describes it.

    A Storage Bucket (read-write unless `read_only`) or a model, dataset or Space repo (always
    read-only). The deployer pins a repo volume to a commit at deploy time: a branch, a tag or
    no `revision` (the default branch) is resolved to the commit it points to then.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bucket", "model", "dataset", "space"] = Field(
        description="What is mounted: a Storage Bucket or a model, dataset or Space repo."
    )
    source: str = Field(description="The bucket or repo id, `namespace/name`.")
    mount_path: str = Field(description="Absolute path in the Space, e.g. `/model`.")
    revision: str | None = Field(
        default=None,
        description="Repos only: a branch, tag or commit; pinned to its commit at deploy "
        "time. None: the default branch's head at deploy time.",
    )
    read_only: bool | None = Field(
        default=None,
        description="Buckets: mount read-only (default read-write). Repos are always "
        "read-only; `false` is refused.",
    )
    path: str | None = Field(
        default=None, description="Mount only this folder of the bucket or repo."
    )

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        parts = value.split("/")
        if len(parts) != 2 or not all(_REPO_ID_PART.fullmatch(p) for p in parts):
            raise ValueError(
                f"space_volumes: source {value!r} is not a bucket or repo id `namespace/name`"
            )
        return value

    @field_validator("mount_path")
    @classmethod
    def _mount_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(
                f"space_volumes: mount_path {value!r} must be an absolute path such as /model"
            )
        if "\0" in value or any(part in (".", "..") for part in value.split("/")):
            raise ValueError(f"space_volumes: mount_path {value!r} has '.' or '..' segments")
        path = posixpath.normpath(value)
        if path == "/" or any(path == r or path.startswith(r + "/") for r in _RESERVED_MOUNTS):
            raise ValueError(
                f"space_volumes: mount_path {value!r} would hide system files; use a folder "
                "of its own such as /model or /data"
            )
        if any(_overlap(path, app) for app in _APP_FOLDERS):
            raise ValueError(
                f"space_volumes: mount_path {value!r} would hide the app's code "
                f"({' and '.join(_APP_FOLDERS)}); use a folder of its own such as /model"
            )
        return path

    @field_validator("path")
    @classmethod
    def _sub_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        stripped = value.strip("/")
        if not stripped or any(part in ("", ".", "..") for part in stripped.split("/")):
            raise ValueError(
                f"space_volumes: path {value!r} must be a folder inside the source, "
                "without '.' or '..' segments"
            )
        return stripped

    @model_validator(mode="after")
    def _repo_rules(self) -> SpaceVolume:
        if self.type == "bucket":
            if self.revision is not None:
                raise ValueError(
                    f"space_volumes: the bucket {self.source} at {self.mount_path} has a "
                    "revision; buckets have no history, only repos take a revision"
                )
        elif self.read_only is False:
            raise ValueError(
                f"space_volumes: the {self.type} {self.source} at {self.mount_path} is "
                "read_only: false; repos are always mounted read-only (write to a bucket "
                "volume instead)"
            )
        return self

    @property
    def writable(self) -> bool:
        """Only a bucket not asked to be read-only may be written."""
        return self.type == "bucket" and not self.read_only


def _check_mounts(volumes: list[SpaceVolume], storage: bool) -> None:
    """Refuse two volumes at one path, or one inside another (one would hide the other)."""
    mounts = [(v.mount_path, f"{v.type} {v.source}") for v in volumes]
    if storage:
        mounts.append((STORAGE_MOUNT_PATH, "the space_storage bucket"))
    for i, (path, what) in enumerate(mounts):
        for other_path, other in mounts[i + 1 :]:
            if _overlap(path, other_path):
                raise ValueError(
                    f"space_volumes: {what} at {path} and {other} at {other_path} overlap; "
                    "give each volume a folder of its own"
                )


def _check_keys(value: dict[str, str], field: str) -> dict[str, str]:
    for key in value:
        if not _ENV_KEY.fullmatch(key):
            raise ValueError(
                f"{field}: {key!r} is not a valid environment variable name "
                "(letters, digits and underscores, not starting with a digit)"
            )
        if key.startswith("ZENML_"):
            raise ValueError(f"{field}: {key!r} is reserved; ZenML sets ZENML_* values itself")
    return value


class HuggingFaceDeployerSettings(BaseDeployerSettings):
    """Per-pipeline settings of a Hugging Face Space deployment.

    Set them on the deployer component, or per pipeline with
    `settings={"deployer": HuggingFaceDeployerSettings(...)}`.
    """

    # A refused value (a plain secret, a token) must not be echoed back in the error.
    model_config = ConfigDict(hide_input_in_errors=True)

    space_hardware: str | None = Field(
        default=None,
        description="Space hardware, one of huggingface_hub's names (cpu-basic, cpu-upgrade, "
        "t4-small, t4-medium, l4x1, a10g-small, a100-large, ...). None keeps the Hub's default, "
        "cpu-basic.",
    )
    space_storage: bool | Literal["small", "medium", "large"] | None = Field(
        default=None,
        description="Persistent storage: true mounts the Storage Bucket "
        "`{namespace}/{space name}-data` read-write at /data, created if missing and kept "
        "when the Space is deleted (see delete_storage_bucket_on_delete). The Hub's storage "
        "tiers are gone: 'small', 'medium' and 'large' are accepted and mean true, with a "
        "warning. None or false: no bucket (ephemeral disk).",
    )
    space_volumes: list[SpaceVolume] = Field(
        default_factory=list,
        description="Volumes mounted in the Space, as huggingface_hub's `Volume`: "
        "`{type: bucket|model|dataset|space, source: namespace/name, mount_path: /abs/path, "
        "revision?, read_only?, path?}`. Repo volumes are read-only and pinned to the commit "
        "their revision (default: the default branch) points to at deploy time.",
    )
    delete_storage_bucket_on_delete: bool = Field(
        default=False,
        description="Also delete the space_storage bucket (and its data) when the deployment "
        "is deleted. By default the bucket outlives the Space.",
    )
    private: bool = Field(
        default=False,
        description="Create a private Space: only tokens that may read it get through the "
        "Hub's gate. Invoke it with `zenml-hf-registry invoke`, which sends your HF token.",
    )
    app_port: int = Field(
        default=7860,
        ge=1,
        le=65535,
        description="Port the ZenML app listens on inside the Space (README `app_port`).",
    )
    sleep_time: int | None = Field(
        default=None,
        ge=-1,
        description="Seconds of inactivity before the Space sleeps (-1: never). Paid hardware "
        "only; cpu-basic Spaces always sleep after 48 h.",
    )
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment for the app. Plain values are set as Space variables "
        "(public on public Spaces); values given as ZenML secret references, "
        "`{{secret_name.key}}`, are resolved at deploy time and set as Space secrets.",
    )
    space_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Extra secrets for the app, each a ZenML secret reference such as "
        "`{MY_API_KEY: '{{my_secret.api_key}}'}`, resolved at deploy time and set as a Space "
        "secret (an environment variable at run time). Plain values are refused: they would "
        "be stored in the pipeline snapshot.",
    )
    verify_image: bool = Field(
        default=True,
        description="Before anything changes, check that the Space can pull the image "
        "anonymously (Spaces hold no registry credentials) and pin the Space's FROM line to "
        "the image's digest. Turn off only for a Hub that pulls no images, such as the local "
        "Hub's process runtime.",
    )
    build_in_space: bool = Field(
        default=False,
        description="Let the Space build the pipeline image: ZenML's build context (its "
        "Dockerfile, the requirements and the source root, honouring .dockerignore) is "
        "committed to the Space repo, so no container registry and no local Docker are "
        "needed. The code is then as visible as the Space: keep it private for private code.",
    )
    build_context_limit_mb: int = Field(
        default=100,
        ge=1,
        description="Largest build context build_in_space commits to a Space, in MiB.",
    )
    allow_unauthenticated: bool = Field(
        default=False,
        description="Serve a public Space without an auth key. By default a public Space with "
        "no `auth_key` gets a generated one.",
    )

    @field_validator("space_hardware")
    @classmethod
    def _known_hardware(cls, value: str | None) -> str | None:
        if value is not None and value not in SPACE_HARDWARE:
            raise ValueError(
                f"space_hardware: {value!r} is not a Space hardware name; "
                f"use one of {', '.join(SPACE_HARDWARE)}"
            )
        return value

    @field_validator("space_storage", mode="before")
    @classmethod
    def _storage(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"  # as a CLI option (`--space_storage=true`)
        if value is None or isinstance(value, bool) or value in SPACE_STORAGE:
            return value
        raise ValueError(
            "space_storage: use true to mount the Storage Bucket {namespace}/{space name}-data "
            "at /data (the retired tiers 'small', 'medium' or 'large' are accepted and mean "
            "true), or false for none"
        )

    @property
    def wants_storage_bucket(self) -> bool:
        """Whether `space_storage` asks for the Storage Bucket at /data."""
        return self.space_storage is not None and self.space_storage is not False

    @field_validator("environment")
    @classmethod
    def _environment_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_keys(value, "environment")

    @field_validator("space_secrets")
    @classmethod
    def _secret_keys(cls, value: dict[str, str]) -> dict[str, str]:
        _check_keys(value, "space_secrets")
        for key, secret in value.items():
            if not is_secret_reference(secret):
                raise ValueError(
                    f"space_secrets: {key!r} holds a plain value, which would be stored in the "
                    "pipeline snapshot for anyone who can read it. Put it in a ZenML secret "
                    f"(`zenml secret create my_secret --{key.lower()}=...`) and reference it: "
                    f"space_secrets: {{{key}: '{{{{my_secret.{key.lower()}}}}}'}}"
                )
        return value

    @model_validator(mode="after")
    def _distinct_mounts(self) -> HuggingFaceDeployerSettings:
        _check_mounts(self.space_volumes, self.wants_storage_bucket)
        return self

    @model_validator(mode="after")
    def _private_excludes_auth_key(self) -> HuggingFaceDeployerSettings:
        if self.private and self.auth_key:
            raise ValueError(
                "auth_key: a private Space is guarded by the Hub's gate, which reads the same "
                "Authorization header as ZenML's auth key; set private or auth_key, not both"
            )
        return self

    def with_secure_default(self) -> HuggingFaceDeployerSettings:
        """These settings with the auth-key default applied (on the merged settings only).

        A public Space is reachable by anyone who finds its URL, so it gets a generated key
        unless the user opted out; a private Space is guarded by the Hub's gate instead (and
        cannot carry a key, see above).
        """
        if self.private:
            return self.model_copy(update={"generate_auth_key": False})
        if not self.auth_key and not self.allow_unauthenticated:
            return self.model_copy(update={"generate_auth_key": True})
        return self


class HuggingFaceDeployerConfig(BaseDeployerConfig, HuggingFaceDeployerSettings):
    """Configuration of the Hugging Face deployer component."""

    model_config = ConfigDict(hide_input_in_errors=True)

    token: str | None = SecretField(
        default=None,
        description="Hugging Face token with write access, as a ZenML secret reference "
        "(`{{hf_token.token}}`), or use `secret_name`. A plain token is refused: it would be "
        "stored in the component's configuration, which `zenml deployer describe` shows.",
    )
    secret_name: str | None = Field(
        default=None,
        description="Name of a ZenML secret holding the token under the key `token`.",
    )
    organization: str | None = Field(
        default=None,
        description="Namespace of the Spaces; default: the token's user.",
    )
    space_prefix: str = Field(
        default="zenml",
        description="Prefix of Space names: `{prefix}-{deployment}-{id8}`, at most 96 characters.",
    )
    endpoint: str = Field(
        default=DEFAULT_ENDPOINT,
        description="Hub endpoint: https://huggingface.co, a self-hosted Hub, or the local Hub "
        "(`zenml-hf-registry hub serve`).",
    )

    @model_validator(mode="before")
    @classmethod
    def _token_is_a_reference(cls, data: Any) -> Any:
        # A model validator (not a field validator): ZenML refuses secret references for
        # fields that have their own validators, and the reference is what is wanted here.
        token = data.get("token") if isinstance(data, dict) else None
        if token is not None and not is_secret_reference(token):
            raise ValueError(
                "token: a plain token would be stored in the deployer's configuration, where "
                "`zenml deployer describe` shows it. Store it as a ZenML secret "
                "(`zenml secret create hf_token --token=<HF token>`) and use "
                "--secret_name=hf_token or --token='{{hf_token.token}}'."
            )
        return data

    @field_validator("endpoint")
    @classmethod
    def _endpoint_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                f"endpoint: {value!r} is not an http(s) URL such as https://huggingface.co"
            )
        if parsed.query or parsed.fragment:
            raise ValueError(f"endpoint: {value!r} must not have a query or fragment")
        return value.rstrip("/")

    @field_validator("space_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        from zenml_hf_registry.deployer.naming import sanitize

        if not sanitize(value):
            raise ValueError(f"space_prefix: {value!r} has no letters or digits; use e.g. 'zenml'")
        return value

    @property
    def is_remote(self) -> bool:
        """Spaces run on the Hub, never on this machine."""
        return True


class HuggingFaceDeployerFlavor(BaseDeployerFlavor):
    """Deploy pipelines as Hugging Face Docker Spaces (flavor `huggingface`)."""

    def to_model(self, *args: Any, **kwargs: Any) -> FlavorRequest:
        """The stored flavor record, naming this class by its import path.

        ZenML resolves classes against the current source root; in a source checkout of
        this package that gives `src.zenml_hf_registry...`, which no other process imports.
        """
        model = super().to_model(*args, **kwargs)
        return model.model_copy(
            update={"source": f"{type(self).__module__}.{type(self).__qualname__}"}
        )

    @property
    def name(self) -> str:
        """The flavor name."""
        return HUGGINGFACE_FLAVOR

    @property
    def docs_url(self) -> str | None:
        """Documentation ships with the package (README), not at a URL."""
        return None

    @property
    def sdk_docs_url(self) -> str | None:
        """See `docs_url`."""
        return None

    @property
    def logo_url(self) -> str:
        """The logo shown in the dashboard."""
        return "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/deployer/huggingface.png"

    @property
    def config_class(self) -> type[HuggingFaceDeployerConfig]:
        """The config class."""
        return HuggingFaceDeployerConfig

    @property
    def implementation_class(self) -> type[HuggingFaceDeployer]:
        """The deployer, imported on demand."""
        from zenml_hf_registry.deployer.deployer import HuggingFaceDeployer

        return HuggingFaceDeployer


class HuggingFaceSpacesDeployerFlavor(HuggingFaceDeployerFlavor):
    """The same deployer under its own name, `huggingface-spaces`."""

    @property
    def name(self) -> str:
        """The flavor name."""
        return SPACES_FLAVOR
