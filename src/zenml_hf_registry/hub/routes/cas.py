"""Xet storage: the Hub's token endpoints and the CAS service (`/_xet/...`), main realm only.

Token endpoints (`/api/{type}s/{repo_id}/xet-{read|write}-token/{revision}`) hand out a CAS
access token scoped to one repo, read or write, with the CAS URL and expiry, in the JSON body
and in the `X-Xet-*` headers huggingface_hub reads. Registry realms speak LFS only, as
Buildkite's registries do: their token endpoints refuse with a message saying so.

CAS routes follow the Xet Protocol Specification's API: xorb upload, shard upload, global
de-duplication, file reconstruction (v1 and v2 shapes, with `Range`), and presigned xorb
range fetches that stand in for the Hub's CDN.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from zenml_hf_registry.hub.context import (
    caller_of,
    external_base,
    hub_of,
    load_repo,
    parse_range,
    realm_of,
)
from zenml_hf_registry.hub.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized
from zenml_hf_registry.hub.xet import XetGrant, XetStore
from zenml_hf_registry.hub.xetformat import MAX_XORB_SIZE

__all__ = ["router"]

router = APIRouter()

_CAS = "/_xet"


def _registry_refusal() -> Response:
    message = (
        "Registries speak LFS only, as Buildkite's do: set HF_HUB_DISABLE_XET=1 to upload "
        "here (the Hub root of this server serves Xet)"
    )
    return JSONResponse({"error": message}, status_code=501, headers={"X-Error-Message": message})


@router.post("/api/{repo_type}/{namespace}/{name}/xet-write-token/{revision:path}")
@router.get("/api/{repo_type}/{namespace}/{name}/xet-write-token/{revision:path}")
@router.get("/api/{repo_type}/{namespace}/{name}/xet-read-token/{revision:path}")
def xet_token(
    request: Request, repo_type: str, namespace: str, name: str, revision: str
) -> Response:
    """A CAS access token for one repo: write needs write access to the repo, read needs read."""
    if realm_of(request):
        return _registry_refusal()
    write = "/xet-write-token/" in request.url.path
    hub = hub_of(request)
    # Opening a pull request needs only read access (the commit route checks the PR rules);
    # its content goes to the CAS first, so a reader gets a write token for it.
    opens_pr = request.query_params.get("create_pr") == "1"
    if write and opens_pr and caller_of(request) is None:
        raise Unauthorized("opening a pull request needs a token")
    repo = load_repo(request, repo_type, namespace, name, write=write and not opens_pr)
    token, expires = hub.xet.issue_token(repo.id, write=write)
    cas_url = f"{external_base(request)}{_CAS}"
    return JSONResponse(
        {"accessToken": token, "exp": expires, "casUrl": cas_url},
        headers={
            "X-Xet-Cas-Url": cas_url,
            "X-Xet-Access-Token": token,
            "X-Xet-Token-Expiration": str(expires),
        },
    )


def _store(request: Request) -> XetStore:
    if realm_of(request):
        raise NotFound("registries do not serve Xet storage")
    return hub_of(request).xet


def _grant(request: Request, *, write: bool) -> tuple[XetStore, XetGrant]:
    store = _store(request)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else None
    return store, store.check_token(token, write=write)


@router.post(_CAS + "/v1/xorbs/{prefix}/{xorb}")
async def upload_xorb(request: Request, prefix: str, xorb: str) -> JSONResponse:
    """Store a xorb after checking its framing, its chunks and its hash."""
    store, _ = _grant(request, write=True)
    if prefix != "default":
        raise BadRequest(f"unknown xorb prefix {prefix!r}")
    store.xorb_path(xorb)  # a 400 for a malformed hash before reading the body
    # Spooled to disk as it arrives (the body limit is checked before this route runs, and
    # again here for a body without a declared length), then verified frame by frame.
    spooled = store.spool_path()
    received = 0
    try:
        with spooled.open("wb") as sink:
            async for piece in request.stream():
                received += len(piece)
                if received > MAX_XORB_SIZE:
                    raise PayloadTooLarge(f"a xorb is at most {MAX_XORB_SIZE} bytes")
                sink.write(piece)
    except BaseException:
        spooled.unlink(missing_ok=True)
        raise
    inserted = await run_in_threadpool(store.put_xorb_file, xorb, spooled)
    return JSONResponse({"was_inserted": inserted})


@router.head(_CAS + "/v1/xorbs/{prefix}/{xorb}")
def head_xorb(request: Request, prefix: str, xorb: str) -> Response:
    """Whether a xorb is stored (its size as `Content-Length`)."""
    store, _ = _grant(request, write=False)
    path = store.xorb_path(xorb)
    if prefix != "default" or not store.has_xorb(xorb):
        raise NotFound(f"xorb {xorb} not found")
    return Response(headers={"Content-Length": str(path.stat().st_size)})


@router.post(_CAS + "/v1/shards")
async def upload_shard(request: Request) -> JSONResponse:
    """Register a shard's file reconstructions for the token's repo."""
    store, grant = _grant(request, write=True)
    body = await request.body()
    new = await run_in_threadpool(store.put_shard, body, grant)
    return JSONResponse({"result": 1 if new else 0})


@router.get(_CAS + "/v1/chunks/{prefix}/{chunk}")
def query_chunk(request: Request, prefix: str, chunk: str) -> Response:
    """Global de-duplication: a shard describing the xorb holding this chunk (keyed hashes)."""
    store, grant = _grant(request, write=False)
    # The spec names the prefix `default-merkledb`; hf_xet 1.8 asks under `default`.
    if prefix not in ("default-merkledb", "default"):
        raise BadRequest(f"unknown de-duplication prefix {prefix!r}")
    return Response(store.dedup_shard(chunk, grant), media_type="application/octet-stream")


@router.head(_CAS + "/v1/files/{file_id}")
def head_file(request: Request, file_id: str) -> Response:
    """A readable file's size."""
    store, grant = _grant(request, write=False)
    stored = store.readable_file(file_id, grant)
    return Response(headers={"Content-Length": str(stored.size)})


