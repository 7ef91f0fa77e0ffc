"""The deployer as a ZenML stack component on a real local store: registration and image needs."""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import pytest
from click.testing import CliRunner
from zenml.enums import StackComponentType

from tests.conftest import HubTokens, hub_stats
from tests.integration.zenml_stacks import register_hf_stack
from zenml_hf_registry import __version__
from zenml_hf_registry.cli import cli
from zenml_hf_registry.deployer.deployer import HuggingFaceDeployer
from zenml_hf_registry.hub import LocalHub
from zenml_hf_registry.images import private_registry_kind

pytestmark = pytest.mark.integration


def test_components_with_the_builtin_flavors_keys_load_as_this_plugin(clean_zenml: Any) -> None:
    # The config keys ZenML's own `huggingface` deployer stored: they keep working.
    register_hf_stack(
        clean_zenml,
        {
            "token": "hf_component_token",
            "organization": "acme",
            "space_prefix": "ml",
            "space_hardware": "cpu-upgrade",
            "space_storage": "small",
            "private": True,
        },
    )
    deployer = clean_zenml.active_stack.deployer
    assert isinstance(deployer, HuggingFaceDeployer)
    assert deployer.config.organization == "acme"
    assert deployer.config.space_hardware == "cpu-upgrade"
    assert deployer.config.private is True


def test_the_image_installs_the_plugin_not_the_hugging_face_integration(clean_zenml: Any) -> None:
    register_hf_stack(clean_zenml, {"token": "hf_component_token"})
    requirements = clean_zenml.active_stack.requirements()
    assert f"zenml-hf-registry=={__version__}" in requirements
    heavy = {r for r in requirements if r.startswith(("transformers", "torch", "datasets"))}
    assert heavy == set()


def test_invalid_settings_are_refused_when_registering(clean_zenml: Any) -> None:
    with pytest.raises(ValueError, match="space_hardware") as refused:
        clean_zenml.create_stack_component(
            name="bad",
            flavor="huggingface",
            component_type=StackComponentType.DEPLOYER,
            configuration={"token": "{{hf_token.token}}", "space_hardware": "gpu-9000"},
        )
    assert "cpu-basic" in str(refused.value)  # the allowed values are listed
    assert "hf_component_token" not in str(refused.value)
    names = [c.name for c in clean_zenml.list_stack_components(type="deployer")]
    assert "bad" not in names


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "Amazon ECR"),
        ("eu.gcr.io/acme", "Google Container Registry"),
        ("europe-west4-docker.pkg.dev/acme/images", "Google Artifact Registry"),
        ("acme.azurecr.io", "Azure Container Registry"),
        ("docker.io/acme", None),
        ("ghcr.io/acme", None),
        ("public.ecr.aws/acme", None),
        ("registry.hf.space", None),
        ("127.0.0.1:5000", None),
    ],
)
def test_private_by_default_registries_are_recognised(uri: str, kind: str | None) -> None:
    assert private_registry_kind(uri) == kind


