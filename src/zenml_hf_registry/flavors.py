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

import re
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import ConfigDict, Field, field_validator, model_validator
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
SPACE_STORAGE = ("small", "medium", "large")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    space_storage: Literal["small", "medium", "large"] | None = Field(
        default=None,
        description="Persistent storage tier (small 20 GB, medium 150 GB, large 1 TB). None "
        "means ephemeral disk; removing a tier deletes its data.",
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
