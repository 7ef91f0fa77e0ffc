"""The local Hub's control plane: `/_emulator/*`, for tests, benchmarks and operators.

Request counters, fault injection, Space counters and forced stages. None of it is part of
the Hub's protocol, and all of it is powerful (a fault rule can break every client; stats
show who called), so every route needs the server's admin token (`Authorization: Bearer`),
printed when the server starts and never accepted anywhere else. `ControlClient` is the one
way tests and benchmarks call it.
"""

from __future__ import annotations

import hmac
import json
import urllib.request
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from zenml_hf_registry.hub.errors import BadRequest, RepoNotFound, Unauthorized
from zenml_hf_registry.hub.faults import FaultRule
from zenml_hf_registry.hub.repos import RepoType
from zenml_hf_registry.hub.state import Hub

__all__ = ["ControlClient", "router"]

CONTROL_PREFIX = "/_emulator"


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def require_admin(request: Request) -> None:
    """Only the admin token may use the control plane; Hub tokens never can."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    admin = _hub(request).admin_token
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), admin):
        raise Unauthorized(
            "the local Hub's control plane needs its admin token (printed when it started)"
        )


router = APIRouter(
    prefix=CONTROL_PREFIX, dependencies=[Depends(require_admin)], include_in_schema=False
)

JsonBody = Annotated[dict[str, Any], Body()]


@router.get("/stats")
def stats(request: Request) -> dict[str, Any]:
    """Requests and bytes per route, and token fingerprints."""
    return _hub(request).stats.snapshot()


@router.post("/stats/reset")
def reset_stats(request: Request) -> dict[str, Any]:
    """Start counting from zero."""
    _hub(request).stats.reset()
    return {}


@router.post("/fingerprint")
def fingerprint(request: Request, body: JsonBody) -> dict[str, Any]:
    """This server's fingerprint of a token, to look it up in the stats."""
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise BadRequest("'token' is required")
    return {"fingerprint": _hub(request).stats.fingerprint(token)}


@router.post("/faults")
def add_fault(request: Request, rule: FaultRule) -> dict[str, Any]:
    """Arm a fault rule."""
    faults = _hub(request).faults
    faults.add(rule)
    return {"pending": faults.pending()}


@router.get("/faults")
def list_faults(request: Request) -> dict[str, Any]:
    """Pending rules and how many fired."""
    faults = _hub(request).faults
    return {"pending": faults.pending(), "fired": faults.fired}


@router.delete("/faults")
def clear_faults(request: Request) -> dict[str, Any]:
    """Disarm every rule."""
    _hub(request).faults.clear()
    return {"pending": []}


def _space(request: Request, namespace: str, name: str) -> Any:
    hub = _hub(request)
    for repo in hub.repos.list_all_repos(RepoType.SPACE):
        if repo.realm == "" and (repo.namespace, repo.name) == (namespace, name):
            return repo
    raise RepoNotFound(f"no Space {namespace}/{name}")


@router.get("/spaces/{namespace}/{name}")
def space_counters(request: Request, namespace: str, name: str) -> dict[str, Any]:
    """Builds and restarts so far, stage, app URL and timings."""
    return _hub(request).spaces.counters(_space(request, namespace, name))


@router.post("/spaces/{namespace}/{name}/stage")
def force_space_stage(
    request: Request, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """Fault injection: report `{stage, errorMessage?}` from now on."""
    hub = _hub(request)
    repo = _space(request, namespace, name)
    hub.spaces.force_stage(repo, str(body.get("stage")), body.get("errorMessage"))
    return hub.spaces.runtime_info(hub.repos.refresh(repo))


class ControlClient:
    """Calls the control plane of the local Hub at `url` with its admin token."""

    def __init__(self, url: str, admin_token: str) -> None:
        self.url = url.rstrip("/")
        self._token = admin_token

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the local Hub's own http URL
            f"{self.url}{CONTROL_PREFIX}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            return json.load(reply)

    def stats(self) -> dict[str, Any]:
        """`GET /_emulator/stats`."""
        return dict(self._call("GET", "/stats"))

    def reset_stats(self) -> None:
        """`POST /_emulator/stats/reset`."""
        self._call("POST", "/stats/reset", {})

    def fingerprint(self, token: str) -> str:
        """The server's fingerprint of `token`, as the stats list it."""
        return str(self._call("POST", "/fingerprint", {"token": token})["fingerprint"])

    def add_fault(self, **rule: Any) -> None:
        """Arm a fault rule (`method`, `path`, `times`, `action`, `status`, `delay`)."""
        self._call("POST", "/faults", rule)

    def faults(self) -> dict[str, Any]:
        """Pending rules and how many fired."""
        return dict(self._call("GET", "/faults"))

    def clear_faults(self) -> None:
        """Disarm every rule."""
        self._call("DELETE", "/faults")

    def space(self, space_id: str) -> dict[str, Any]:
        """A Space's builds, restarts, stage and timings."""
        return dict(self._call("GET", f"/spaces/{space_id}"))

    def force_stage(self, space_id: str, stage: str, error_message: str | None = None) -> None:
        """Make a Space report `stage` until something changes it."""
        self._call(
            "POST", f"/spaces/{space_id}/stage", {"stage": stage, "errorMessage": error_message}
        )