def _reconstruction(request: Request, file_id: str, *, v2: bool) -> Response:
    store, grant = _grant(request, write=False)
    stored = store.readable_file(file_id, grant)
    try:
        wanted = parse_range(request.headers.get("range"), stored.size)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=416)
    start, end = wanted if wanted is not None else (0, stored.size)
    skip, terms, fetch = store.fetch_plan(stored, start, end)
    base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{_CAS}"
    body: dict[str, Any] = {
        "offset_into_first_range": skip,
        "terms": [
            {"hash": t.xorb, "unpacked_length": t.size, "range": {"start": t.start, "end": t.end}}
            for t in terms
        ],
    }
    entries: dict[str, list[dict[str, Any]]] = {}
    for xorb, ranges in fetch.items():
        entries[xorb] = []
        for lo, hi, first, last in ranges:
            url = f"{base}/fetch/{xorb}?{store.sign_fetch(xorb, first, last)}"
            if v2:
                entries[xorb].append(
                    {
                        "url": url,
                        "ranges": [
                            {
                                "chunks": {"start": lo, "end": hi},
                                "bytes": {"start": first, "end": last},
                            }
                        ],
                    }
                )
            else:
                entries[xorb].append(
                    {
                        "range": {"start": lo, "end": hi},
                        "url": url,
                        "url_range": {"start": first, "end": last},
                    }
                )
    body["xorbs" if v2 else "fetch_info"] = entries
    return JSONResponse(body)


@router.get(_CAS + "/v1/reconstructions/{file_id}")
def get_reconstruction_v1(request: Request, file_id: str) -> Response:
    """How to rebuild a readable file (or a byte range of it) from xorb ranges."""
    return _reconstruction(request, file_id, v2=False)


@router.get(_CAS + "/v2/reconstructions/{file_id}")
def get_reconstruction_v2(request: Request, file_id: str) -> Response:
    """The v2 shape of a reconstruction (one presigned URL per merged xorb range)."""
    return _reconstruction(request, file_id, v2=True)


@router.get(_CAS + "/fetch/{xorb}")
def fetch_xorb_range(request: Request, xorb: str, range: str, expires: int, sig: str) -> Response:
    """A presigned xorb byte range (what the Hub's CDN serves); no token, the URL is signed."""
    store = _store(request)
    first_text, _, last_text = range.partition("-")
    if not (first_text.isdigit() and last_text.isdigit()):
        raise BadRequest("malformed signed range")
    first, last = int(first_text), int(last_text)
    store.check_fetch(xorb, first, last, expires, sig)
    requested = request.headers.get("range")
    if requested is not None and requested.strip() != f"bytes={first}-{last}":
        raise BadRequest("the Range header must be the signed range")
    path = store.xorb_path(xorb)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFound(f"xorb {xorb} not found") from None
    if last >= size:
        raise NotFound(f"xorb {xorb} does not hold the signed range")
    return StreamingResponse(
        _file_range(path, first, last + 1),
        status_code=206 if requested is not None else 200,
        headers={
            "Content-Range": f"bytes {first}-{last}/{size}",
            "Content-Length": str(last - first + 1),
        },
        media_type="application/octet-stream",
    )


def _file_range(path: Path, start: int, end: int) -> Iterator[bytes]:
    """A file's bytes `[start, end)` in blocks of 1 MiB (a signed range may be a whole xorb)."""
    with path.open("rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            block = handle.read(min(left, 1024 * 1024))
            if not block:
                return
            left -= len(block)
            yield block
