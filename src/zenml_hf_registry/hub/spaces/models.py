"""What a Docker Space is made of: stages, hardware names, README front matter, Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml
from huggingface_hub import SpaceHardware, constants

__all__ = [
    "HARDWARE_NAMES",
    "SPACE_SDKS",
    "ConfigError",
    "Dockerfile",
    "SpaceConfig",
    "SpaceStage",
    "parse_dockerfile",
    "parse_front_matter",
]

# The SDKs a Space may declare, as huggingface_hub knows them.
SPACE_SDKS: tuple[str, ...] = tuple(constants.SPACES_SDK_TYPES)
# The names huggingface_hub itself knows, so the emulator accepts exactly what the client sends.
HARDWARE_NAMES: tuple[str, ...] = tuple(h.value for h in SpaceHardware)


class SpaceStage(StrEnum):
    """Runtime stages, as the Hub reports them in `runtime.stage`."""

    NO_APP_FILE = "NO_APP_FILE"
    CONFIG_ERROR = "CONFIG_ERROR"
    BUILDING = "BUILDING"
    BUILD_ERROR = "BUILD_ERROR"
    APP_STARTING = "APP_STARTING"
    RUNNING_APP_STARTING = "RUNNING_APP_STARTING"
    RUNNING = "RUNNING"
    RUNNING_BUILDING = "RUNNING_BUILDING"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    SLEEPING = "SLEEPING"
    DELETING = "DELETING"


class ConfigError(ValueError):
    """The Space's README front matter or Dockerfile cannot be used (CONFIG_ERROR)."""


_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smh])\s*$")


def _duration_seconds(value: Any, field_name: str) -> float:
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION_RE.fullmatch(str(value))
    if not match:
        raise ConfigError(f"{field_name}: {value!r} is not a duration like '30m', '90s' or '1h'")
    return float(int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]])


@dataclass(frozen=True)
class SpaceConfig:
    """The parts of the README front matter the runtime uses."""

    sdk: str = "docker"
    app_file: str = "app.py"
    app_port: int = 7860
    startup_duration_timeout: float = 30 * 60.0
    title: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def parse_front_matter(readme: bytes | None, default_sdk: str = "docker") -> SpaceConfig:
    """Read `sdk`, `app_file`, `app_port`, `startup_duration_timeout` from the README's YAML
    front matter; `default_sdk` (the one given at creation) when the README names none."""
    default = SpaceConfig(
        sdk=default_sdk, app_file="index.html" if default_sdk == "static" else "app.py"
    )
    if readme is None:
        return default
    text = readme.decode("utf-8", errors="replace")
    if not text.startswith("---"):
        return default
    try:
        _, block, _ = text.split("---", 2)
    except ValueError as exc:
        raise ConfigError("README.md front matter is not closed by a '---' line") from exc
    try:
        data = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"README.md front matter is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError("README.md front matter must be a mapping")
    sdk = str(data.get("sdk", default_sdk))
    if sdk not in SPACE_SDKS:
        raise ConfigError(f"sdk: {sdk!r} is not a Space SDK; use one of {', '.join(SPACE_SDKS)}")
    app_file = data.get("app_file", "index.html" if sdk == "static" else "app.py")
    if not isinstance(app_file, str) or not app_file or app_file.startswith(("/", "..")):
        raise ConfigError(f"app_file: {app_file!r} is not a path in the repo")
    port = data.get("app_port", 7860)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"app_port: {port!r} is not a port number (1-65535)")
    timeout = _duration_seconds(
        data.get("startup_duration_timeout", "30m"), "startup_duration_timeout"
    )
    return SpaceConfig(
        sdk=sdk,
        app_file=app_file,
        app_port=port,
        startup_duration_timeout=timeout,
        title=data.get("title"),
        raw=data,
    )


@dataclass(frozen=True)
class Dockerfile:
    """The instructions of a Dockerfile the process runtime honours, and the base image."""

    base_image: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> list[str]:
        """ENTRYPOINT + CMD, as Docker joins them."""
        return [*self.entrypoint, *self.cmd]


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def _command(value: str, instruction: str) -> tuple[str, ...]:
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise ConfigError(f"{instruction} {value}: exec form is not a JSON array") from exc
        if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
            raise ConfigError(f"{instruction} {value}: exec form must be a list of strings")
        return tuple(parsed)
    return ("/bin/sh", "-c", value)


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse FROM, ENV, ENTRYPOINT and CMD (later instructions win, as in Docker)."""
    base: str | None = None
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = {}
    for line in _logical_lines(text):
        instruction, _, value = line.partition(" ")
        instruction, value = instruction.upper(), value.strip()
        if instruction == "FROM":
            base = value.split()[0] if value else None
            entrypoint, cmd = (), ()  # a new stage starts over
        elif instruction == "ENV":
            if "=" in value.split(" ", 1)[0]:
                for pair in shlex.split(value):
                    key, _, val = pair.partition("=")
                    env[key] = val
            else:
                key, _, val = value.partition(" ")
                env[key] = val.strip()
        elif instruction == "ENTRYPOINT":
            entrypoint = _command(value, "ENTRYPOINT")
            cmd = ()
        elif instruction == "CMD":
            cmd = _command(value, "CMD")
    if not base:
        raise ConfigError("the Dockerfile has no FROM instruction")
    return Dockerfile(base_image=base, entrypoint=entrypoint, cmd=cmd, env=env)
