"""The deployer as a ZenML stack component on a real local store: registration and image needs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from zenml.enums import StackComponentType

from tests.integration.zenml_stacks import register_hf_stack
from zenml_hf_registry import __version__
from zenml_hf_registry.deployer.deployer import HuggingFaceDeployer
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
    clean_zenml: Any, caplog: pytest.LogCaptureFixture
) -> None:
    clean_zenml.create_stack_component(
        name="ecr",
        flavor="default",
        component_type=StackComponentType.CONTAINER_REGISTRY,
        configuration={"uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
    )
    register_hf_stack(
        clean_zenml, {"token": "hf_component_token"}, stack="hf-ecr", container_registry="ecr"
    )
    with caplog.at_level(logging.WARNING):
        clean_zenml.active_stack.validate()
    warning = next(r.getMessage() for r in caplog.records if "Amazon ECR" in r.getMessage())
    assert "pull their image anonymously" in warning
    assert "hf_component_token" not in caplog.text
    assert "build_in_space" in warning  # the way out that needs no public registry

    # With Space-build mode on, the registry is never used for the Space: no warning.
    register_hf_stack(
        clean_zenml,
        {"token": "hf_component_token", "build_in_space": True},
        deployer="hf-built",
        stack="hf-ecr-built",
        container_registry="ecr",
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        clean_zenml.active_stack.validate()
    assert "Amazon ECR" not in caplog.text
