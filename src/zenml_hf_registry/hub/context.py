"""The context of one request to the local Hub: its Hub, realm, caller and repo.

Routes take everything request-specific from here (FastAPI dependencies or plain calls), so no
route module imports another, and `app.py` imports the routes without being imported back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from zenml_hf_registry.hub.errors import RepoMoved, RepoNotFound
from zenml_hf_registry.hub.repos import Repo, RepoType
from zenml_hf_registry.hub.settings import TokenSpec
from zenml_hf_registry.hub.state import Hub
from zenml_hf_registry.hub.storage import BlobStore

__all__ = [
    "HubJSONResponse",
    "blob_response",
    "caller_of",
    "external_base",
    "hub_of",
    "load_repo",
    "parse_range",
    "realm_of",
    "repo_url",
]


class HubJSONResponse(JSONResponse):
    """JSON as the Hub sends it: `application/json; charset=utf-8`."""

    media_type = "application/json; charset=utf-8"


def hub_of(request: Request) -> Hub:
    """The backends serving this request."""
    hub: Hub = request.app.state.hub
    return hub


def realm_of(request: Request) -> str:
    """`""` for the Hub root, `"org/registry"` below a registry prefix."""
    return str(request.scope.get("zhr.realm", ""))


def external_base(request: Request) -> str:
    """The endpoint as the client sees it, prefix included, without a trailing slash."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}{request.scope.get('zhr.prefix', '')}"


def caller_of(request: Request) -> TokenSpec | None:
    """The authenticated caller from `Authorization: Bearer <token>`; None when anonymous."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    hub = hub_of(request)
    registry = hub.packages.registry(realm_of(request))
    if registry is not None:  # registries have their own tokens
        return hub.packages.authenticate(registry, token)
    return hub.repos.authenticate(token)


def load_repo(
    request: Request, repo_type: str, namespace: str, name: str, *, write: bool = False
) -> Repo:
    """The repo addressed by the URL, checked against the caller's rights.

    The old name of a moved repo answers a redirect to the same URL under its new name.
    """
    hub = hub_of(request)
    kind = RepoType.from_plural(repo_type)
    caller = caller_of(request)
    try:
        return hub.repos.get_repo(realm_of(request), kind, namespace, name, caller, write=write)
    except RepoNotFound:
        moved = hub.repos.find_moved_repo(realm_of(request), kind, namespace, name, caller)
        if moved is None:
            raise
        raise RepoMoved(
            f"Repository {namespace}/{name} was moved to {moved.repo_id}",
            location=_renamed_url(request, f"{namespace}/{name}", moved.repo_id),
        ) from None


def _renamed_url(request: Request, old_id: str, new_id: str) -> str:
    """This request's URL (prefix and query kept) with the repo's old id replaced by the new."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    path = re.sub(rf"/{re.escape(old_id)}(?=/|$)", f"/{new_id}", path, count=1)
    query = request.url.query
    return f"{request.scope.get('zhr.prefix', '')}{path}{'?' + query if query else ''}"


def repo_url(request: Request, repo: Repo) -> str:
    """The repo's web URL on this endpoint (what `create_repo` returns)."""
    return f"{external_base(request)}/{repo.type.url_prefix}{repo.repo_id}"


_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _BlobFileResponse(FileResponse):
    """FileResponse with 1 MiB reads: 64 KiB reads halve throughput on large LFS files."""

    chunk_size = 1024 * 1024


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`[start, end)` of a single-range `Range` header; None for no (or an ignored) range.

    Raises `ValueError` for a range that starts past the end (a 416).
    """
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None  # multi-range or malformed: answer the whole body, as RFC 9110 allows
    if not match[1]:  # suffix range: the last N bytes
        length = int(match[2])
        return (max(0, size - length), size)
    start = int(match[1])
    end = int(match[2]) + 1 if match[2] else size
    if start >= size:
        raise ValueError(f"range starts at {start}, the content has {size} bytes")
    return (start, min(end, size))


def blob_response(
    request: Request, blobs: BlobStore, sha256: str, headers: dict[str, str]
) -> Response:
    """The blob's bytes with `headers`, honouring a single `Range` (206) like a file server."""
    local = blobs.local_file(sha256)
    if local is not None:
        # FileResponse streams from disk in chunks and honours Range / If-Range.
        response = _BlobFileResponse(local, headers=headers, media_type="application/octet-stream")
        if "ETag" in headers:  # FileResponse derives its own ETag from the file's stat
            response.headers["ETag"] = headers["ETag"]
        return response
    size = blobs.size(sha256)
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = wanted if wanted is not None else (0, size)
    out = dict(headers, **{"Content-Length": str(end - start), "Accept-Ranges": "bytes"})
    status = 200
    if wanted is not None:
        status = 206
        out["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    body: Iterator[bytes] = blobs.iter_range(sha256, start, end)
    return StreamingResponse(
        body, status_code=status, headers=out, media_type="application/octet-stream"
    )
