"""The two ways the local Hub runs a Space: as a local process, or as a Docker container.

`process` (default, no Docker needed) runs the Dockerfile's ENTRYPOINT/CMD on this machine,
with only the Dockerfile's ENV, the Space's variables and secrets, and `PORT` in the
environment (never the server's); a command starting with `python` runs with the Hub's own
interpreter. It does not emulate the image: the FROM image is not pulled, RUN/COPY/WORKDIR are
not applied. With bubblewrap installed it runs sandboxed (`sandbox.py`): UID 1000, its own
HOME, and no view of the local Hub's data or the user's files; the working directory is the
one chosen when the server started, or the Space's checked-out files.

`docker` builds the Space repo as the build context after pulling the FROM image anonymously
(as the Hub does: a private image is a BUILD_ERROR), then runs the container as UID 1000 on
the host network with variables and secrets as environment variables.

Volumes (`volumes.py`) are folders of this machine, one bind mount per volume at its mount
path, read-only unless the volume is a writable bucket; no link below the server's own folders
is followed on the host (a bucket holds what earlier Spaces wrote). The sandbox binds the
folders from descriptors opened link-free; Docker takes paths, checked link-free just before
the container starts. The process runtime without a sandbox cannot place a folder at an
absolute path, so it refuses to start with any.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from zenml_hf_registry.hub.spaces.models import Dockerfile
from zenml_hf_registry.hub.spaces.sandbox import SPACE_HOME, Sandbox, clean_environment
from zenml_hf_registry.hub.spaces.volumes import Mount, UnsafeMountError

__all__ = [
    "AppHandle",
    "BuildError",
    "DockerRuntime",
    "ProcessRuntime",
    "Runtime",
    "StartError",
    "port_in_use",
]

Log = Callable[[str], None]


class BuildError(Exception):
    """The Space could not be built; the message says why (shown as `errorMessage`)."""


class StartError(Exception):
    """The app could not be started at all (RUNTIME_ERROR)."""


class AppHandle(Protocol):
    """A started app."""

    def exit_code(self) -> int | None:
        """None while it runs, else its exit status."""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop it (gracefully, then by force) and wait until it is gone."""


