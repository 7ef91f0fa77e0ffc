"""Space routes: runtime, hardware, sleep time, pause/restart, volumes, secrets, variables,
logs.

The emulator's own Space counters and forced stages are control-plane routes (`control.py`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import StreamingResponse

from zenml_hf_registry.hub.context import caller_of, hub_of, load_repo
from zenml_hf_registry.hub.errors import BadRequest
from zenml_hf_registry.hub.repos import Repo

__all__ = ["router"]

router = APIRouter()

JsonBody = Annotated[dict[str, Any], Body()]
_PREFIX = "/api/spaces/{namespace}/{name}"


def _space(request: Request, namespace: str, name: str, *, write: bool = False) -> Repo:
    return load_repo(request, "spaces", namespace, name, write=write)


def _runtime(request: Request, repo: Repo) -> dict[str, Any]:
    return hub_of(request).spaces.runtime_info(hub_of(request).repos.refresh(repo))


@router.get(f"{_PREFIX}/runtime")
def get_space_runtime(request: Request, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.get_space_runtime`."""
    return _runtime(request, _space(request, namespace, name))


@router.post(f"{_PREFIX}/hardware")
def request_space_hardware(
    request: Request, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.request_space_hardware`: `{flavor, sleepTimeSeconds?}`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.request_hardware(repo, body.get("flavor"), body.get("sleepTimeSeconds"))
    return _runtime(request, repo)


@router.post(f"{_PREFIX}/sleeptime")
def set_space_sleep_time(
    request: Request, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.set_space_sleep_time`: `{seconds}`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.set_sleep_time(repo, body.get("seconds"))
    return _runtime(request, repo)


@router.post(f"{_PREFIX}/pause")
def pause_space(request: Request, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.pause_space`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.pause(repo)
    return _runtime(request, repo)


@router.post(f"{_PREFIX}/restart")
def restart_space(
    request: Request, namespace: str, name: str, factory: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    """`HfApi.restart_space(factory_reboot=...)`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.restart(repo, factory=factory in ("true", "1"))
    return _runtime(request, repo)


@router.put(f"{_PREFIX}/volumes")
def set_space_volumes(request: Request, namespace: str, name: str, body: JsonBody) -> None:
    """`HfApi.set_space_volumes`: `{volumes: [{type, source, mountPath, ...}]}`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.set_volumes(repo, body.get("volumes"), caller_of(request))


@router.delete(f"{_PREFIX}/volumes")
def delete_space_volumes(request: Request, namespace: str, name: str) -> None:
    """`HfApi.delete_space_volumes`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.delete_volumes(repo)


@router.get(f"{_PREFIX}/secrets")
def get_space_secrets(request: Request, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.get_space_secrets`: an object keyed by secret name, never values."""
    repo = _space(request, namespace, name, write=True)
    return hub_of(request).spaces.get_secrets(repo)


@router.post(f"{_PREFIX}/secrets")
def add_space_secret(request: Request, namespace: str, name: str, body: JsonBody) -> dict[str, Any]:
    """`HfApi.add_space_secret`: `{key, value, description?}`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.add_secret(
        repo, body.get("key"), body.get("value", ""), body.get("description")
    )
    return {}


@router.delete(f"{_PREFIX}/secrets")
def delete_space_secret(
    request: Request, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.delete_space_secret`: `{key}`."""
    repo = _space(request, namespace, name, write=True)
    hub_of(request).spaces.delete_secret(repo, body.get("key"))
    return {}


@router.get(f"{_PREFIX}/variables")
def get_space_variables(request: Request, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.get_space_variables`: the whole dict."""
    repo = _space(request, namespace, name, write=True)
    return hub_of(request).spaces.get_variables(repo)


@router.post(f"{_PREFIX}/variables")
def add_space_variable(
    request: Request, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.add_space_variable`: returns the whole dict."""
    repo = _space(request, namespace, name, write=True)
    spaces = hub_of(request).spaces
    spaces.add_variable(repo, body.get("key"), body.get("value", ""), body.get("description"))
    return spaces.get_variables(hub_of(request).repos.refresh(repo))


@router.delete(f"{_PREFIX}/variables")
def delete_space_variable(
    request: Request, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.delete_space_variable`: returns the whole dict."""
    repo = _space(request, namespace, name, write=True)
    spaces = hub_of(request).spaces
    spaces.delete_variable(repo, body.get("key"))
    return spaces.get_variables(hub_of(request).repos.refresh(repo))


@router.get(f"{_PREFIX}/logs/{{kind}}")
async def space_logs(
    request: Request,
    namespace: str,
    name: str,
    kind: str,
    tail: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """`HfApi.fetch_space_logs`: SSE events `data: {"data": line, "timestamp": ...}`.

    The stream replays the buffered lines, then follows while the build or run goes on, and
    ends when it does. Empty `data:` keep-alives are sent every 15 s, as the Hub does.
    """
    if kind not in ("build", "run"):
        raise BadRequest(f"unknown log kind {kind!r}: use build or run")
    repo = _space(request, namespace, name)
    buffer = hub_of(request).spaces.logs(repo, kind)

    async def events() -> AsyncIterator[bytes]:
        backlog = buffer.since(0)
        # Follow on from the newest line even when `tail` shows fewer (0: none) of the backlog.
        seq = backlog[-1].seq if backlog else 0
        first = backlog if tail is None else backlog[max(0, len(backlog) - tail) :] if tail else []
        phase = buffer.phase
        idle = 0.0
        for line in first:
            yield _event(line.text, line.timestamp)
        while buffer.is_open and buffer.phase == phase:
            if await request.is_disconnected():
                return
            await asyncio.to_thread(buffer.wait, seq, 0.5)
            lines = buffer.since(seq)
            for line in lines:
                seq = line.seq
                yield _event(line.text, line.timestamp)
            idle = 0.0 if lines else idle + 0.5
            if idle >= 15:
                idle = 0.0
                yield b"data:\n\n"
        for line in buffer.since(seq):
            yield _event(line.text, line.timestamp)

    return StreamingResponse(events(), media_type="text/event-stream")


def _event(text: str, timestamp: str) -> bytes:
    return b"data: " + json.dumps({"data": text, "timestamp": timestamp}).encode() + b"\n\n"
