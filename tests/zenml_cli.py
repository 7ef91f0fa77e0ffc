"""The `zenml` CLI in an isolated config dir, for the end-to-end and Docker tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZENML = Path(sys.executable).with_name("zenml")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ZenML:
    """The `zenml` CLI in an isolated config dir, logged in to its own local server."""

    def __init__(self, root: Path) -> None:
        self.env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(root / "zenml"),
            "HOME": str(root / "home"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_AUTO_OPEN_DASHBOARD": "false",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
            "COLUMNS": "250",
        }
        (root / "home").mkdir(parents=True, exist_ok=True)

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 240, cwd: Path = ROOT
    ) -> str:
        result = subprocess.run(
            [str(ZENML), *args],
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = result.stdout + result.stderr
        if check and result.returncode != 0:
            raise AssertionError(f"zenml {' '.join(args)} failed ({result.returncode}):\n{output}")
        return output

    def setup_stack(self, hf_token: str, *options: str, cwd: Path = ROOT) -> str:
        """Run the example's documented `setup_stack.sh` (secret, deployer, stack) from `cwd`,
        with the token in the environment only; its output."""
        script = cwd / "examples" / "hello_pipeline" / "setup_stack.sh"
        result = subprocess.run(
            [str(script), *options],
            env={**self.env, "HF_TOKEN": hf_token, "ZENML": str(ZENML)},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=240,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        return output

    @staticmethod
    def space_id(details: str) -> str:
        """The Space id in `zenml deployment describe NAME --show-metadata` output."""
        return next(
            line.split(":", 1)[1].strip()
            for line in details.splitlines()
            if line.strip().startswith("space_id:")
        )