class Runtime(Protocol):
    """Builds and runs Spaces."""

    name: str

    def build(
        self, key: str, context: Path, dockerfile: Dockerfile, build_args: dict[str, str], log: Log
    ) -> str:
        """Build the Space; returns what `run` needs (an image id, a context path)."""

    def run(
        self,
        key: str,
        artifact: str,
        dockerfile: Dockerfile,
        env: dict[str, str],
        log: Log,
        *,
        mounts: Sequence[Mount] = (),
    ) -> AppHandle:
        """Start the built app with this environment and these volumes; its output goes to
        `log`."""

    def remove(self, key: str) -> None:
        """Forget everything built for this Space."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already accepts connections on this port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pump(stream: Any, log: Log) -> None:
    for raw in iter(stream.readline, b""):
        log(raw.decode("utf-8", errors="replace").rstrip("\n"))
    stream.close()


class _ProcessHandle:
    def __init__(self, process: subprocess.Popen[bytes], reader: threading.Thread) -> None:
        self._process = process
        self._reader = reader

    def exit_code(self) -> int | None:
        return self._process.poll()

    def stop(self, timeout: float = 10.0) -> None:
        if self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout)
            except ProcessLookupError:
                pass
        self._reader.join(timeout)


class ProcessRuntime:
    """Runs the Dockerfile's command as a local process group, sandboxed when it can be."""

    name = "process"

    def __init__(
        self,
        workdir: Path | None = None,
        sandbox: Sandbox | None = None,
        hidden: tuple[Path, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.sandbox = sandbox
        self.hidden = hidden

    def build(
        self, key: str, context: Path, dockerfile: Dockerfile, build_args: dict[str, str], log: Log
    ) -> str:
        log(f"process runtime: FROM {dockerfile.base_image} is not pulled; RUN/COPY are skipped")
        if not dockerfile.command:
            raise BuildError("the Dockerfile has no CMD or ENTRYPOINT to run")
        log(f"command: {dockerfile.command}")
        return str(context)

    def run(
        self,
        key: str,
        artifact: str,
        dockerfile: Dockerfile,
        env: dict[str, str],
        log: Log,
        *,
        mounts: Sequence[Mount] = (),
    ) -> AppHandle:
        files = Path(artifact)
        # A fresh HOME per start, next to the Space's files: a container's is ephemeral too.
        home = files.parent / "home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        full_env = clean_environment(env, SPACE_HOME if self.sandbox else str(home))
        command = list(dockerfile.command)
        # "python" in a Space's command means the image's Python; here, the Hub's own (its
        # virtualenv has the packages the image would), whatever PATH says.
        if command[0] in ("python", "python3"):
            command[0] = sys.executable
        executable = shutil.which(command[0], path=full_env.get("PATH"))
        if executable is None:
            raise StartError(f"executable {command[0]!r} not found on PATH")
        cwd = self.workdir or files
        argv = [executable, *command[1:]]
        if mounts and self.sandbox is None:
            raise StartError(
                "volumes are mounted only in the bubblewrap sandbox or with the docker "
                "runtime: install bubblewrap, or serve the local Hub with the docker runtime"
            )
        fds: list[int] = []
        try:
            if self.sandbox is not None:
                for mount in mounts:
                    fds.append(mount.open())
                argv = self.sandbox.wrap(
                    argv,
                    files=files,
                    home=home,
                    workdir=self.workdir,
                    hidden=list(self.hidden),
                    mounts=list(zip(mounts, fds, strict=True)),
                )
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=fds,
            )
        except UnsafeMountError as exc:
            raise StartError(str(exc)) from exc
        except OSError as exc:
            raise StartError(f"could not start {command[0]!r}: {exc}") from exc
        finally:
            for fd in fds:
                os.close(fd)
        reader = threading.Thread(target=_pump, args=(process.stdout, log), daemon=True)
        reader.start()
        return _ProcessHandle(process, reader)

    def remove(self, key: str) -> None:
        """Nothing is kept outside the Space's checkout."""


class _ContainerHandle:
    def __init__(self, container: Any, reader: threading.Thread) -> None:
        self._container = container
        self._reader = reader

    def exit_code(self) -> int | None:
        self._container.reload()
        if self._container.status in ("created", "running", "restarting"):
            return None
        return int(self._container.attrs.get("State", {}).get("ExitCode", 1))

    def stop(self, timeout: float = 10.0) -> None:
        from docker.errors import NotFound

        with contextlib.suppress(NotFound):
            self._container.stop(timeout=int(timeout))
            self._container.remove(force=True)
        self._reader.join(timeout)


def _split_reference(reference: str) -> tuple[str, str]:
    """`repo[:tag][@digest]` -> (repo, tag or digest) as `docker pull` takes them."""
    if "@" in reference:
        repo, _, digest = reference.partition("@")
        return repo, digest
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = reference.rpartition(":")
        return repo, tag
    return reference, "latest"


class DockerRuntime:
    """Builds the Space repo with a Docker engine and runs it as a container."""

    name = "docker"

    def __init__(self, client: Any | None = None) -> None:
        if client is None:
            import docker

            client = docker.from_env(timeout=300)
        self.client = client

    @staticmethod
    def _tag(key: str) -> str:
        return f"zhr-space/{key}:latest"

    def build(
        self, key: str, context: Path, dockerfile: Dockerfile, build_args: dict[str, str], log: Log
    ) -> str:
        from docker.errors import APIError

        repository, tag = _split_reference(dockerfile.base_image)
        log(f"pulling {dockerfile.base_image} anonymously")
        try:
            # An explicit empty auth config: the Hub's builders have no registry credentials.
            for line in self.client.api.pull(
                repository, tag=tag, stream=True, decode=True, auth_config={}
            ):
                if "error" in line:
                    raise BuildError(
                        f"cannot pull {dockerfile.base_image} anonymously: {line['error']} "
                        "(Spaces can only use public images)"
                    )
        except APIError as exc:
            raise BuildError(
                f"cannot pull {dockerfile.base_image} anonymously: {exc.explanation or exc} "
                "(Spaces can only use public images)"
            ) from exc
        failure: str | None = None
        try:
            for chunk in self.client.api.build(
                path=str(context),
                tag=self._tag(key),
                buildargs=build_args,
                rm=True,
                forcerm=True,
                decode=True,
                network_mode="host",
            ):
                if "stream" in chunk:
                    for text in chunk["stream"].splitlines():
                        if text.strip():
                            log(text)
                if "error" in chunk:
                    failure = str(chunk["error"]).strip()
        except APIError as exc:
            raise BuildError(f"docker build failed: {exc.explanation or exc}") from exc
        if failure is not None:
            log(failure)
            raise BuildError(f"docker build failed: {failure}")
        image = self.client.images.get(self._tag(key))
        return str(image.id)

    def run(
        self,
        key: str,
        artifact: str,
        dockerfile: Dockerfile,
        env: dict[str, str],
        log: Log,
        *,
        mounts: Sequence[Mount] = (),
    ) -> AppHandle:
        from docker.errors import APIError, NotFound

        name = f"zhr-space-{key}"
        with contextlib.suppress(NotFound):
            self.client.containers.get(name).remove(force=True)
        from docker.types import Mount as DockerMount

        binds: list[Any] = []
        try:
            for mount in mounts:
                # The engine takes a path: checked link-free here, right before it mounts it.
                fd = mount.open()
                try:
                    # The container runs as UID 1000, which need not own the folder here (the
                    # data dir itself is private to the server's user).
                    if not mount.read_only and os.fstat(fd).st_uid != 1000:
                        os.fchmod(fd, 0o777)
                finally:
                    os.close(fd)
                binds.append(
                    DockerMount(
                        mount.target, str(mount.source), type="bind", read_only=mount.read_only
                    )
                )
        except UnsafeMountError as exc:
            raise StartError(str(exc)) from exc
        except OSError as exc:
            raise StartError(f"the volumes could not be prepared: {exc.strerror}") from exc
        try:
            container = self.client.containers.run(
                artifact,
                detach=True,
                name=name,
                user="1000",
                network_mode="host",
                environment=env,
                mounts=binds,
                labels={"zenml-hf-registry.space": key},
            )
        except APIError as exc:
            raise StartError(f"could not start the container: {exc.explanation or exc}") from exc

        def follow() -> None:
            try:
                for raw in container.logs(stream=True, follow=True):
                    for text in raw.decode("utf-8", errors="replace").splitlines():
                        log(text)
            except APIError:
                return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        return _ContainerHandle(container, reader)

    def remove(self, key: str) -> None:
        from docker.errors import APIError

        with contextlib.suppress(APIError):
            self.client.images.remove(self._tag(key), force=True)
