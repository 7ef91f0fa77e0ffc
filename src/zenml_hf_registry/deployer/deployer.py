"""The Hugging Face deployer: ZenML's `ContainerizedDeployer` hooks over `SpaceOperator`.

The `do_*` methods translate between ZenML objects and the plain Space classes in `space.py`;
the Space logic itself lives there. Errors of the Hub become ZenML `DeployerError`s here, and
only here.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import click
import requests
from huggingface_hub import Volume
from huggingface_hub.errors import RepositoryNotFoundError
from pydantic import BaseModel, Field
from zenml.client import Client
from zenml.deployers.containerized_deployer import ContainerizedDeployer
from zenml.deployers.exceptions import (
    DeployerError,
    DeploymentDeprovisionError,
    DeploymentNotFoundError,
    DeploymentProvisionError,
)
from zenml.deployers.server.entrypoint_configuration import DEPLOYMENT_ID_OPTION
from zenml.entrypoints.base_entrypoint_configuration import ENTRYPOINT_CONFIG_SOURCE_OPTION
from zenml.enums import DeploymentStatus
from zenml.logger import get_logger
from zenml.models import DeploymentOperationalState, DeploymentResponse, DeploymentUpdate
from zenml.stack.stack_validator import StackValidator
from zenml.utils import secret_utils
from zenml.utils.pipeline_docker_image_builder import DEFAULT_DOCKER_PARENT_IMAGE

from zenml_hf_registry._version import __version__
from zenml_hf_registry.deployer.entrypoint import (
    APP_PORT_ENV,
    ENTRYPOINT_SOURCE,
    SpaceEntrypointConfiguration,
)
from zenml_hf_registry.deployer.fingerprint import snapshot_fingerprint
from zenml_hf_registry.deployer.launch import DEPLOYMENT_SECRET
from zenml_hf_registry.deployer.logs import check_tail, failure_cause, last_lines, plain_line
from zenml_hf_registry.deployer.naming import space_id_for, storage_bucket_for
from zenml_hf_registry.deployer.space import (
    ROTATING_SECRETS,
    SpaceOperator,
    SpaceSpec,
    check_write_access,
    plan_space,
)
from zenml_hf_registry.deployer.space_build import read_build_context, zenml_build_context
from zenml_hf_registry.deployer.status import FAILED, STOPPED, deployment_status
from zenml_hf_registry.errors import ConfigurationError, HfRegistryError, HubUnavailableError
from zenml_hf_registry.flavors import (
    STORAGE_MOUNT_PATH,
    HuggingFaceDeployerConfig,
    HuggingFaceDeployerSettings,
)
from zenml_hf_registry.hub_client import hub_errors, make_api
from zenml_hf_registry.images import (
    ImageNotPublicError,
    ImageReference,
    private_registry_kind,
    probe_public_image,
    validate_image_reference,
)

if TYPE_CHECKING:
    from uuid import UUID

    from zenml.config.base_settings import BaseSettings
    from zenml.config.build_configuration import BuildConfiguration
    from zenml.models import PipelineSnapshotBase, PipelineSnapshotResponse
    from zenml.stack import Stack

__all__ = ["HuggingFaceDeployer", "InvalidTailError", "SpaceMetadata"]

logger = get_logger(__name__)

_LOG_LINES_ON_ERROR = 20
# (endpoint, organization, token digest) -> namespace, for checks passed in this process.
_ACCESS_CHECKED: dict[tuple[str, str | None, str], str] = {}
# The files the deployer writes into every Space; a build context's files of these names
# give way to them.
_SPACE_FILES = ("README.md", "Dockerfile")
# `space_storage` tiers are a thing of the past: say so once per process, not per deploy.
_tier_warning_given = False


def _warn_about_tiers(tier: str, bucket_id: str) -> None:
    global _tier_warning_given
    if _tier_warning_given:
        return
    _tier_warning_given = True
    logger.warning(
        "space_storage: %r: the Hub's persistent storage tiers no longer exist. It now means "
        "the Storage Bucket %s mounted read-write at %s (buckets are not tiered by size). "
        "Set space_storage: true to keep this without the warning.",
        tier,
        bucket_id,
        STORAGE_MOUNT_PATH,
    )


def wanted_volumes(settings: HuggingFaceDeployerSettings, bucket: str | None) -> list[Volume]:
    """The volumes the settings ask for, as huggingface_hub's `Volume` (repos not pinned
    yet), with `bucket` (the `space_storage` bucket, if any) at /data."""
    volumes = [
        Volume(
            type=v.type,
            source=v.source,
            mount_path=v.mount_path,
            revision=v.revision,
            # The Hub mounts repos read-only whatever is asked: say so, so that its answer
            # compares equal to the request.
            read_only=True if v.type != "bucket" else (v.read_only or None),
            path=v.path,
        )
        for v in settings.space_volumes
    ]
    if bucket is not None:
        volumes.append(Volume(type="bucket", source=bucket, mount_path=STORAGE_MOUNT_PATH))
    return volumes


def is_reference(value: str) -> bool:
    """Whether `value` is a ZenML secret reference, `{{secret_name.key}}`."""
    return bool(secret_utils.is_secret_reference(value))


def resolve_secret_references(values: dict[str, str], setting: str) -> dict[str, str]:
    """`values` with each `{{secret_name.key}}` replaced by the secret's value.

    Raises ConfigurationError naming the setting, key and secret (never a value) when the
    secret or its key does not exist.
    """
    resolved = {}
    for key, value in values.items():
        if not is_reference(value):
            resolved[key] = value
            continue
        reference = secret_utils.parse_secret_reference(value)
        try:
            secret = Client().get_secret_by_name_and_private_status(name=reference.name)
        except (KeyError, NotImplementedError) as exc:
            raise ConfigurationError(
                f"{setting}.{key}: the ZenML secret {reference.name!r} does not exist; create "
                f"it with `zenml secret create {reference.name} --{reference.key}=...`."
            ) from exc
        if reference.key not in secret.secret_values:
            raise ConfigurationError(
                f"{setting}.{key}: the ZenML secret {reference.name!r} has no key "
                f"{reference.key!r} (its keys: {', '.join(sorted(secret.secret_values))})."
            )
        resolved[key] = str(secret.secret_values[reference.key])
    return resolved


def deployment_secret(
    *, arguments: list[str], environment: dict[str, str], auth_key: str | None
) -> tuple[str, str]:
    """The `ZENML_HF_DEPLOYMENT` secret the launcher unpacks, and what its digest is taken of.

    The digest input leaves out ZenML's API token, which is new at every provision without
    meaning anything new (the old one stays valid), and adds a digest of the auth key, which
    the app reads from ZenML when it starts: a new key must restart it.
    """
    bundle = json.dumps({"arguments": arguments, "environment": environment}, sort_keys=True)
    stable = {k: v for k, v in environment.items() if k not in ROTATING_SECRETS}
    auth = hashlib.sha256(auth_key.encode()).hexdigest() if auth_key else None
    digest_input = json.dumps(
        {"arguments": arguments, "environment": stable, "auth_key": auth}, sort_keys=True
    )
    return bundle, digest_input


class InvalidTailError(DeployerError, click.BadParameter):
    """A negative `--tail`: a `DeployerError` to Python callers, a usage error to click.

    `zenml deployment logs` reads the log generator without catching anything; click shows its
    own exceptions as one line (`Error: Invalid value for '--tail': ...`, exit code 2).
    """


class SpaceMetadata(BaseModel):
    """What the deployer records about a deployment's Space (never secret values)."""

    space_id: str
    endpoint: str
    space_url: str = Field(description="The Space's page on the Hub.")
    app_url: str | None = None
    private: bool = False
    stage: str | None = None
    hardware: str | None = None
    storage_bucket: str | None = Field(
        default=None,
        description="The space_storage bucket; it outlives the Space unless "
        "delete_storage_bucket_on_delete is set.",
    )
    volumes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The volumes the deployer mounted, repos pinned to their commit, as the "
        "Hub takes them (`Volume.to_dict()`).",
    )
    error_message: str | None = None
    last_log_lines: list[str] = Field(default_factory=list)
    secret_digests: dict[str, str] = Field(default_factory=dict)
    managed_variables: list[str] = Field(default_factory=list)
    image: str | None = Field(
        default=None,
        description="The FROM image: the pipeline image, or with build_in_space its parent.",
    )
    built_in_space: bool = False
    managed_files: list[str] = Field(
        default_factory=list, description="Space files the deployer wrote (and may delete)."
    )
    stale_space_ids: list[str] = Field(
        default_factory=list, description="Spaces of an earlier name, deleted after a rename."
    )
    snapshot_fingerprint: str | None = Field(
        default=None,
        description="Digest of what determines the served app's behaviour (see fingerprint.py).",
    )
    serving_snapshot_id: str | None = Field(
        default=None,
        description="The snapshot the app was started with; an equivalent newer snapshot of "
        "the deployment does not restart it.",
    )

    @classmethod
    def from_deployment(cls, deployment: DeploymentResponse) -> SpaceMetadata | None:
        """The metadata recorded on a deployment, or None before its first provision."""
        raw = deployment.deployment_metadata or {}
        return cls.model_validate(raw) if raw.get("space_id") else None


