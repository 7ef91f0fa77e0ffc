"""Buildkite-shaped REST listing of a registry's packages (`/v2/packages/...`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from zenml_hf_registry.hub.context import hub_of

__all__ = ["router"]

router = APIRouter()

_BASE = "/v2/packages/organizations/{org}/registries/{registry}/packages"


def _caller(request: Request, org: str, registry: str) -> Any:
    hub = hub_of(request)
    spec = hub.packages.require_registry(org, registry)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    caller = hub.packages.authenticate(spec, token)
    hub.packages.require_reader(spec, caller)
    return spec


@router.get(_BASE)
def list_packages(
    request: Request, org: str, registry: str, name: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    """`{items: [{id, name, version, created_at}]}`, newest first."""
    spec = _caller(request, org, registry)
    return {"items": hub_of(request).packages.list_packages(spec, name)}


@router.get(_BASE + "/{package_id}")
def get_package(request: Request, org: str, registry: str, package_id: str) -> dict[str, Any]:
    """Checksums, size, downloads, contents and visibility of one package."""
    spec = _caller(request, org, registry)
    return hub_of(request).packages.get_package(spec, package_id)
