"""Suite-wide isolation: every test process gets its own HOME, HF_HOME and ZenML config.

This module runs before any test module imports huggingface_hub or ZenML, both of which read
their environment once at import. Nothing here touches the user's ~/.cache, ~/.config or ZenML.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_ISOLATED_ROOT = Path(tempfile.mkdtemp(prefix="zhr-tests-"))
for _name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "ZENML_STORE_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "HOME": str(_ISOLATED_ROOT / "home"),
        "XDG_CACHE_HOME": str(_ISOLATED_ROOT / "home" / ".cache"),
        "XDG_CONFIG_HOME": str(_ISOLATED_ROOT / "home" / ".config"),
        "HF_HOME": str(_ISOLATED_ROOT / "hf"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "ZENML_CONFIG_PATH": str(_ISOLATED_ROOT / "zenml"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_AUTO_OPEN_DASHBOARD": "false",
        "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
        "AUTO_OPEN_DASHBOARD": "false",
    }
)
(_ISOLATED_ROOT / "home").mkdir(parents=True, exist_ok=True)


import urllib.request  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402

from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec  # noqa: E402
from zenml_hf_registry.hub.settings import RegistrySpec  # noqa: E402


def _docker_required() -> bool:
    return os.environ.get("ZHR_REQUIRE_DOCKER") == "1"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of the Docker engine at DOCKER_HOST; skips (or fails in CI) when none answers."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        reason = (
            f"no Docker engine reachable at DOCKER_HOST={os.environ.get('DOCKER_HOST')!r}: {exc}"
        )
        if _docker_required():
            pytest.fail(reason)
        pytest.skip(reason + " (scripts/services.sh start provides one)")
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_registry() -> str:
    """Address of the plain (anonymous, insecure) registry the suite pushes to."""
    address = os.environ.get("ZHR_TEST_REGISTRY", "127.0.0.1:5000")
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=5) as response:
            response.read()
    except OSError as exc:
        reason = f"no container registry answering at {address}: {exc}"
        if _docker_required():
            pytest.fail(reason)
        pytest.skip(reason + " (scripts/services.sh start provides one)")
    return address


@dataclass(frozen=True)
class HubTokens:
    """The tokens every test Hub accepts."""

    writer: TokenSpec  # alice, member of acme, write
    reader: TokenSpec  # bob, member of acme, read-only
    outsider: TokenSpec  # carol, no orgs, write (to her own namespace only)


@pytest.fixture(scope="session")
def hub_tokens() -> HubTokens:
    """Tokens for the three roles the tests play."""
    return HubTokens(
        writer=TokenSpec(
            token="tok-alice-write", user="alice", role=TokenRole.WRITE, orgs=("acme",)
        ),
        reader=TokenSpec(token="tok-bob-read", user="bob", role=TokenRole.READ, orgs=("acme",)),
        outsider=TokenSpec(token="tok-carol-write", user="carol", role=TokenRole.WRITE),
    )


@pytest.fixture
def hub_settings(tmp_path: Path, hub_tokens: HubTokens) -> HubSettings:
    """Settings of a fresh Hub in this test's own data dir, with small LFS/multipart sizes."""
    return HubSettings(
        data_dir=tmp_path / "hub-data",
        tokens=(hub_tokens.writer, hub_tokens.reader, hub_tokens.outsider),
        # The registry most tests publish to; alice writes and bob reads there too.
        registries=(
            RegistrySpec(org="acme", name="models", tokens=(hub_tokens.writer, hub_tokens.reader)),
        ),
        lfs_threshold=1024 * 1024,
        multipart_threshold=6 * 1024 * 1024,
        multipart_chunk_size=5 * 1024 * 1024,
    )


@pytest.fixture
def hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    """A local Hub on a free loopback port, stopped after the test."""
    with LocalHub(hub_settings) as running:
        yield running


@pytest.fixture
def lfs_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests of the LFS transfer protocol itself: the client uploads over LFS, not Xet."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


@pytest.fixture
def api(hub: LocalHub, hub_tokens: HubTokens) -> HfApi:
    """The real client, as alice (write access to acme)."""
    return HfApi(endpoint=hub.url, token=hub_tokens.writer.token)


def hub_stats(hub: LocalHub) -> dict[str, Any]:
    """The emulator's request counters (through its control plane, with the admin token)."""
    return hub.control.stats()


def space_counters(hub: LocalHub, space_id: str) -> dict[str, Any]:
    """A Space's builds, restarts, stage and timings, as the emulator counts them."""
    return hub.control.space(space_id)


def hub_faults(hub: LocalHub, verb: str = "GET", **rule: Any) -> Any:
    """The emulator's fault rules: POST arms `rule`, DELETE disarms all, GET reads them."""
    if verb == "POST":
        hub.control.add_fault(**rule)
        return None
    if verb == "DELETE":
        hub.control.clear_faults()
        return None
    return hub.control.faults()


@pytest.fixture
def clean_zenml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh local ZenML store and client in this test's own config dir (ZenML's recipe)."""
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration
    from zenml.utils import source_utils

    config = tmp_path / "zenml-config"
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config))
    monkeypatch.chdir(tmp_path)
    GlobalConfiguration._reset_instance()  # type: ignore[attr-defined]
    Client._reset_instance()  # type: ignore[attr-defined]
    # ZenML derives the source root from __main__'s file, which pytest-xdist workers do not
    # have. Pin it to the test's own directory: the plugin and the test modules then stay
    # outside it and load by module name, as they do for a user's pipeline.
    source_utils.set_custom_source_root(str(tmp_path))
    try:
        yield Client()
    finally:
        source_utils.set_custom_source_root(None)
        GlobalConfiguration._reset_instance()  # type: ignore[attr-defined]
        Client._reset_instance()  # type: ignore[attr-defined]
