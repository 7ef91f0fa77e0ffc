"""Space lifecycles: a commit builds, a settings change restarts, pause stops, delete removes.

Each Space has one worker thread that applies its actions in order (build, restart, pause,
stop), so a Space never builds twice at once. Stages follow the Hub's:

    commit ──> BUILDING ──> APP_STARTING ──> RUNNING
      (RUNNING_BUILDING / RUNNING_APP_STARTING when a running Space rebuilds)
    build fails ──> BUILD_ERROR       app exits or never listens ──> RUNTIME_ERROR
    no Dockerfile ──> NO_APP_FILE     unusable README front matter ──> CONFIG_ERROR
    pause ──> PAUSED                  restart ──> APP_STARTING ──> RUNNING

Builds and restarts are counted per Space: they are the cost users feel on the Hub, and the
numbers the deployer is measured by.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import queue
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zenml_hf_registry.hub.buckets import BucketBackend
from zenml_hf_registry.hub.errors import BadRequest, HubError, RevisionNotFound
from zenml_hf_registry.hub.repos import Repo, RepoBackend, RepoType
from zenml_hf_registry.hub.settings import HubSettings, TokenSpec
from zenml_hf_registry.hub.spaces.gateway import Gateway, free_port
from zenml_hf_registry.hub.spaces.logs import LogBuffer
from zenml_hf_registry.hub.spaces.models import (
    HARDWARE_NAMES,
    ConfigError,
    Dockerfile,
    SpaceConfig,
    SpaceStage,
    parse_dockerfile,
    parse_front_matter,
)
from zenml_hf_registry.hub.spaces.runtimes import (
    AppHandle,
    BuildError,
    ProcessRuntime,
    Runtime,
    StartError,
)
from zenml_hf_registry.hub.spaces.sandbox import space_sandbox
from zenml_hf_registry.hub.spaces.volumes import (
    Mount,
    UnsafeMountError,
    VolumeSpec,
    parse_volumes,
    prepare_mounts,
)
from zenml_hf_registry.hub.storage import BlobStore
from zenml_hf_registry.hub.wire import (
    SpaceDomain,
    SpaceHardwareState,
    SpaceReplicas,
    SpaceRuntimeBody,
    SpaceSecretBody,
    SpaceVariableBody,
    SpaceVolumeBody,
)

_STATIC_SITE = "zenml_hf_registry.hub.spaces.static_site"

__all__ = ["SpaceManager", "engine_mark", "validate_hardware"]

logger = logging.getLogger(__name__)

_DEFAULT_SLEEP = 172800  # cpu-basic Spaces sleep after 48 h, as on the Hub


def engine_mark(data_dir: Path) -> str:
    """What the names of a local Hub's containers and images on a Docker engine start with:
    one mark per data dir, since other local Hubs may share the engine."""
    return hashlib.sha256(str(data_dir).encode()).hexdigest()[:8]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def validate_hardware(flavor: Any) -> str:
    """A hardware name huggingface_hub 2.4 knows, or a 400 listing them."""
    if flavor not in HARDWARE_NAMES:
        raise BadRequest(f"Invalid hardware {flavor!r}: use one of {', '.join(HARDWARE_NAMES)}")
    return str(flavor)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class _Space:
    """In-memory runtime state of one Space."""

    row_id: int
    repo_id: str
    namespace: str
    private: bool
    stage: SpaceStage = SpaceStage.NO_APP_FILE
    error: str | None = None
    build_log: LogBuffer = field(default_factory=LogBuffer)
    run_log: LogBuffer = field(default_factory=LogBuffer)
    app: AppHandle | None = None
    generation: int = 0  # bumps whenever the current app is replaced or stopped on purpose
    target_port: int | None = None
    config: SpaceConfig = field(default_factory=SpaceConfig)
    dockerfile: Dockerfile | None = None
    artifact: str | None = None
    app_runtime: Runtime | None = None
    assigned_port: int | None = None
    commit: str | None = None
    hardware_current: str | None = None
    # Seconds the last image build and the last app start (to listening) took: benchmarks.
    build_seconds: float | None = None
    start_seconds: float | None = None
    gateway: Gateway | None = None
    actions: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)
    worker: threading.Thread | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)


class SpaceManager:
    """Owns every Space's runtime: builds, apps, gateways, logs and counters."""

    def __init__(
        self,
        settings: HubSettings,
        repos: RepoBackend,
        blobs: BlobStore,
        runtime: Runtime,
        buckets: BucketBackend,
    ) -> None:
        self.settings = settings
        self.repos = repos
        self.buckets = buckets
        self.blobs = blobs
        self.runtime = runtime
        # Built-in SDKs (static, gradio, streamlit) run as processes in the Space's files.
        # The same sandbox as the process runtime's (`space_sandbox` decides, `none` included).
        sandbox = (
            runtime.sandbox if isinstance(runtime, ProcessRuntime) else space_sandbox(settings)
        )
        self._sdk_runtime = ProcessRuntime(sandbox=sandbox, hidden=(settings.data_dir,))
        self.root = settings.data_dir / "spaces"
        self.root.mkdir(parents=True, exist_ok=True)
        self._instance = engine_mark(settings.data_dir)
        self._spaces: dict[int, _Space] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- registry of Spaces ------------------------------------------------------------------

    def _space(self, repo: Repo) -> _Space:
        with self._lock:
            space = self._spaces.get(repo.id)
            if space is None:
                space = _Space(
                    row_id=repo.id,
                    repo_id=repo.repo_id,
                    namespace=repo.namespace,
                    private=repo.private,
                )
                self._spaces[repo.id] = space
                self._start_gateway(space, repo)
                space.worker = threading.Thread(
                    target=self._work, args=(space,), name=f"space-{repo.repo_id}", daemon=True
                )
                space.worker.start()
            space.private = repo.private
            return space

    def _start_gateway(self, space: _Space, repo: Repo) -> None:
        wanted = int(repo.attributes.get("gatewayPort") or 0)
        gateway = Gateway(
            self.settings.space_host,
            wanted,
            target=lambda: space.target_port if space.stage is SpaceStage.RUNNING else None,
            allows=lambda header: self._gate_allows(space, header),
            describe=lambda: f"stage {space.stage.value}",
            is_private=lambda: space.private,
        )
        space.gateway = gateway
        if gateway.port != wanted:
            self.repos.update_attributes(repo, gatewayPort=gateway.port)

    def _gate_allows(self, space: _Space, header: str | None) -> bool:
        if not space.private:
            return True
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        try:
            caller = self.repos.authenticate(token.strip())
        except Exception:  # noqa: BLE001 - an unknown token simply does not pass the gate
            return False
        return caller is not None and caller.may_see(space.namespace)

    def resume(self) -> None:
        """After a server restart: bring every stored Space back as it was (built and running
        unless paused)."""
        for repo in self.repos.list_all_repos(RepoType.SPACE):
            space = self._space(repo)
            if repo.attributes.get("paused"):
                space.stage = SpaceStage.PAUSED
            else:
                space.actions.put(("build", None))

    def shutdown(self) -> None:
        """Stop every app and gateway (the server's shutdown); state on disk stays."""
        self._closed = True
        with self._lock:
            spaces = list(self._spaces.values())
            self._spaces.clear()
        for space in spaces:
            space.actions.put(("exit", None))
        for space in spaces:
            if space.worker is not None:
                space.worker.join(30)
            self._stop_app(space)
            if space.gateway is not None:
                space.gateway.close()

    # -- events from the repo side -----------------------------------------------------------

    def on_created(self, repo: Repo) -> None:
        """A Space repo was created: it exists, with no app file yet."""
        self._space(repo).stage = SpaceStage.NO_APP_FILE

    def on_commit(self, repo: Repo, commit_id: str) -> None:
        """A commit landed on a Space: rebuild it (the Hub rebuilds on every commit)."""
        if repo.type is RepoType.SPACE:
            space = self._space(repo)
            with space.lock:
                if space.stage is SpaceStage.RUNNING:
                    space.stage = SpaceStage.RUNNING_BUILDING
                elif space.stage not in (SpaceStage.RUNNING_BUILDING,):
                    space.stage = SpaceStage.BUILDING
            space.actions.put(("build", commit_id))

    def on_delete(self, repo: Repo) -> None:
        """The Space is being deleted: stop its app, free its port, drop its files."""
        if repo.type is not RepoType.SPACE:
            return
        with self._lock:
            space = self._spaces.pop(repo.id, None)
        if space is None:
            return
        space.stage = SpaceStage.DELETING
        space.actions.put(("exit", None))
        if space.worker is not None:
            space.worker.join(60)
        self._stop_app(space)
        if space.gateway is not None:
            space.gateway.close()
        self.runtime.remove(self._key(space))
        shutil.rmtree(self.root / str(space.row_id), ignore_errors=True)

    def on_visibility(self, repo: Repo) -> None:
        """Visibility changed: the gate follows at once."""
        if repo.type is RepoType.SPACE:
            self._space(repo).private = repo.private

    # -- the Space API -----------------------------------------------------------------------

    def runtime_info(self, repo: Repo) -> dict[str, Any]:
        """Body of `GET /api/spaces/{id}/runtime`."""
        space = self._space(repo)
        attrs = repo.attributes
        requested = attrs.get("hardware") or "cpu-basic"
        running = space.stage in (
            SpaceStage.RUNNING,
            SpaceStage.RUNNING_BUILDING,
            SpaceStage.RUNNING_APP_STARTING,
            SpaceStage.SLEEPING,
        )
        # The shapes of the Hub's recorded answers (huggingface_hub's Space API cassettes):
        # `replicas.current` only once the app runs; the domain is READY as soon as it is
        # routed, whatever the app's stage; static Spaces run on no hardware of their own.
        replicas = SpaceReplicas(requested=1, current=1 if running else None)
        if space.config.sdk == "static" or attrs.get("sdk") == "static":
            return SpaceRuntimeBody(
                stage=space.stage.value, hardware=SpaceHardwareState(), replicas=replicas
            ).body()
        return SpaceRuntimeBody(
            stage=space.stage.value,
            hardware=SpaceHardwareState(
                current=space.hardware_current if running else None, requested=requested
            ),
            gc_timeout=attrs.get("sleepTime", _DEFAULT_SLEEP),
            replicas=replicas,
            dev_mode=False,
            domains=[SpaceDomain(domain=self.domain(repo))],
            volumes=[SpaceVolumeBody.model_validate(v) for v in attrs["volumes"]]
            if attrs.get("volumes")
            else None,
            error_message=space.error or None,
        ).body()

    def domain(self, repo: Repo) -> str:
        """`host:port` of the Space's gateway (the Hub's `{subdomain}.hf.space`)."""
        gateway = self._space(repo).gateway
        if gateway is None:  # pragma: no cover - set when the Space is first seen
            raise RuntimeError(f"no gateway for {repo.repo_id}")
        return f"{self.settings.space_host}:{gateway.port}"

    def host_url(self, repo: Repo) -> str:
        """The app URL, as `SpaceInfo.host` reports it."""
        return f"http://{self.domain(repo)}"

    def counters(self, repo: Repo) -> dict[str, Any]:
        """Emulator-only: builds, restarts and where the app runs."""
        space = self._space(repo)
        return {
            "stage": space.stage.value,
            "builds": int(repo.attributes.get("builds", 0)),
            "restarts": int(repo.attributes.get("restarts", 0)),
            "url": self.host_url(repo),
            "appPort": space.target_port,
            "errorMessage": space.error,
            "lastBuildSeconds": space.build_seconds,
            "lastStartSeconds": space.start_seconds,
        }

    def request_hardware(self, repo: Repo, flavor: Any, sleep_time: Any | None) -> None:
        """Change hardware (and optionally the sleep time); a change restarts the Space."""
        flavor = validate_hardware(flavor)
        changes: dict[str, Any] = {}
        if sleep_time is not None:
            changes["sleepTime"] = int(sleep_time)
        if flavor != (repo.attributes.get("hardware") or "cpu-basic"):
            changes["hardware"] = flavor
            self._restart_after(repo, **changes)
        elif changes:
            self.repos.update_attributes(repo, **changes)

    def set_sleep_time(self, repo: Repo, seconds: Any) -> None:
        """Store the sleep time (no restart, as on the Hub)."""
        if not isinstance(seconds, int) or seconds < -1:
            raise BadRequest(f"Invalid sleep time {seconds!r}: seconds, or -1 to never sleep")
        self.repos.update_attributes(repo, sleepTime=seconds)

    def validate_volumes(
        self, realm: str, raw: Any, caller: TokenSpec | None
    ) -> list[dict[str, Any]]:
        """Check a volume list as the Hub does, before anything changes; the stored form.

        Every source must exist and be readable by the caller (a bucket mounted read-write,
        writable), and a repo's `revision` must resolve; otherwise a 400 naming the volume.
        """
        volumes = parse_volumes(raw)
        for volume in volumes:
            try:
                if volume.type == "bucket":
                    self.buckets.bucket_info(
                        realm, volume.namespace, volume.name, caller, write=volume.writable
                    )
                else:
                    source = self.repos.get_repo(
                        realm, RepoType(volume.type), volume.namespace, volume.name, caller
                    )
                    self.repos.check_file_access(source, caller)
                    if volume.revision is not None:
                        self.repos.resolve_revision(source, volume.revision)
            except HubError as exc:
                raise BadRequest(
                    f"Invalid volume {volume.type} {volume.source} at {volume.mount_path}: "
                    f"{exc.message}"
                ) from exc
        return [volume.body() for volume in volumes]

    def set_volumes(self, repo: Repo, raw: Any, caller: TokenSpec | None) -> None:
        """Replace the Space's volumes (`set_space_volumes`); a change restarts it."""
        if (repo.attributes.get("sdk") or "docker") == "static":
            raise BadRequest("Volumes are not supported on static Spaces")
        volumes = self.validate_volumes(repo.realm, raw, caller)
        if volumes != (repo.attributes.get("volumes") or []):
            self._restart_after(repo, volumes=volumes or None)

    def delete_volumes(self, repo: Repo) -> None:
        """Remove every volume (`delete_space_volumes`); 400 when there are none."""
        if not repo.attributes.get("volumes"):
            raise BadRequest(f"Space {repo.repo_id} has no volumes")
        self._restart_after(repo, volumes=None)

    def add_secret(self, repo: Repo, key: Any, value: Any, description: Any = None) -> None:
        """Set a secret (write-only); restarts the Space."""
        key = self._check_key(key)
        secrets = dict(repo.attributes.get("secrets") or {})
        secrets[key] = {"value": str(value), "description": description, "updatedAt": _now()}
        self._restart_after(repo, secrets=secrets)

    def delete_secret(self, repo: Repo, key: Any) -> None:
        """Remove a secret; restarts the Space if it existed."""
        secrets = dict(repo.attributes.get("secrets") or {})
        if secrets.pop(str(key), None) is not None:
            self._restart_after(repo, secrets=secrets)

    def get_secrets(self, repo: Repo) -> dict[str, dict[str, Any]]:
        """`{KEY: {description?, updatedAt}}`, as the Hub answers; values never leave the server."""
        return {
            key: SpaceSecretBody(
                description=item.get("description") or None, updated_at=item["updatedAt"]
            ).body()
            for key, item in sorted((repo.attributes.get("secrets") or {}).items())
        }

    def add_variable(self, repo: Repo, key: Any, value: Any, description: Any = None) -> None:
        """Set a public variable; restarts the Space."""
        key = self._check_key(key)
        variables = dict(repo.attributes.get("variables") or {})
        variables[key] = {"value": str(value), "description": description, "updatedAt": _now()}
        self._restart_after(repo, variables=variables)

    def delete_variable(self, repo: Repo, key: Any) -> None:
        """Remove a variable; restarts the Space if it existed."""
        variables = dict(repo.attributes.get("variables") or {})
        if variables.pop(str(key), None) is not None:
            self._restart_after(repo, variables=variables)

    def get_variables(self, repo: Repo) -> dict[str, Any]:
        """The whole variables dict, as the Hub returns it."""
        stored = repo.attributes.get("variables") or {}
        return {
            key: SpaceVariableBody(
                value=item["value"],
                description=item.get("description") or None,
                updated_at=item["updatedAt"],
            ).body()
            for key, item in stored.items()
        }

    def pause(self, repo: Repo) -> None:
        """Stop the app until restarted; PAUSED."""
        self.repos.update_attributes(repo, paused=True)
        space = self._space(repo)
        with space.lock:
            space.stage = SpaceStage.PAUSED  # answered at once; the worker stops the app
        space.actions.put(("pause", None))

    def restart(self, repo: Repo, *, factory: bool) -> None:
        """Restart the app (factory: rebuild from scratch); counts as a restart.

        A paused or stopped Space is rebuilt: the Hub answers BUILDING to that restart (its
        recorded pause-then-restart answer), not the app's restart.
        """
        repo = self.repos.update_attributes(
            repo, paused=False, restarts=int(repo.attributes.get("restarts", 0)) + 1
        )
        space = self._space(repo)
        with space.lock:
            stopped = space.stage in (SpaceStage.PAUSED, SpaceStage.STOPPED)
            if stopped:
                space.stage = SpaceStage.BUILDING
        if not stopped:
            self._report_restarting(space)
        space.actions.put(("build" if factory or stopped else "restart", None))

    def force_stage(self, repo: Repo, stage: str, message: str | None) -> None:
        """Emulator-only fault injection: report this stage until something changes it."""
        space = self._space(repo)
        try:
            space.stage = SpaceStage(stage)
        except ValueError as exc:
            raise BadRequest(f"unknown stage {stage!r}") from exc
        space.error = message

    def logs(self, repo: Repo, kind: str) -> LogBuffer:
        """The build or run log buffer."""
        space = self._space(repo)
        return space.build_log if kind == "build" else space.run_log

    # -- internals -----------------------------------------------------------------------------

    @staticmethod
    def _check_key(key: Any) -> str:
        if not isinstance(key, str) or not key or not key.replace("_", "a").isalnum():
            raise BadRequest(f"Invalid key {key!r}: use letters, digits and underscores")
        if key[0].isdigit():
            raise BadRequest(f"Invalid key {key!r}: it must not start with a digit")
        return key

    def _restart_after(self, repo: Repo, **changes: Any) -> None:
        # A Space with no app (never built, misconfigured, paused) has nothing to restart:
        # the change is stored and taken up by its next start.
        space = self._space(repo)
        idle = space.stage in (SpaceStage.NO_APP_FILE, SpaceStage.CONFIG_ERROR, SpaceStage.PAUSED)
        if not idle:
            changes["restarts"] = int(repo.attributes.get("restarts", 0)) + 1
        self.repos.update_attributes(repo, **changes)
        if not idle:
            self._report_restarting(space)
            space.actions.put(("restart", None))

    @staticmethod
    def _report_restarting(space: _Space) -> None:
        # Reported at once, as the Hub does: a client polling right after the change must
        # not mistake the old app, or the old app's crash, for the restarted one.
        with space.lock:
            if space.stage in (SpaceStage.RUNNING, SpaceStage.RUNTIME_ERROR):
                space.stage = SpaceStage.APP_STARTING
                space.error = None

    def _key(self, space: _Space) -> str:
        # Names containers and images on an engine other local Hubs (other data dirs) may
        # share: without the data dir's mark, two Hubs' first Spaces would replace each other.
        return f"{self._instance}-{space.row_id}-{space.repo_id.replace('/', '--').lower()}"

    def _work(self, space: _Space) -> None:
        while True:
            action, _ = space.actions.get()
            if action == "exit" or self._closed:
                return
            pending = []
            while not space.actions.empty():
                pending.append(space.actions.get())
            if any(a == "exit" for a, _ in pending):
                return
            # A queued build supersedes restarts and earlier builds: it starts the app anyway.
            if any(a == "build" for a, _ in pending):
                action = "build"
            elif pending:
                action = pending[-1][0]
            try:
                if action == "build":
                    self._build_and_start(space)
                elif action == "restart":
                    if space.artifact is None:
                        self._build_and_start(space)
                    else:
                        self._start(space, rebuilding=False)
                elif action == "pause":
                    self._stop_app(space)
                    space.stage = SpaceStage.PAUSED
                    space.error = None
            except Exception as exc:  # a broken Space must not kill its worker
                logger.exception("Space %s: %s failed", space.repo_id, action)
                space.stage = SpaceStage.RUNTIME_ERROR
                space.error = f"internal error of the local Hub: {exc}"

    def _repo(self, space: _Space) -> Repo:
        return self.repos.get_repo_by_row_id(space.row_id)

    def _checkout(self, space: _Space, repo: Repo) -> tuple[Path, str, dict[str, bytes]]:
        commit = self.repos.resolve_revision(repo, "main")
        folder = self.root / str(space.row_id) / "checkout"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        small: dict[str, bytes] = {}
        for entry in self.repos.list_files(repo, commit):
            target = folder / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            self.blobs.copy_to(entry.sha256, target)
            if entry.path in ("README.md", "Dockerfile"):
                small[entry.path] = target.read_bytes()
        return folder, commit, small

    def _build_and_start(self, space: _Space) -> None:
        repo = self._repo(space)
        was_running = space.app is not None and space.stage in (
            SpaceStage.RUNNING,
            SpaceStage.RUNNING_BUILDING,
            SpaceStage.RUNNING_APP_STARTING,
        )
        space.stage = SpaceStage.RUNNING_BUILDING if was_running else SpaceStage.BUILDING
        space.error = None
        space.build_log.restart()
        try:
            context, commit, files = self._checkout(space, repo)
        except RevisionNotFound:
            return
        space.commit = commit
        try:
            config = parse_front_matter(
                files.get("README.md"), default_sdk=repo.attributes.get("sdk") or "docker"
            )
            app_file = "Dockerfile" if config.sdk == "docker" else config.app_file
            if not (context / app_file).is_file():
                self._stop_app(space)
                space.stage = SpaceStage.NO_APP_FILE
                space.error = None
                space.build_log.write(f"no {app_file} in the repo: nothing to build")
                space.build_log.close()
                return
            if config.sdk == "docker":
                dockerfile = parse_dockerfile(files["Dockerfile"].decode("utf-8", errors="replace"))
        except ConfigError as exc:
            self._stop_app(space)
            space.stage = SpaceStage.CONFIG_ERROR
            space.error = str(exc)
            space.build_log.write(f"configuration error: {exc}")
            space.build_log.close()
            return
        repo = self.repos.update_attributes(repo, builds=int(repo.attributes.get("builds", 0)) + 1)
        space.build_log.write(
            f"building {space.repo_id} at {commit} with the {self.runtime.name} runtime"
        )
        if self.settings.space_build_delay:
            time.sleep(self.settings.space_build_delay)
        variables = {k: v["value"] for k, v in (repo.attributes.get("variables") or {}).items()}
        started = time.monotonic()
        runtime = self.runtime
        try:
            if config.sdk != "docker":
                dockerfile, runtime = self._sdk_app(config)
            artifact = runtime.build(
                self._key(space), context, dockerfile, variables, space.build_log.write
            )
            space.build_seconds = round(time.monotonic() - started, 3)
        except BuildError as exc:
            self._stop_app(space)
            space.stage = SpaceStage.BUILD_ERROR
            space.error = str(exc)
            space.build_log.write(f"build failed: {exc}")
            space.build_log.close()
            return
        space.build_log.write("build succeeded")
        space.build_log.close()
        space.config, space.dockerfile, space.artifact = config, dockerfile, artifact
        space.app_runtime = runtime
        self._start(space, rebuilding=was_running)

    def _sdk_app(self, config: SpaceConfig) -> tuple[Dockerfile, Runtime]:
        """How a Space of a built-in SDK runs here: the command the Hub's image would run.

        Static Spaces are served by the local Hub's own file server, on either runtime. Gradio
        and Streamlit apps run as processes with the SDK of the Hub's own Python, as the Hub
        runs them on an image with the SDK installed; without it, the build fails saying so.
        """
        if config.sdk == "static":
            command: tuple[str, ...] = (sys.executable, "-m", _STATIC_SITE)
            return Dockerfile(base_image="static", cmd=command), self._sdk_runtime
        if self.runtime.name != "process":
            raise BuildError(
                f"the {self.runtime.name} runtime of the local Hub builds only docker and "
                f"static Spaces (it has no {config.sdk} base image offline): use sdk: docker "
                "with a Dockerfile, or serve the local Hub with the process runtime"
            )
        if importlib.util.find_spec(config.sdk) is None:
            raise BuildError(
                f"{config.sdk} is not installed in the local Hub's Python environment, so "
                f"{config.sdk} Spaces cannot be built here: `pip install {config.sdk}` where "
                "the local Hub runs, or use sdk: docker with a Dockerfile"
            )
        if config.sdk == "gradio":
            command = ("python", config.app_file)
        else:
            command = ("python", "-m", "streamlit", "run", config.app_file)
        return Dockerfile(base_image=config.sdk, cmd=command), self._sdk_runtime

    def _environment(self, space: _Space, repo: Repo, port: int) -> dict[str, str]:
        gateway = space.gateway
        env = dict(space.dockerfile.env if space.dockerfile else {})
        env.update({k: v["value"] for k, v in (repo.attributes.get("variables") or {}).items()})
        env.update({k: v["value"] for k, v in (repo.attributes.get("secrets") or {}).items()})
        env.update(
            {
                "PORT": str(port),
                "SYSTEM": "spaces",
                "SPACE_ID": space.repo_id,
                "SPACE_AUTHOR_NAME": space.namespace,
                "SPACE_REPO_NAME": space.repo_id.split("/", 1)[1],
                "SPACE_HOST": f"{self.settings.space_host}:{gateway.port}" if gateway else "",
            }
        )
        if space.config.sdk == "gradio":
            env.update({"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)})
        elif space.config.sdk == "streamlit":
            env.update(
                {
                    "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
                    "STREAMLIT_SERVER_PORT": str(port),
                    "STREAMLIT_SERVER_HEADLESS": "true",
                }
            )
        return env

    def _start(self, space: _Space, *, rebuilding: bool) -> None:
        repo = self._repo(space)
        if space.dockerfile is None or space.artifact is None or space.app_runtime is None:
            raise RuntimeError("start requested before a successful build")
        self._stop_app(space)
        space.stage = SpaceStage.RUNNING_APP_STARTING if rebuilding else SpaceStage.APP_STARTING
        space.error = None
        space.hardware_current = repo.attributes.get("hardware") or "cpu-basic"
        space.run_log.restart()
        port = free_port()
        env = self._environment(space, repo, port)
        try:
            mounts = self._mounts(repo, space.run_log.write)
            app = space.app_runtime.run(
                self._key(space),
                space.artifact,
                space.dockerfile,
                env,
                space.run_log.write,
                mounts=mounts,
            )
        except StartError as exc:
            space.stage, space.error = SpaceStage.RUNTIME_ERROR, str(exc)
            space.run_log.write(str(exc))
            space.run_log.close()
            return
        with space.lock:
            space.generation += 1
            space.app = app
            generation = space.generation
        timeout = space.config.startup_duration_timeout
        if self.settings.space_startup_timeout is not None:
            timeout = min(timeout, self.settings.space_startup_timeout)
        started = time.monotonic()
        deadline = started + timeout
        # An app that ignores $PORT is reached on its README's app_port, unless that port is
        # another Space's: a Space must not serve another's (private) app through its gateway.
        candidates = [port]
        if space.config.app_port not in self._ports_of_others(space):
            candidates.append(space.config.app_port)
        space.assigned_port = port
        while time.monotonic() < deadline:
            if space.generation != generation:
                return  # replaced or stopped meanwhile
            code = app.exit_code()
            if code is not None:
                self._fail(
                    space,
                    app,
                    f"the app exited with code {code} before listening "
                    f"on port {space.config.app_port}",
                )
                return
            listening = next((p for p in candidates if _listening(p)), None)
            if listening is not None:
                space.target_port = listening
                space.start_seconds = round(time.monotonic() - started, 3)
                space.stage = SpaceStage.RUNNING
                threading.Thread(
                    target=self._watch, args=(space, app, generation), daemon=True
                ).start()
                return
            time.sleep(0.1)
        self._fail(
            space,
            app,
            f"the app did not listen on port {space.config.app_port} "
            f"(or $PORT={port}) within {timeout:.0f}s",
        )

    def _mounts(self, repo: Repo, log: Callable[[str], None]) -> list[Mount]:
        """The Space's volumes as folders of this machine, looked up again at every start.

        A bucket is its own folder (so what the app writes outlives restarts, rebuilds and the
        Space). A repo is a read-only checkout of its files at the volume's revision (the
        branch head now, when none was pinned), shared by every Space mounting that commit.
        """
        mounts: list[Mount] = []
        for item in repo.attributes.get("volumes") or []:
            volume = VolumeSpec.from_body(item)
            if volume.type == "bucket":
                bucket = self.buckets.find(repo.realm, volume.namespace, volume.name)
                if bucket is None:
                    raise StartError(f"volume {volume.mount_path}: bucket {volume.source} is gone")
                # Spaces write in a bucket: its `path` is reached without following links.
                mounts.append(
                    Mount(
                        self.buckets.folder(bucket),
                        volume.path or "",
                        volume.mount_path,
                        read_only=not volume.writable,
                        description=f"bucket {volume.source}"
                        + (f" (path {volume.path!r})" if volume.path else ""),
                        create=True,
                    )
                )
                log(f"volume {volume.mount_path}: bucket {volume.source}")
                continue
            source = self.repos.find_repo(
                repo.realm, RepoType(volume.type), volume.namespace, volume.name
            )
            if source is None:
                raise StartError(
                    f"volume {volume.mount_path}: {volume.type} {volume.source} is gone"
                )
            try:
                commit = self.repos.resolve_revision(source, volume.revision or "main")
            except RevisionNotFound as exc:
                raise StartError(
                    f"volume {volume.mount_path}: {volume.source} has no revision "
                    f"{volume.revision or 'main'!r}"
                ) from exc
            folder = self._repo_checkout(source, commit, volume.path or "")
            mounts.append(
                Mount(
                    folder,
                    "",
                    volume.mount_path,
                    read_only=True,
                    description=f"{volume.type} {volume.source}",
                )
            )
            log(f"volume {volume.mount_path}: {volume.type} {volume.source} at {commit}")
        try:
            prepare_mounts(mounts)
        except UnsafeMountError as exc:
            raise StartError(str(exc)) from exc
        except OSError as exc:
            raise StartError(f"the volumes could not be prepared: {exc.strerror}") from exc
        return mounts

    def _repo_checkout(self, source: Repo, commit: str, prefix: str) -> Path:
        """The repo's files at `commit` (below `prefix`), materialised once per commit."""
        digest = hashlib.sha256(prefix.encode()).hexdigest()[:12]
        folder = self.root / "_volumes" / f"{source.id}-{commit}-{digest}"
        if folder.is_dir():
            return folder
        staging = folder.with_name(folder.name + f".{threading.get_ident()}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        base = f"{prefix}/" if prefix else ""
        for entry in self.repos.list_files(source, commit):
            if not entry.path.startswith(base):
                continue
            target = staging / entry.path[len(base) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            self.blobs.copy_to(entry.sha256, target)
        try:
            staging.rename(folder)
        except OSError:  # another start materialised it first
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    def _ports_of_others(self, space: _Space) -> set[int]:
        """Every port another Space's app or gateway uses."""
        with self._lock:
            others = [s for s in self._spaces.values() if s is not space]
        ports: set[int] = set()
        for other in others:
            ports.update(p for p in (other.assigned_port, other.target_port) if p)
            if other.gateway is not None:
                ports.add(other.gateway.port)
        return ports

    def _fail(self, space: _Space, app: AppHandle, message: str) -> None:
        app.stop()
        last = [line.text.strip() for line in space.run_log.since(0, tail=3)]
        if last:
            message += "; last log lines: " + " | ".join(last)
        with space.lock:
            space.app = None
            space.target_port = None
            space.generation += 1
        space.stage, space.error = SpaceStage.RUNTIME_ERROR, message
        space.run_log.close()

    def _watch(self, space: _Space, app: AppHandle, generation: int) -> None:
        while space.generation == generation and not self._closed:
            code = app.exit_code()
            if code is not None:
                if space.generation == generation:
                    self._fail(space, app, f"the app exited with code {code}")
                return
            time.sleep(0.2)

    def _stop_app(self, space: _Space) -> None:
        with space.lock:
            app, space.app = space.app, None
            space.generation += 1
            space.target_port = None
        if app is not None:
            app.stop()
            space.run_log.close()
