"""Bad input to the deployer, table-driven: a clear error, and nothing on the Hub.

Each case deploys the example pipeline in-process on a local ZenML store against the local
Hub, with one thing wrong, and checks the error text and that the Hub saw no write at all:
no repo, no commit, no Space setting.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from tests.conftest import HubTokens, hub_stats
from tests.integration.zenml_stacks import LOCAL_HUB_SETTINGS, register_hf_stack
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Case:
    """One thing wrong; `expect` are fragments the error must contain."""

    id: str
    expect: tuple[str, ...]
    config: dict[str, Any] = field(default_factory=dict)  # deployer component config
    settings: dict[str, Any] = field(default_factory=dict)  # pipeline deployer settings
    token: str = "writer"  # writer | reader | outsider | wrong | none
    secret: dict[str, str] | None = None  # a ZenML secret `hf_token` with these values
    image: str | None = None  # parent image instead of the example's
    at_registration: bool = False  # refused when the component is registered
    # refused by the deployer's stack validation, which ZenML runs before it compiles a
    # snapshot or builds an image
    before_build: bool = False


CASES = [
    Case("wrong token", ("token", "refused"), token="wrong", before_build=True),
    Case("no token source", ("needs a token", "--secret_name"), token="none", before_build=True),
    Case(
        "missing ZenML secret",
        ("hf_token", "does not exist"),
        config={"secret_name": "hf_token"},
        token="none",
        before_build=True,
    ),
    Case(
        "ZenML secret without token",
        ("hf_token", "token"),
        config={"secret_name": "hf_token"},
        token="none",
        secret={"value": "x"},
        before_build=True,
    ),
    Case(
        "token reference to a missing secret",
        ("hf_token", "does not exist"),
        config={"token": "{{hf_token.token}}"},
        token="none",
        before_build=True,
    ),
    Case("read-only token", ("read-only", "write access"), token="reader", before_build=True),
    Case(
        "organization not writable",
        ("not a member of 'acme'", "carol"),
        token="outsider",
        before_build=True,
    ),
    Case(
        "unknown organization",
        ("not a member of 'bad org!'", "one of: acme, alice"),
        config={"organization": "bad org!"},
        before_build=True,
    ),
    # A Hub that does not answer only warns at validation (an outage may pass); the deploy's
    # own check stops it, still before ZenML records a deployment.
    Case(
        "Hub not answering",
        ("cannot reach the Hub", "127.0.0.1"),
        config={"endpoint": f"http://127.0.0.1:{closed_port()}"},
    ),
    Case(
        "Space prefix",
        ("space_prefix", "has no letters or digits"),
        config={"space_prefix": "--"},
        at_registration=True,
    ),
    Case(
        "hardware name",
        ("space_hardware", "gpu-9000", "cpu-basic"),
        settings={"space_hardware": "gpu-9000"},
    ),
    # Settings errors never echo the input (it could be a secret): they name the choices.
    Case(
        "storage tier",
        ("space_storage", "true", "'small', 'medium' or 'large'"),
        settings={"space_storage": "huge"},
    ),
    Case(
        "relative volume mount path",
        ("space_volumes", "mount_path 'model' must be an absolute path"),
        settings={
            "space_volumes": [{"type": "model", "source": "acme/weights", "mount_path": "model"}]
        },
    ),
    Case(
        "volume inside the storage bucket's /data",
        ("space_volumes", "the space_storage bucket at /data overlap"),
        settings={
            "space_storage": True,
            "space_volumes": [{"type": "bucket", "source": "acme/b", "mount_path": "/data/x"}],
        },
    ),
    Case(
        "writable repo volume",
        ("repos are always mounted read-only",),
        settings={
            "space_volumes": [
                {"type": "dataset", "source": "acme/d", "mount_path": "/d", "read_only": False}
            ]
        },
    ),
    Case("app port", ("app_port",), settings={"app_port": 70000}),
    Case(
        "environment name",
        ("environment", "1BAD"),
        settings={"environment": {"1BAD": "x"}},
    ),
    Case(
        "private with an auth key",
        ("private", "auth_key"),
        settings={"private": True, "auth_key": "k" * 32},
    ),
    Case("malformed image", ("invalid image reference",), image="Not/An Image"),
    Case(
        "image nobody can pull",
        ("cannot pull the image", "publicly pullable"),
        image=f"127.0.0.1:{closed_port()}/acme/app:1.0",
        settings={"verify_image": True},
    ),
    Case(
        "malformed endpoint",
        ("endpoint",),
        config={"endpoint": "ftp://hub.example"},
        at_registration=True,
    ),
    Case(
        "invalid hardware on the component",
        ("space_hardware", "gpu-9000"),
        config={"space_hardware": "gpu-9000"},
        at_registration=True,
    ),
]


@pytest.fixture
def hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    with LocalHub(hub_settings) as running:
        yield running


def hub_writes(hub: LocalHub) -> dict[str, int]:
    requests: dict[str, int] = hub_stats(hub)["requests"]
    return {
        route: n
        for route, n in requests.items()
        if not route.startswith(("GET ", "HEAD ")) and "/_emulator/" not in route
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_before_anything_is_created(
    case: Case,
    clean_zenml: Any,
    hub: LocalHub,
    hub_tokens: HubTokens,
    tmp_path: Path,
) -> None:
    from examples.hello_pipeline.pipeline import hello_pipeline

    tokens = {
        "writer": hub_tokens.writer.token,
        "reader": hub_tokens.reader.token,
        "outsider": hub_tokens.outsider.token,
        "wrong": "not-a-token-of-this-hub",
        "none": None,
    }
    config: dict[str, Any] = {"endpoint": hub.url, "organization": "acme"}
    if tokens[case.token]:
        config["token"] = tokens[case.token]
    config.update(case.config)
    if case.secret is not None:
        clean_zenml.create_secret("hf_token", values=case.secret)

    if case.at_registration:
        with pytest.raises(Exception) as refused:  # ZenML wraps pydantic's error
            register_hf_stack(clean_zenml, config)
    else:
        register_hf_stack(clean_zenml, config)
        settings = {
            "docker": {
                **LOCAL_HUB_SETTINGS["docker"],
                **({"parent_image": case.image} if case.image else {}),
            },
            "deployer": {**LOCAL_HUB_SETTINGS["deployer"], **case.settings},
        }
        with pytest.raises(Exception) as refused:  # their types vary
            hello_pipeline.with_options(settings=settings).deploy(
                deployment_name="bad-input", timeout=30
            )

    message = str(refused.value)
    for fragment in case.expect:
        assert fragment in message, f"{fragment!r} not in: {message}"
    for token in filter(None, tokens.values()):
        assert token not in message
    assert hub_writes(hub) == {}
    assert list(HfApi(endpoint=hub.url, token=hub_tokens.writer.token).list_spaces()) == []
    if case.token in ("wrong", "reader", "outsider") or case.before_build:
        # Checked before ZenML records the deployment: nothing to clean up by hand.
        assert [d.name for d in clean_zenml.list_deployments()] == []
    if case.before_build:
        # ...and before it compiled a snapshot or built anything.
        assert clean_zenml.list_snapshots().total == 0
        assert clean_zenml.list_builds().total == 0
