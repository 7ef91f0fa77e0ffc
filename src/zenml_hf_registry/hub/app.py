"""The local Hub's FastAPI application: `create_app(settings)` wires backends and routes.

Besides the Hub's own root, the same protocol is served below registry-style prefixes,
`/{org}/{registry}/huggingface/...`, each an independent *realm* of repos, the way
Buildkite Packages serves Hugging Face registries. A pure-ASGI middleware strips the prefix,
notes the realm, and every URL the server hands out keeps the prefix.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import formatdate
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenml_hf_registry.hub import control
from zenml_hf_registry.hub.buckets import BucketBackend
from zenml_hf_registry.hub.context import HubJSONResponse
from zenml_hf_registry.hub.errors import HubError, header_text
from zenml_hf_registry.hub.faults import Faults
from zenml_hf_registry.hub.registry import PackageBackend
from zenml_hf_registry.hub.repos import RepoBackend
from zenml_hf_registry.hub.routes import buckets, cas, downloads, registry, repos, spaces, uploads
from zenml_hf_registry.hub.settings import HubSettings
from zenml_hf_registry.hub.spaces.manager import SpaceManager
from zenml_hf_registry.hub.spaces.runtimes import DockerRuntime, ProcessRuntime, Runtime
from zenml_hf_registry.hub.spaces.sandbox import space_sandbox
from zenml_hf_registry.hub.state import Hub, HubStats
from zenml_hf_registry.hub.storage import BlobStore, Database
from zenml_hf_registry.hub.tickets import TicketSigner
from zenml_hf_registry.hub.xet import XetStore
from zenml_hf_registry.hub.xetformat import MAX_XORB_SIZE

__all__ = ["create_app"]


_PREFIX_RE = re.compile(
    r"^/(?P<org>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<registry>[A-Za-z0-9][A-Za-z0-9_.-]*)/huggingface(?=/|$)"
)
_RESERVED_ORGS = {"api", "spaces", "datasets", "models", "_emulator", "_lfs", "_xet"}


class _BodyTooLargeError(BaseException):
    """Raised from `receive`; a BaseException so that no route or framework handler that
    catches `Exception` (FastAPI's body parsing does) turns it into a 400."""


class _BodyLimit:
    """Refuse request bodies over their route's limit before anything reads or parses them.

    A declared `Content-Length` over the limit is answered 413 at once, before auth and before
    a byte is read; a body that turns out longer is cut off at the limit. Commits carry regular
    files inline (`max_request_size`); LFS transfers are bounded by their ticket's size
    (`max_file_size` here); every other route takes JSON of at most `max_json_size`.
    """

    def __init__(self, app: ASGIApp, settings: HubSettings) -> None:
        self.app = app
        self.settings = settings

    def _limit(self, path: str) -> int:
        if path.startswith("/_lfs/"):
            return self.settings.max_file_size
        if path.startswith("/_xet/v1/xorbs/"):
            return MAX_XORB_SIZE
        if path.startswith("/_xet/v1/shards"):
            return self.settings.max_xet_shard_size
        if "/commit/" in path:
            return self.settings.max_request_size
        return self.settings.max_json_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        try:
            too_large = declared is not None and int(declared) > limit
        except ValueError:
            too_large = True
        if too_large:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _BodyTooLargeError:
            if not started:
                await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    message = f"Request body too large: at most {limit} bytes on this route"
    return JSONResponse({"error": message}, status_code=413, headers={"X-Error-Message": message})


class _PrefixAndRequestId:
    """Strip registry prefixes into a realm, stamp `X-Request-Id`, count requests per route,
    and apply injected faults."""

    def __init__(self, app: ASGIApp, stats: HubStats, faults: Faults) -> None:
        self.app = app
        self.stats = stats
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["method"], scope["path"])
        match = _PREFIX_RE.match(scope["path"])
        if match and match["org"] not in _RESERVED_ORGS:
            prefix = match.group(0)
            scope = dict(scope)
            scope["path"] = scope["path"][len(prefix) :] or "/"
            raw = scope.get("raw_path")
            if raw is not None:
                scope["raw_path"] = raw[len(prefix.encode()) :] or b"/"
            scope["zhr.prefix"] = prefix
            scope["zhr.realm"] = f"{match['org']}/{match['registry']}"
        request_id = uuid.uuid4().hex
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                # Exact per response (uvicorn's own is refreshed once a second by its event
                # loop, and lags under load): clients compare it with log timestamps.
                headers.append((b"date", formatdate(usegmt=True).encode()))
                # Last line of defence: a value h11 cannot send would drop the connection
                # instead of answering (every error text is cleaned where it is made).
                headers = [(name, _header_safe(value)) for name, value in headers]
                message = {**message, "headers": headers}
            await send(message)

        try:
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.action in ("status", "status_after"):
                message = f"injected fault: HTTP {fault.status}"
                if fault.action == "status_after":
                    # The change is made, then its answer is lost: a gateway timing out on a
                    # request the backend carried out.
                    async def swallow(message: Message) -> None:
                        return None

                    await self.app(scope, counting_receive, swallow)
                    message += " after the request was carried out"
                response = JSONResponse(
                    {"error": message},
                    status_code=fault.status,
                    headers={"X-Error-Message": message},
                )
                await response(scope, counting_receive, send_with_id)
            elif fault is not None and fault.action == "drop":
                await counting_receive()  # take part of the request, then hang up mid-response
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-length", b"4096")],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": b"{", "more_body": True})
                raise ConnectionAbortedError("injected fault: connection dropped")
            else:
                await self.app(scope, counting_receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unrouted>"
            self.stats.record(f"{scope['method']} {template}", received, _bearer(scope))


_UNSENDABLE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _header_safe(value: bytes) -> bytes:
    return _UNSENDABLE.sub(b" ", value) if _UNSENDABLE.search(value) else value


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def _error_response(exc: HubError) -> JSONResponse:
    return HubJSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


def create_app(settings: HubSettings) -> FastAPI:
    """Build the app for these settings; state lives under `settings.data_dir`."""

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)  # Space secrets are stored here
    db = Database(settings.data_dir / "hub.sqlite3")
    blobs = BlobStore(settings.data_dir)
    xet = XetStore(
        settings.data_dir,
        db,
        token_ttl=settings.xet_token_ttl,
        max_shard_entries=settings.max_xet_shard_entries,
        upload_grace=settings.xet_upload_grace,
    )
    blobs.reconstructed = xet  # Xet files read like any blob, through BlobStore's read path
    repo_backend = RepoBackend(db, blobs, settings.tokens, settings.organizations, xet)
    bucket_backend = BucketBackend(db, settings.data_dir / "buckets", repo_backend)
    runtime: Runtime = (
        DockerRuntime()
        if settings.space_runtime == "docker"
        else ProcessRuntime(
            settings.space_workdir, space_sandbox(settings), hidden=(settings.data_dir,)
        )
    )
    hub = Hub(
        settings=settings,
        db=db,
        blobs=blobs,
        repos=repo_backend,
        tickets=TicketSigner(settings.data_dir),
        spaces=SpaceManager(settings, repo_backend, blobs, runtime, bucket_backend),
        packages=PackageBackend(db, blobs, repo_backend, settings.registries),
        buckets=bucket_backend,
        xet=xet,
    )
    if settings.admin_token:
        hub.admin_token = settings.admin_token
    hub.commit_listeners.extend([hub.spaces.on_commit, hub.packages.on_commit])
    hub.download_listeners.append(hub.packages.on_download)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hub.spaces.resume()
        yield
        hub.spaces.shutdown()
        db.close()

    app = FastAPI(
        title="zenml-hf-registry local Hub",
        description="A local server speaking the Hugging Face Hub protocol.",
        lifespan=lifespan,
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
        default_response_class=HubJSONResponse,
    )
    app.state.hub = hub

    @app.exception_handler(HubError)
    async def _hub_error(_: Request, exc: HubError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details: list[Any] = list(exc.errors())
        message = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', ()))}: {d.get('msg')}" for d in details
        )
        return HubJSONResponse(
            {"error": f"Invalid request: {message}"},
            status_code=400,
            headers={"X-Error-Message": header_text(f"Invalid request: {message}", 500)},
        )

    app.include_router(buckets.router)  # first: `/api/{repo_type}/...` would take its paths
    app.include_router(repos.router)
    app.include_router(cas.router)
    app.include_router(uploads.router)
    app.include_router(downloads.router)
    app.include_router(spaces.router)
    app.include_router(registry.router)
    app.include_router(control.router)
    app.include_router(repos.bare_name_router)  # last: it must shadow no namespaced route

    app.add_middleware(_BodyLimit, settings=settings)  # inner: sees the realm-less path
    app.add_middleware(_PrefixAndRequestId, stats=hub.stats, faults=hub.faults)
    return app