def test_a_stack_with_a_private_by_default_registry_warns_when_validated(
    clean_zenml: Any, caplog: pytest.LogCaptureFixture, hub: LocalHub, hub_tokens: HubTokens
) -> None:
    clean_zenml.create_stack_component(
        name="ecr",
        flavor="default",
        component_type=StackComponentType.CONTAINER_REGISTRY,
        configuration={"uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
    )
    # Validation also checks the token at the Hub: the local one, never huggingface.co.
    local = {"token": hub_tokens.writer.token, "endpoint": hub.url, "organization": "acme"}
    register_hf_stack(clean_zenml, local, stack="hf-ecr", container_registry="ecr")
    with caplog.at_level(logging.WARNING):
        clean_zenml.active_stack.validate()
    warning = next(r.getMessage() for r in caplog.records if "Amazon ECR" in r.getMessage())
    assert "pull their image anonymously" in warning
    assert hub_tokens.writer.token not in caplog.text
    assert "build_in_space" in warning  # the way out that needs no public registry

    # With Space-build mode on, the registry is never used for the Space: no warning.
    register_hf_stack(
        clean_zenml,
        {**local, "build_in_space": True},
        deployer="hf-built",
        stack="hf-ecr-built",
        container_registry="ecr",
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        clean_zenml.active_stack.validate()
    assert "Amazon ECR" not in caplog.text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_hub_checks_run_at_stack_use_and_on_request(
    clean_zenml: Any,
    hub: LocalHub,
    hub_tokens: HubTokens,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`zenml-hf-registry deployer check` and the stack validation ZenML runs before a build:
    secret, Hub, token and organization, with the documented exit codes."""
    register_hf_stack(
        clean_zenml, {"token": hub_tokens.writer.token, "endpoint": hub.url, "organization": "acme"}
    )
    clean_zenml.create_secret("carol-token", values={"token": hub_tokens.outsider.token})
    for name, config in {
        "hf-outsider": {"secret_name": "carol-token", "organization": "acme"},
        "hf-no-secret": {"secret_name": "no-such-secret"},
        "hf-down": {"secret_name": "carol-token", "endpoint": f"http://127.0.0.1:{_closed_port()}"},
    }.items():
        clean_zenml.create_stack_component(
            name=name,
            flavor="huggingface",
            component_type=StackComponentType.DEPLOYER,
            configuration={"endpoint": hub.url, **config},
        )

    def check(*name: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["deployer", "check", *name])
        assert result.exception is None or isinstance(result.exception, SystemExit)
        output = result.output
        for token in (hub_tokens.writer.token, hub_tokens.outsider.token):
            assert token not in output
        return result.exit_code, output

    whoami_before = hub_stats(hub)["requests"].get("GET /api/whoami-v2", 0)
    assert check() == (0, f"hf: the token may create Spaces in acme at {hub.url}\n")
    code, output = check("hf-outsider")
    assert code == 3
    assert "carol is not a member of 'acme'" in output
    code, output = check("hf-no-secret")
    assert code == 2
    assert "no-such-secret' does not exist" in output
    code, output = check("hf-down")
    assert code == 5
    assert "cannot reach the Hub" in output

    # ZenML's stack validation (run before it compiles or builds) fails on a refused token...
    clean_zenml.create_stack(
        name="outsider-stack",
        components={
            StackComponentType.ORCHESTRATOR: "default",
            StackComponentType.ARTIFACT_STORE: "default",
            StackComponentType.DEPLOYER: "hf-outsider",
        },
    )
    clean_zenml.activate_stack("outsider-stack")
    with pytest.raises(Exception, match="not a member of 'acme'"):
        clean_zenml.active_stack.validate()
    # Processes ZenML starts through its entrypoint (a Space's app validates the stack when
    # it starts) check nothing: the checks are for the client about to deploy.
    with monkeypatch.context() as inside:
        inside.setattr(sys, "argv", ["entrypoint.py", "--entrypoint_config_source", "x"])
        clean_zenml.active_stack.validate()
    # ...and only warns when the Hub does not answer (the deploy checks again).
    clean_zenml.create_stack(
        name="down-stack",
        components={
            StackComponentType.ORCHESTRATOR: "default",
            StackComponentType.ARTIFACT_STORE: "default",
            StackComponentType.DEPLOYER: "hf-down",
        },
    )
    clean_zenml.activate_stack("down-stack")
    with caplog.at_level(logging.WARNING):
        clean_zenml.active_stack.validate()
    assert "cannot reach the Hub" in caplog.text
    assert "check again" in caplog.text

    # A check that passed is not repeated in the same process (a refused one is).
    clean_zenml.activate_stack("hf-stack")
    clean_zenml.active_stack.validate()
    clean_zenml.active_stack.validate()
    whoami = hub_stats(hub)["requests"].get("GET /api/whoami-v2", 0) - whoami_before
    assert whoami == 3  # alice once (the check, then two validations), carol twice (refused)
