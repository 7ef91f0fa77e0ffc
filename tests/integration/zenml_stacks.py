"""Helpers for in-process deploys of the example pipeline on a local ZenML store."""

from __future__ import annotations

from typing import Any

from zenml.enums import StackComponentType

# As examples/hello_pipeline/local_hub.yaml, in code: a config file's values would override
# the settings a test changes.
LOCAL_HUB_SETTINGS: dict[str, dict[str, Any]] = {
    "docker": {
        "parent_image": "local/zenml-hf-registry:dev",
        "skip_build": True,
        "allow_download_from_artifact_store": False,
        "allow_download_from_code_repository": False,
    },
    "deployer": {"app_port": 7860, "verify_image": False},
}


def register_hf_stack(
    client: Any,
    config: dict[str, Any],
    *,
    deployer: str = "hf",
    stack: str = "hf-stack",
    container_registry: str | None = None,
) -> None:
    """Register a deployer named `deployer` with `config` and activate a stack using it.

    A plain `token` is stored as a ZenML secret and referenced, as the deployer requires.
    """
    token = config.get("token")
    if token is not None and not str(token).startswith("{{"):
        secret = f"{deployer}-hf-token"
        client.create_secret(secret, values={"token": token})
        config = {**config, "token": f"{{{{{secret}.token}}}}"}
    client.create_stack_component(
        name=deployer,
        flavor="huggingface",
        component_type=StackComponentType.DEPLOYER,
        configuration=config,
    )
    components = {
        StackComponentType.ORCHESTRATOR: "default",
        StackComponentType.ARTIFACT_STORE: "default",
        StackComponentType.DEPLOYER: deployer,
    }
    if container_registry:
        components[StackComponentType.CONTAINER_REGISTRY] = container_registry
    client.create_stack(name=stack, components=components)
    client.activate_stack(stack)
