"""What a process-runtime Space may see: a bubblewrap sandbox shaped like a Hub container.

A Space on the Hub runs in a container as UID 1000 with the image's files, its own HOME, and
only the environment its Dockerfile, variables and secrets give it. The process runtime has no
image, so the sandbox shows the Space, read-only, what the image would have provided here: the
system's programs and libraries (`/usr`), the local Hub's own Python installation (the command
`python` runs with it), and the working directory chosen for Spaces; read-write, its own
checked-out files and a fresh HOME. Nothing else: not the local Hub's data dir (other Spaces'
secrets, private blobs), not the user's HOME or ZenML configuration, not other Spaces' files.

The environment is built from scratch by the caller (`clean_environment`): the server's own
environment never reaches a Space, sandboxed or not.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zenml_hf_registry.hub.settings import HubSettings
    from zenml_hf_registry.hub.spaces.volumes import Mount

__all__ = [
    "SPACE_APP",
    "SPACE_HOME",
    "SPACE_UID",
    "Sandbox",
    "SandboxUnavailableError",
    "clean_environment",
    "space_sandbox",
]

logger = logging.getLogger(__name__)

SPACE_UID = 1000
SPACE_HOME = "/home/user"
SPACE_APP = "/home/user/app"

# Files of /etc a program needs to resolve names, verify TLS and know the time; never the rest
# (the sandbox's user maps to the server's user outside, who may read /etc/shadow).
_ETC = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/mime.types",
)
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def clean_environment(env: dict[str, str], home: str) -> dict[str, str]:
    """The environment of a Space process: only `env` (Dockerfile ENV, variables, secrets,
    PORT, ...) over a minimal base, as a container starts with; none of the server's own."""
    base = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "user",
        "LOGNAME": "user",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    return {**base, **env}


class Sandbox:
    """Wraps a command in bubblewrap (`bwrap`): user, PID, IPC and UTS namespaces, UID 1000,
    a minimal read-only file system and the Space's own writable folders."""

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap

    @classmethod
    def find(cls) -> Sandbox | None:
        """A sandbox if bubblewrap is installed (Debian/Ubuntu: `apt-get install bubblewrap`)."""
        bwrap = shutil.which("bwrap")
        return cls(bwrap) if bwrap else None

    @staticmethod
    def python_paths() -> list[Path]:
        """The local Hub's Python installation and everything on its import path."""
        candidates = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.exec_prefix)]
        candidates += [Path(p) for p in sys.path if p]
        found: list[Path] = []
        for path in sorted({p.resolve() for p in candidates if p.is_dir()}, key=str):
            if not any(path.is_relative_to(kept) for kept in found):
                found.append(path)
        return found

    def wrap(
        self,
        command: list[str],
        *,
        files: Path,
        home: Path,
        workdir: Path | None,
        hidden: list[Path],
        mounts: Sequence[tuple[Mount, int]] = (),
    ) -> list[str]:
        """The command line that runs `command` in the sandbox.

        The Space's own `files` are writable at `/home/user/app` (the WORKDIR Hugging Face's
        Docker Spaces docs use) inside a writable `home`; `workdir`, when the server was given
        one, is shown read-only at its own path and is where the command starts. `hidden`
        folders (the local Hub's data dir) are covered by an empty tmpfs wherever a read-only
        mount would show them. The environment is not on this command line (secrets would
        show in `ps`): the caller starts it with the clean environment, which bubblewrap
        passes on. Volume `mounts` are bound at their targets last (outermost first), read-only
        unless the volume is a writable bucket, each from a descriptor open on its folder
        (`Mount.open`, which the caller passes on to bubblewrap): bubblewrap binds exactly
        that folder and resolves no path on the host, so a link a Space left in a bucket since
        the folder was opened cannot redirect the mount.
        """
        args = [
            self.bwrap,
            "--unshare-user",
            "--uid",
            str(SPACE_UID),
            "--gid",
            str(SPACE_UID),
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--hostname",
            "space",
            "--die-with-parent",
            "--new-session",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",  # noqa: S108 - an empty tmpfs of its own inside the sandbox
        ]
        for name in _SYSTEM_DIRS:
            path = Path(name)
            if path.is_symlink():
                args += ["--symlink", str(path.readlink()), name]
            elif path.is_dir():
                args += ["--ro-bind", name, name]
        for name in _ETC:
            args += ["--ro-bind-try", name, name]
        readonly = [*self.python_paths(), *([workdir.resolve()] if workdir else [])]
        for path in sorted(set(readonly), key=lambda p: len(p.parts)):
            args += ["--ro-bind", str(path), str(path)]
        for path in hidden:
            path = path.resolve()
            if any(path.is_relative_to(shown) for shown in readonly):
                args += ["--tmpfs", str(path)]
        args += ["--bind", str(home.resolve()), SPACE_HOME]
        args += ["--bind", str(files.resolve()), SPACE_APP]
        for mount, fd in sorted(mounts, key=lambda m: len(PurePosixPath(m[0].target).parts)):
            option = "--ro-bind-fd" if mount.read_only else "--bind-fd"
            args += [option, str(fd), mount.target]
        args += ["--chdir", str(workdir.resolve()) if workdir else SPACE_APP]
        return [*args, "--", *command]


class SandboxUnavailableError(RuntimeError):
    """Spaces must be sandboxed here and cannot be: the server refuses to start."""


def space_sandbox(settings: HubSettings) -> Sandbox | None:
    """The sandbox `settings.space_sandbox` asks for, or None (`none`, or `auto` without
    bubblewrap: Spaces then get a clean environment and their own HOME, nothing more)."""
    if settings.space_sandbox == "none":
        return None
    sandbox = Sandbox.find()
    if sandbox is None and settings.space_sandbox == "bubblewrap":
        raise SandboxUnavailableError(
            "space_sandbox=bubblewrap, but `bwrap` is not installed: "
            "install it (Debian/Ubuntu: apt-get install bubblewrap)"
        )
    if sandbox is None:
        logger.warning(
            "bubblewrap is not installed: process-runtime Spaces run as this user and can read "
            "what this user can (apt-get install bubblewrap to isolate them)"
        )
    return sandbox
