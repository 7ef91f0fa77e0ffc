"""Invoke a deployment through the Hub's gate: private Spaces need the HF token on each call."""

from __future__ import annotations

import json
from typing import Any, cast

import requests
from zenml.client import Client
from zenml.deployers.exceptions import DeploymentHTTPError, DeploymentNotFoundError
from zenml.enums import DeploymentStatus
from zenml.stack import StackComponent

__all__ = ["invoke_space_deployment"]


def invoke_space_deployment(
    name_or_id: str, parameters: dict[str, Any], *, timeout: int = 300
) -> Any:
    """POST the parameters to the deployment's `/invoke`, sending what its Space needs.

    Public Spaces get ZenML's auth key (as `zenml deployment invoke` sends it); private Spaces
    get the deployer's HF token, which the Hub's gate checks.
    """
    from zenml_hf_registry.deployer.deployer import HuggingFaceDeployer, SpaceMetadata

    try:
        deployment = Client().get_deployment(name_or_id)
    except KeyError as exc:
        raise DeploymentNotFoundError(f"No deployment named {name_or_id!r}") from exc
    metadata = SpaceMetadata.from_deployment(deployment)
    if metadata is None or deployment.deployer is None:
        raise DeploymentNotFoundError(
            f"Deployment {name_or_id!r} is not a Hugging Face Space deployment"
        )
    if deployment.status != DeploymentStatus.RUNNING or not deployment.url:
        raise DeploymentHTTPError(
            f"Deployment {name_or_id!r} is {deployment.status}; run "
            f"`zenml deployment refresh {name_or_id}` or check `zenml deployment logs`."
        )
    deployer = cast(HuggingFaceDeployer, StackComponent.from_model(deployment.deployer))
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if metadata.private:
        headers["Authorization"] = f"Bearer {deployer.hf_token()}"
    elif deployment.auth_key:
        headers["Authorization"] = f"Bearer {deployment.auth_key}"
    settings = (
        deployment.snapshot.pipeline_configuration.deployment_settings
        if (deployment.snapshot)
        else None
    )
    path = (
        f"{settings.root_url_path}{settings.api_url_path}{settings.invoke_url_path}"
        if settings
        else "/invoke"
    )
    try:
        response = requests.post(
            deployment.url.rstrip("/") + path,
            data=json.dumps({"parameters": parameters}),
            headers=headers,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise DeploymentHTTPError(f"Cannot reach deployment {name_or_id!r}: {exc}") from exc
    if response.status_code >= 400:
        raise DeploymentHTTPError(
            f"HTTP {response.status_code} from deployment {name_or_id!r}: {response.text[:500]}"
        )
    try:
        return response.json()
    except ValueError:
        return response.text
