"""The only requests this package makes to a Hub without an `HfApi` method.

Everything else goes through the pinned huggingface_hub's own methods. Each function here names
the document or client version that defines its endpoint, and `RAW_ENDPOINTS` lists them so a
test can check that none duplicates a request some `HfApi` method already makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
from huggingface_hub import HfApi, get_session, hf_raise_for_status
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

from zenml_hf_registry._version import __version__

__all__ = [
    "RAW_ENDPOINTS",
    "RawEndpoint",
    "get_registry_package",
    "list_registry_packages",
    "probe_upload_access",
]

_LIBRARY = "zenml-hf-registry"


@dataclass(frozen=True)
class RawEndpoint:
    """One endpoint called without an `HfApi` method, and why."""

    method: str
    path: str  # relative to the endpoint, `{...}` for each variable part
    defined_by: str


RAW_ENDPOINTS: tuple[RawEndpoint, ...] = (
    RawEndpoint(
        "POST",
        "/api/models/{repo_id}/preupload/{revision}",
        "the Hub upload protocol's preupload call (huggingface_hub `_commit_api."
        "_fetch_upload_modes`), which every Hub-protocol registry serves; `HfApi` only sends it "
        "with files to upload",
    ),
    RawEndpoint(
        "GET",
        "/v2/packages/organizations/{org}/registries/{registry}/packages",
        "Buildkite REST API, 'List packages' (buildkite.com/docs/apis/rest-api/package-registries)",
    ),
    RawEndpoint(
        "GET",
        "/v2/packages/organizations/{org}/registries/{registry}/packages/{id}",
        "Buildkite REST API, 'Get a package'",
    ),
)


def _request(
    api: HfApi,
    method: str,
    path: str,
    json: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> httpx2.Response:
    """A request authenticated exactly as `api` is, raising huggingface_hub's typed errors."""
    token = api.token if isinstance(api.token, str) else False
    headers = build_hf_headers(token=token, library_name=_LIBRARY, library_version=__version__)
    response = get_session().request(
        method, f"{api.endpoint}{path}", headers=headers, json=json, params=params
    )
    hf_raise_for_status(response)
    return response


def probe_upload_access(api: HfApi, repo_id: str, revision: str = "main") -> None:
    """Fail (401/403) unless `api`'s token may upload to the model repo, sending no file.

    `HfApi.auth_check(write=True)` asks the same of the Hub, but registries that speak only the
    upload protocol (Buildkite Packages) do not serve it; preupload is part of that protocol.
    """
    _request(api, "POST", f"/api/models/{repo_id}/preupload/{revision}", {"files": []})


def list_registry_packages(
    api: HfApi, org: str, registry: str, name: str | None = None
) -> list[dict[str, Any]]:
    """A Buildkite registry's packages (`items` of the REST listing), newest first."""
    path = f"/v2/packages/organizations/{org}/registries/{registry}/packages"
    params = {"name": name} if name else None
    items = _request(api, "GET", path, params=params).json().get("items", [])
    return list(items)


def get_registry_package(api: HfApi, org: str, registry: str, package_id: str) -> dict[str, Any]:
    """One package's details from a Buildkite registry's REST API."""
    path = f"/v2/packages/organizations/{org}/registries/{registry}/packages/{package_id}"
    return dict(_request(api, "GET", path).json())