class HuggingFaceDeployer(ContainerizedDeployer):
    """Deploys pipelines as Hugging Face Docker Spaces."""

    @property
    def config(self) -> HuggingFaceDeployerConfig:
        """The component's configuration."""
        return cast(HuggingFaceDeployerConfig, self._config)

    @property
    def settings_class(self) -> type[BaseSettings] | None:
        """Per-pipeline settings."""
        return HuggingFaceDeployerSettings

    def get_settings(self, container: Any) -> BaseSettings:
        """Merged settings (component, then pipeline) with the auth-key default applied."""
        settings = cast(HuggingFaceDeployerSettings, super().get_settings(container))
        return settings.with_secure_default()

    @property
    def requirements(self) -> set[str]:
        """What the deployment image needs: this plugin (and through it huggingface_hub),
        never the whole Hugging Face integration (transformers, torch, ...)."""
        requirements = {
            r for r in super().requirements if not r.startswith(("transformers", "torch"))
        }
        requirements.add(f"zenml-hf-registry=={__version__}")
        return requirements

    def get_docker_builds(self, snapshot: PipelineSnapshotBase) -> list[BuildConfiguration]:
        """The deployment image's build, or none when the Space builds it (`build_in_space`)."""
        settings = cast(HuggingFaceDeployerSettings, self.get_settings(snapshot))
        if settings.build_in_space:
            return []
        return super().get_docker_builds(snapshot)

    @property
    def validator(self) -> StackValidator | None:
        """Checks the Hub access before ZenML compiles or builds anything; warns about
        private-by-default registries.

        ZenML calls this when a stack is used (`zenml pipeline deploy`, `pipeline.run()`),
        before the image build; at `zenml deployer register` it only validates the config,
        which also happens on the server and in every Space, so no network check can go there.
        """

        def _validate(stack: Stack) -> tuple[bool, str]:
            if not (self.config.model_dump().get("token") or self.config.secret_name):
                return False, (
                    "The Hugging Face deployer needs a token: register it with "
                    "--token='{{hf_token.token}}' or --secret_name=hf_token (a ZenML secret "
                    "with the key `token`)."
                )
            problem = self._early_problem()
            if problem is not None:
                return False, problem
            registry = stack.container_registry
            kind = private_registry_kind(registry.config.uri) if registry else None
            if registry is not None and kind is not None and not self.config.build_in_space:
                logger.warning(
                    "The stack's container registry %s (%s) keeps images private by default, "
                    "and Hugging Face Spaces pull their image anonymously. Make the repository "
                    "public, use a public registry (for example registry.hf.space), or let the "
                    "Space build the image (build_in_space); each deploy checks this before it "
                    "changes anything.",
                    registry.name,
                    kind,
                )
            return True, ""

        return StackValidator(custom_validation_function=_validate)

    def check_hub_access(self) -> str:
        """Check, sending nothing but a whoami, that this deployer can deploy: its secret
        exists, the Hub answers and accepts the token, and the token may write in the
        organization. A passing check is remembered for the process, so the two stack
        validations of one deploy cost one request.

        Returns:
            The namespace Spaces are created in.

        Raises:
            DeployerError: the token's secret or key does not exist.
            HubAccessError: the Hub refuses the token, or it may not write there.
            HubUnavailableError: the Hub does not answer, or answers 429/5xx.
        """
        try:
            token = self._token()
        except KeyError as exc:  # ZenML's: a `{{secret.key}}` token that does not resolve
            raise DeployerError(str(exc).strip("'\"")) from exc
        key = (
            self.config.endpoint,
            self.config.organization,
            hashlib.sha256(token.encode()).hexdigest(),
        )
        if key not in _ACCESS_CHECKED:
            _ACCESS_CHECKED[key] = self._namespace(SpaceOperator(make_api(key[0], token)))
        return _ACCESS_CHECKED[key]

    def _early_problem(self) -> str | None:
        """What `check_hub_access` finds, for the stack validator: a message, or None.

        An unreachable Hub only warns (an outage may pass before the deploy, which checks again
        before it changes anything). Processes ZenML starts through its entrypoint (a Space's
        app, whatever deployer made it, or a step in an orchestrator's container) validate the
        stack too; the checks are for the client about to deploy, so nothing is checked there.
        """
        if f"--{ENTRYPOINT_CONFIG_SOURCE_OPTION}" in sys.argv:
            return None
        try:
            self.check_hub_access()
        except HubUnavailableError as exc:
            logger.warning("%s. Deploys check again before they change anything.", exc)
        except (DeployerError, HfRegistryError) as exc:
            return f"Hugging Face deployer {self.name!r}: {exc}"
        return None

    # -- helpers ---------------------------------------------------------------------------

    def hf_token(self) -> str:
        """The Hugging Face token this deployer uses (never logged or stored)."""
        return self._token()

    def _token(self) -> str:
        if self.config.token:
            return self.config.token
        if self.config.secret_name:
            try:
                secret = Client().get_secret(self.config.secret_name)
            except KeyError as exc:
                raise DeployerError(
                    f"The ZenML secret {self.config.secret_name!r} does not exist; create it "
                    f"with `zenml secret create {self.config.secret_name} --token=<HF token>`."
                ) from exc
            token = secret.secret_values.get("token")
            if not token:
                raise DeployerError(
                    f"The ZenML secret {self.config.secret_name!r} has no key `token`."
                )
            return str(token)
        raise DeployerError(
            "No Hugging Face token configured: set `token` or `secret_name` on the deployer."
        )

    def _operator(self) -> SpaceOperator:
        return SpaceOperator(make_api(self.config.endpoint, self._token()))

    @contextmanager
    def _translate(self, error: type[DeployerError] = DeployerError) -> Iterator[None]:
        try:
            yield
        except HfRegistryError as exc:
            raise error(str(exc)) from exc

    def _namespace(self, operator: SpaceOperator) -> str:
        with hub_errors(operator.endpoint, "checking the Hugging Face token"):
            identity = operator.api.whoami()
        namespace = self.config.organization or str(identity["name"])
        check_write_access(identity, namespace, endpoint=operator.endpoint)
        return namespace

    def _settings(self, deployment: DeploymentResponse) -> HuggingFaceDeployerSettings:
        if deployment.snapshot is None:
            raise DeployerError(f"Deployment {deployment.name} has no snapshot")
        return cast(HuggingFaceDeployerSettings, self.get_settings(deployment.snapshot))

    def _space_files(
        self,
        deployment: DeploymentResponse,
        base_dockerfile: str,
        settings: HuggingFaceDeployerSettings,
    ) -> dict[str, bytes]:
        short_description = f"ZenML pipeline deployment {deployment.name}"[:60]
        readme = (
            "---\n"
            f"title: {json.dumps(deployment.name)}\n"
            "emoji: 🧘\n"
            "colorFrom: purple\n"
            "colorTo: indigo\n"
            "sdk: docker\n"
            f"app_port: {settings.app_port}\n"
            f"short_description: {json.dumps(short_description)}\n"
            "tags:\n  - zenml\n"
            "---\n\n"
            f"# {deployment.name}\n\n"
            "A ZenML pipeline served by ZenML's deployment app. Invoke it with "
            f"`zenml deployment invoke {deployment.name}`.\n"
        )
        # Nothing that changes per deploy goes in here (every commit rebuilds the Space): the
        # deployment id, its snapshot and ZenML's environment come from the Space secret the
        # launcher unpacks (see launch.py).
        dockerfile = (
            f"{base_dockerfile.rstrip()}\n"
            "USER 1000\n"
            f"ENV {APP_PORT_ENV}={settings.app_port}\n"
            f'ENTRYPOINT ["python", "-m", "zenml_hf_registry.deployer.launch"]\n'
        )
        return {"README.md": readme.encode(), "Dockerfile": dockerfile.encode()}

    @staticmethod
    def _entrypoint_arguments(deployment: DeploymentResponse) -> list[str]:
        arguments = SpaceEntrypointConfiguration.get_entrypoint_arguments(
            **{DEPLOYMENT_ID_OPTION: deployment.id}
        )
        # ZenML resolves the class relative to the current source root (which can give
        # `src.zenml_hf_registry...` in a source checkout); the image imports the package.
        source_flag = arguments.index("--entrypoint_config_source")
        arguments[source_flag + 1] = ENTRYPOINT_SOURCE
        return arguments

    def _space_content(
        self,
        deployment: DeploymentResponse,
        stack: Stack,
        settings: HuggingFaceDeployerSettings,
        token: str,
        space_id: str,
    ) -> tuple[str, dict[str, bytes]]:
        """The Space's FROM image and files: the pipeline image's, or with `build_in_space`
        the parent's and ZenML's whole build context (checked before anything is sent)."""
        snapshot = deployment.snapshot
        if snapshot is None:
            raise DeployerError(f"Deployment {deployment.name} has no snapshot")
        if not settings.build_in_space:
            image = self._from_image(self.get_image(snapshot), settings)
            return image, self._space_files(deployment, f"FROM {image}", settings)
        docker = snapshot.pipeline_configuration.docker_settings
        image = self._from_image(docker.parent_image or DEFAULT_DOCKER_PARENT_IMAGE, settings)
        context = zenml_build_context(snapshot, stack, image)
        files = read_build_context(
            context,
            limit_mb=settings.build_context_limit_mb,
            secrets=[token],
            reserved=_SPACE_FILES,
        )
        if not settings.private:
            logger.warning(
                "build_in_space commits the pipeline's code (%d files from %s) to the public "
                "Space %s, where anyone can read it. Set the deployer setting private=True to "
                "keep it private.",
                len(files),
                context.root,
                space_id,
            )
        files.update(self._space_files(deployment, context.dockerfile, settings))
        return image, files

    @staticmethod
    def _from_image(image: str, settings: HuggingFaceDeployerSettings) -> str:
        """The Space's FROM image, checked; pinned to its digest when `verify_image` is on."""
        validate_image_reference(image)
        if not settings.verify_image:
            return image
        try:
            digest = probe_public_image(image)
        except ImageNotPublicError as exc:
            if not settings.build_in_space:
                raise
            raise ConfigurationError(
                f"The Space builds FROM the parent image {image} and cannot pull it: "
                f"{exc.reason}. Spaces pull anonymously: make the parent image public, or leave "
                "DockerSettings.parent_image unset to build FROM ZenML's public image."
            ) from exc
        # The Space builds FROM the digest: a retagged image cannot change it silently, and a
        # new digest is exactly what rebuilds it.
        return ImageReference.parse(image).pinned(digest)

    def _record(self, deployment: DeploymentResponse, metadata: SpaceMetadata) -> None:
        # Written before anything is created, so a failure half-way still leaves a record
        # from which `zenml deployment delete` finds (and removes) the Space.
        Client().zen_store.update_deployment(
            deployment.id, DeploymentUpdate(deployment_metadata=metadata.model_dump())
        )

    # -- the do_* hooks --------------------------------------------------------------------

    def provision_deployment(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        deployment_name_or_id: str | UUID,
        replace: bool = True,
        timeout: int | None = None,
    ) -> DeploymentResponse:
        """Check the token, the organization and the referenced secrets, then provision;
        a Space that fails is reported with its cause.

        ZenML's base class records the deployment before it calls `do_provision_deployment`;
        checking these first means a deploy they stop leaves no deployment record behind.
        ZenML reports a Space that failed to build or crashed as "operational state is error";
        the cause this deployer found in the Space's logs (recorded as `error_message`)
        replaces that sentence.

        Args:
            snapshot: The snapshot to deploy.
            stack: The stack it runs on.
            deployment_name_or_id: The deployment's name or id.
            replace: Update an existing deployment of that name.
            timeout: How long to wait for the deployment to run.

        Returns:
            The deployment.

        Raises:
            DeploymentProvisionError: the Space failed; the message says why.
        """
        settings = cast(HuggingFaceDeployerSettings, self.get_settings(snapshot))
        with self._translate(DeploymentProvisionError):
            # Passed already in this process when ZenML validated the stack (no request then);
            # `do_provision_deployment` asks the Hub again before it changes anything.
            self.check_hub_access()
            # Repo volumes must exist and be readable; pinned again when provisioning.
            self._operator().pin_volumes(wanted_volumes(settings, None))
            resolve_secret_references(settings.space_secrets, "space_secrets")
            resolve_secret_references(
                {k: v for k, v in settings.environment.items() if is_reference(v)}, "environment"
            )
        try:
            return super().provision_deployment(
                snapshot, stack, deployment_name_or_id, replace=replace, timeout=timeout
            )
        except DeploymentProvisionError as exc:
            cause = self._recorded_failure(deployment_name_or_id, snapshot.project_id)
            if cause is None:
                raise
            name, message = cause
            raise DeploymentProvisionError(
                f"Failed to provision deployment {name}: {message}. "
                f"`zenml deployment logs {name}` shows the whole log."
            ) from exc

    @staticmethod
    def _recorded_failure(
        deployment_name_or_id: str | UUID, project: UUID
    ) -> tuple[str, str] | None:
        """The name and recorded cause of a deployment whose Space failed, else None."""
        try:
            deployment = Client().get_deployment(deployment_name_or_id, project=project)
        except KeyError:
            return None
        metadata = SpaceMetadata.from_deployment(deployment)
        if metadata is None or metadata.stage not in FAILED or not metadata.error_message:
            return None
        return deployment.name, metadata.error_message

    def do_provision_deployment(
        self,
        deployment: DeploymentResponse,
        stack: Stack,
        environment: dict[str, str],
        secrets: dict[str, str],
        timeout: int,
    ) -> DeploymentOperationalState:
        """Create or update the deployment's Space with the fewest restarts.

        Everything is validated before any side effect: the token (whoami), the Space id and
        the image. ZenML's environment goes in as Space secrets, never public variables.

        Args:
            deployment: The deployment.
            stack: The stack it runs on.
            environment: ZenML environment (store URL, ids...): set as Space secrets.
            secrets: ZenML secrets (API token): set as Space secrets.
            timeout: Unused: the base class polls the state.

        Returns:
            The state after the changes were sent (usually PENDING while the Space builds).
        """
        settings = self._settings(deployment)
        with self._translate(DeploymentProvisionError):
            operator = self._operator()
            token = self._token()
            namespace = self._namespace(operator)
            space_id = space_id_for(
                namespace, self.config.space_prefix, deployment.name, deployment.id
            )
            # References first: a missing secret stops the deploy before anything changes.
            user_secrets = resolve_secret_references(settings.space_secrets, "space_secrets")
            hidden_environment = resolve_secret_references(
                {k: v for k, v in settings.environment.items() if is_reference(v)}, "environment"
            )
            bucket = storage_bucket_for(space_id) if settings.wants_storage_bucket else None
            if bucket is not None and isinstance(settings.space_storage, str):
                _warn_about_tiers(settings.space_storage, bucket)
            volumes, pinned = operator.pin_volumes(wanted_volumes(settings, bucket))
            image, files = self._space_content(deployment, stack, settings, token, space_id)
            previous = SpaceMetadata.from_deployment(deployment)
            assert deployment.snapshot is not None  # checked by _settings
            fingerprint = snapshot_fingerprint(deployment.snapshot, image)
            bundle, digest_input = deployment_secret(
                arguments=self._entrypoint_arguments(deployment),
                environment={
                    **environment,
                    **secrets,
                    **hidden_environment,
                    **user_secrets,
                    "ZENML_HF_SNAPSHOT_FINGERPRINT": fingerprint,
                },
                auth_key=deployment.auth_key,
            )
            spec = SpaceSpec(
                space_id=space_id,
                private=settings.private,
                hardware=settings.space_hardware,
                sleep_time=settings.sleep_time,
                files=files,
                secrets={DEPLOYMENT_SECRET: bundle},
                # Values given as secret references are secrets, never public variables.
                variables={
                    k: v for k, v in settings.environment.items() if k not in hidden_environment
                },
                digest_inputs={DEPLOYMENT_SECRET: digest_input},
                volumes=tuple(volumes),
                storage_bucket=bucket,
            )
            known = previous if previous is not None and previous.space_id == space_id else None
            stale = sorted(
                set(previous.stale_space_ids if previous else ())
                | ({previous.space_id} if previous is not None and known is None else set())
            )
            managed_variables = frozenset(known.managed_variables if known else ())
            managed_files = frozenset(known.managed_files if known else ())
            managed_volumes = frozenset(
                str(v.get("mountPath")) for v in (known.volumes if known else ())
            )
            observed = operator.observe(
                space_id, read_variables=bool(spec.variables or managed_variables)
            )
            plan = plan_space(
                spec,
                observed,
                managed_secrets=known.secret_digests if known else {},
                managed_variables=managed_variables,
                salt=token,
                managed_files=managed_files,
                managed_volumes=managed_volumes,
                bucket_exists=bucket is None or operator.bucket_exists(bucket),
            )
            digests = {
                key: spec.secret_digest(key, token)
                if plan.create or key in plan.set_secrets
                else (known.secret_digests.get(key, "") if known else "")
                for key in spec.secrets
            }
            # The app loads its snapshot when it starts: an equivalent snapshot (same
            # fingerprint) leaves it serving the one it started with.
            restarted = plan.restarts_or_rebuilds or known is None
            serving = (
                str(deployment.snapshot.id)
                if restarted or known is None
                else (known.serving_snapshot_id or str(deployment.snapshot.id))
            )
            metadata = SpaceMetadata(
                space_id=space_id,
                endpoint=self.config.endpoint,
                space_url=f"{self.config.endpoint}/spaces/{space_id}",
                app_url=observed.host if observed else None,
                private=settings.private,
                image=image,
                built_in_space=settings.build_in_space,
                secret_digests=digests,
                managed_variables=sorted(spec.variables),
                # Until the commit lands, the files to delete are still the deployer's.
                managed_files=sorted(set(spec.files) | set(plan.delete_files)),
                stale_space_ids=stale,
                storage_bucket=bucket,
                volumes=[v.to_dict() for v in volumes],
                snapshot_fingerprint=fingerprint,
                serving_snapshot_id=serving,
            )
            self._record(deployment, metadata)
            if not restarted:
                logger.info(
                    "Space %s: the snapshot is equivalent to the one it serves (%s): nothing "
                    "to change",
                    space_id,
                    serving,
                )
            for line in pinned:
                logger.info("Space %s: volume %s", space_id, line)
            logger.info("Space %s: %s", space_id, plan.summary())
            built = "built in the Space FROM " if settings.build_in_space else ""
            operator.apply(spec, plan, commit_message=f"Deploy {deployment.name} ({built}{image})")
            for old_id in stale:
                # A renamed deployment or prefix must not leave the old Space running.
                logger.info("Deleting the previous Space %s", old_id)
                operator.delete(old_id)
            metadata.stale_space_ids = []
            metadata.managed_files = sorted(spec.files)
        state = self._state(metadata, deployment.name)
        if not plan.is_empty and state.status is DeploymentStatus.RUNNING:
            state.status = DeploymentStatus.PENDING  # the change has not rolled out yet
        return state

    def do_get_deployment_state(self, deployment: DeploymentResponse) -> DeploymentOperationalState:
        """Map the Space's stage to a deployment status, keeping all metadata.

        Args:
            deployment: The deployment.

        Returns:
            The operational state; RUNNING only once the app answers its health check.

        Raises:
            DeploymentNotFoundError: only when the Space is really gone.
        """
        metadata = SpaceMetadata.from_deployment(deployment)
        if metadata is None:
            raise DeploymentNotFoundError(f"Deployment {deployment.name} has no Space yet")
        return self._state(metadata, deployment.name)

    def _state(self, metadata: SpaceMetadata, name: str) -> DeploymentOperationalState:
        operator = SpaceOperator(make_api(metadata.endpoint, self._token()))
        try:
            with self._translate():
                runtime, host = operator.runtime(metadata.space_id)
        except RepositoryNotFoundError as exc:
            raise DeploymentNotFoundError(
                f"Space {metadata.space_id} does not exist any more"
            ) from exc
        stage = str(runtime.stage)
        metadata.stage = stage
        metadata.app_url = host or metadata.app_url
        metadata.hardware = runtime.hardware or runtime.requested_hardware
        metadata.error_message = runtime.raw.get("errorMessage")
        status = deployment_status(stage)
        if stage in FAILED:
            build_lines = self._read_logs(operator, metadata.space_id, build=True)
            run_lines = (
                self._read_logs(operator, metadata.space_id, build=False)
                if stage == "RUNTIME_ERROR"
                else []
            )
            cause = failure_cause(stage, metadata.error_message, build_lines, run_lines)
            metadata.error_message = str(cause)
            shown = [plain_line(line) for line in (run_lines or build_lines)]
            metadata.last_log_lines = [line for line in shown if line][-_LOG_LINES_ON_ERROR:]
        elif stage in STOPPED:
            metadata.error_message = (
                f"The Space is {stage.lower()}; `zenml deployment provision {name}` restarts it."
            )
        else:
            metadata.last_log_lines = []
        return DeploymentOperationalState(
            status=status, url=metadata.app_url, metadata=metadata.model_dump()
        )

    def _read_logs(self, operator: SpaceOperator, space_id: str, *, build: bool) -> list[str]:
        try:
            with self._translate():
                return list(operator.logs(space_id, build=build, follow=False))
        except DeployerError:
            return []

    def _check_deployment_health(self, deployment: DeploymentResponse) -> bool:
        """The app's /health, through the Hub's gate with the HF token for private Spaces."""
        metadata = SpaceMetadata.from_deployment(deployment)
        if metadata is None or deployment.snapshot is None or not deployment.url:
            return False
        settings = deployment.snapshot.pipeline_configuration.deployment_settings
        path = f"{settings.root_url_path}{settings.api_url_path}{settings.health_url_path}"
        headers = {"Authorization": f"Bearer {self._token()}"} if metadata.private else {}
        try:
            response = requests.get(f"{deployment.url}{path}", headers=headers, timeout=5)
        except requests.RequestException:
            return False
        return response.status_code == 200

    def do_get_deployment_state_logs(
        self,
        deployment: DeploymentResponse,
        follow: bool = False,
        tail: int | None = None,
    ) -> Generator[str, bool, None]:
        """Build logs, then run logs (following the run logs with `follow`), as plain text.

        Args:
            deployment: The deployment.
            follow: Keep streaming run logs as they come.
            tail: Only the last `tail` lines of build and run logs together (0: none); with
                `follow`, of the backlog shown before new lines.

        Yields:
            Log lines.

        Raises:
            InvalidTailError: `tail` is negative.
            DeploymentNotFoundError: the deployment has no Space yet.
        """
        try:
            check_tail(tail)
        except ValueError as exc:
            raise InvalidTailError(str(exc).removeprefix("--tail "), param_hint="'--tail'") from exc
        metadata = SpaceMetadata.from_deployment(deployment)
        if metadata is None:
            raise DeploymentNotFoundError(f"Deployment {deployment.name} has no Space yet")
        operator = SpaceOperator(make_api(metadata.endpoint, self._token()))
        space_id = metadata.space_id
        if tail == 0 and not follow:
            return
        with self._translate():
            # The Hub cuts each log to its last `tail` lines; the last `tail` of both are cut here.
            build = [
                f"[build] {line}"
                for line in operator.logs(space_id, build=True, follow=False, tail=tail)
            ]
            if not follow:
                run = operator.logs(space_id, build=False, follow=False, tail=tail)
                yield from last_lines(build + [f"[run] {line}" for line in run], tail)
                return
            run_tail = None
            if tail is not None:
                # The run lines the Hub replays before new ones count towards `tail` too.
                run_tail = len(list(operator.logs(space_id, build=False, follow=False, tail=tail)))
                build = last_lines(build, max(0, tail - run_tail))
            yield from build
            for line in operator.logs(space_id, build=False, follow=True, tail=run_tail):
                yield f"[run] {line}"

    def do_deprovision_deployment(
        self, deployment: DeploymentResponse, timeout: int
    ) -> DeploymentOperationalState | None:
        """Delete the Space; one that is already gone counts as deleted. The space_storage
        bucket stays (its data outlives the Space) unless delete_storage_bucket_on_delete.

        Args:
            deployment: The deployment.
            timeout: Unused: deletion is immediate on the Hub.

        Returns:
            None: the Space is gone.
        """
        metadata = SpaceMetadata.from_deployment(deployment)
        if metadata is None:
            return None
        operator = SpaceOperator(make_api(metadata.endpoint, self._token()))
        with self._translate(DeploymentDeprovisionError):
            for stale in metadata.stale_space_ids:
                operator.delete(stale)
            deleted = operator.delete(metadata.space_id)
        logger.info(
            "Deleted Space %s" if deleted else "Space %s was already gone", metadata.space_id
        )
        bucket = metadata.storage_bucket
        if bucket is None:
            return None
        delete_bucket = deployment.snapshot is not None and (
            self._settings(deployment).delete_storage_bucket_on_delete
        )
        if not delete_bucket:
            logger.info(
                "Kept the Storage Bucket %s and its data: set delete_storage_bucket_on_delete "
                "to delete it with the deployment, or delete it on the Hub.",
                bucket,
            )
            return None
        with self._translate(DeploymentDeprovisionError):
            removed = operator.delete_bucket(bucket)
        logger.info(
            "Deleted the Storage Bucket %s" if removed else "Storage Bucket %s was already gone",
            bucket,
        )
        return None
