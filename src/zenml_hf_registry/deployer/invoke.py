"""Invoke a deployment through the Hub's gate: private Spaces need the HF token on each call.

`zenml deployment invoke` (ZenML's `invoke_deployment`) sends only the deployment's auth key,
which the gate of a private Space does not accept: the Hub answers 404 as if the Space did not
exist. `invoke_zenml_deployment` is what ZenML's function becomes once this package is
installed (see `zenml_hf_registry._override`): private Space deployments of this deployer are
invoked with the deployer's token, every other deployment exactly as ZenML does it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import requests
from zenml.client import Client
from zenml.deployers.exceptions import (
    DeploymentHTTPError,
    DeploymentNotFoundError,
    DeploymentProvisionError,
)
from zenml.enums import DeploymentStatus
from zenml.stack import StackComponent

if TYPE_CHECKING:
    from zenml.models import DeploymentResponse

__all__ = ["invoke_space_deployment", "invoke_zenml_deployment"]


def invoke_zenml_deployment(
    zenml_invoke: Callable[..., Any],
    deployment_name_or_id: str | UUID,
    project: UUID | None = None,
    timeout: int = 300,
    submit: bool = False,
    **kwargs: Any,
) -> Any:
    """ZenML's `invoke_deployment`, made to pass the gate of a private Space.

    Args:
        zenml_invoke: ZenML's own `invoke_deployment`, used for every other deployment.
        deployment_name_or_id: The deployment's name or id.
        project: Its project.
        timeout: Seconds to wait for the answer.
        submit: Submit the run in the background (ZenML's `--no-wait`).
        **kwargs: The pipeline parameters.

    Returns:
        The deployment's answer, parsed as JSON if it is JSON.
    """
    deployment = _find(deployment_name_or_id, project)
    if deployment is None or not _is_private_space(deployment):
        return zenml_invoke(
            deployment_name_or_id, project=project, timeout=timeout, submit=submit, **kwargs
        )
    return _invoke(deployment, _unpack_collections(deployment, kwargs), timeout, submit)


def invoke_space_deployment(
    name_or_id: str, parameters: dict[str, Any], *, timeout: int = 300, submit: bool = False
) -> Any:
    """POST the parameters to the deployment's `/invoke` (or `/submit`), sending what its
    Space needs: the deployer's HF token for a private Space (the Hub's gate checks it),
    ZenML's auth key for a public one (as `zenml deployment invoke` sends it)."""
    deployment = _find(name_or_id, None)
    if deployment is None:
        raise DeploymentNotFoundError(f"No deployment named {name_or_id!r}")
    if not _is_space(deployment):
        raise DeploymentNotFoundError(
            f"Deployment {name_or_id!r} is not a Hugging Face Space deployment"
        )
    return _invoke(deployment, parameters, timeout, submit)


def _find(name_or_id: str | UUID, project: UUID | None) -> DeploymentResponse | None:
    try:
        return Client().get_deployment(name_or_id, project=project)
    except KeyError:
        return None


def _is_space(deployment: DeploymentResponse) -> bool:
    from zenml_hf_registry.deployer.deployer import SpaceMetadata

    return deployment.deployer is not None and SpaceMetadata.from_deployment(deployment) is not None


def _is_private_space(deployment: DeploymentResponse) -> bool:
    from zenml_hf_registry.deployer.deployer import SpaceMetadata

    metadata = SpaceMetadata.from_deployment(deployment)
    return deployment.deployer is not None and metadata is not None and metadata.private


def _unpack_collections(deployment: DeploymentResponse, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Parameters typed as objects or arrays that arrive as JSON text (from a command line)
    are sent as JSON values, as ZenML's invoke does; anything else is left to the app."""
    schema = deployment.snapshot.pipeline_spec if deployment.snapshot else None
    properties = ((schema.input_schema or {}) if schema else {}).get("properties", {})
    unpacked = dict(kwargs)
    for key, value in kwargs.items():
        wanted = {"object": dict, "array": list}.get(properties.get(key, {}).get("type"))
        if wanted is None or not isinstance(value, str):
            continue
        try:
            loaded = json.loads(value)
        except ValueError:
            continue
        if isinstance(loaded, wanted):
            unpacked[key] = loaded
    return unpacked


def _invoke(
    deployment: DeploymentResponse, parameters: dict[str, Any], timeout: int, submit: bool
) -> Any:
    from zenml_hf_registry.deployer.deployer import HuggingFaceDeployer, SpaceMetadata

    name = deployment.name
    if deployment.status != DeploymentStatus.RUNNING or not deployment.url:
        raise DeploymentProvisionError(
            f"Deployment {name!r} is {deployment.status}; run "
            f"`zenml deployment refresh {name}` or check `zenml deployment logs {name}`."
        )
    metadata = SpaceMetadata.from_deployment(deployment)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if metadata is not None and metadata.private and deployment.deployer is not None:
        deployer = cast(HuggingFaceDeployer, StackComponent.from_model(deployment.deployer))
        headers["Authorization"] = f"Bearer {deployer.hf_token()}"
    elif deployment.auth_key:
        headers["Authorization"] = f"Bearer {deployment.auth_key}"
    headers.update(_step_headers())
    settings = (
        deployment.snapshot.pipeline_configuration.deployment_settings
        if deployment.snapshot
        else None
    )
    if settings is None:
        path = "/submit" if submit else "/invoke"
    else:
        leaf = settings.submit_url_path if submit else settings.invoke_url_path
        path = f"{settings.root_url_path}{settings.api_url_path}{leaf}"
    try:
        response = requests.post(
            deployment.url.rstrip("/") + path,
            data=json.dumps({"parameters": parameters}, default=str),
            headers=headers,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        # The request's text can hold the URL, never the headers: no token reaches the message.
        raise DeploymentHTTPError(f"Cannot reach deployment {name!r}: {exc}") from exc
    if response.status_code >= 400:
        raise DeploymentHTTPError(
            f"HTTP {response.status_code} from deployment {name!r}: {response.text[:500]}"
        )
    try:
        return response.json()
    except ValueError:
        return response.text


def _step_headers() -> dict[str, str]:
    """What ZenML's invoke adds when a step calls a deployment, so the app can tell who."""
    from zenml.steps import get_step_context

    try:
        context = get_step_context()
    except RuntimeError:
        return {}
    return {
        "ZenML-Step-Name": context.step_name,
        "ZenML-Pipeline-Name": context.pipeline.name,
        "ZenML-Pipeline-Run-ID": str(context.pipeline_run.id),
        "ZenML-Pipeline-Run-Name": context.pipeline_run.name,
    }
