"""Storage Bucket routes: create, info, list by namespace, delete (`/api/buckets/...`).

A missing bucket answers 404 with `X-Error-Code: RepoNotFound`, which huggingface_hub turns
into `BucketNotFoundError` on these URLs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from zenml_hf_registry.hub.buckets import Bucket
from zenml_hf_registry.hub.context import caller_of, external_base, hub_of, realm_of
from zenml_hf_registry.hub.errors import BadRequest, Conflict, RepoNotFound, Unauthorized
from zenml_hf_registry.hub.wire import BucketInfoBody, BucketUrlBody

__all__ = ["router"]

router = APIRouter()

JsonBody = Annotated[dict[str, Any], Body()]


def _namespace(request: Request, namespace: str) -> str:
    """`me` is the caller's own namespace."""
    if namespace != "me":
        return namespace
    caller = caller_of(request)
    if caller is None:
        raise Unauthorized("You must be authenticated to use the 'me' namespace")
    return caller.user


def _private(request: Request, namespace: str, body: dict[str, Any]) -> bool:
    visibility = body.get("visibility")
    if visibility is not None and visibility not in ("public", "private"):
        raise BadRequest(f"invalid visibility {visibility!r}: use public or private")
    if visibility is not None:
        return bool(visibility == "private")
    if body.get("private") is not None:
        return bool(body["private"])
    return hub_of(request).repos.private_by_default(namespace)


def _info(request: Request, bucket: Bucket) -> dict[str, Any]:
    usage = hub_of(request).buckets.usage(bucket)
    return BucketInfoBody(
        id=bucket.bucket_id,
        private=bucket.private,
        created_at=bucket.created_at,
        size=usage.size,
        total_files=usage.total_files,
    ).body()


@router.post("/api/buckets/{namespace}/{name}")
def create_bucket(request: Request, namespace: str, name: str, body: JsonBody) -> dict[str, Any]:
    """`HfApi.create_bucket`: `{url, name, id}`, or 409 with the existing bucket's `url`."""
    namespace = _namespace(request, namespace)
    url = f"{external_base(request)}/buckets/{namespace}/{name}"
    try:
        bucket = hub_of(request).buckets.create_bucket(
            realm_of(request),
            namespace,
            name,
            private=_private(request, namespace, body),
            caller=caller_of(request),
        )
    except Conflict as exc:
        raise Conflict(exc.message, url=url) from exc
    return BucketUrlBody(url=url, name=bucket.bucket_id, id=str(bucket.id)).body()


@router.get("/api/buckets/{namespace}/{name}")
def bucket_info(request: Request, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.bucket_info`."""
    bucket = hub_of(request).buckets.bucket_info(
        realm_of(request), namespace, name, caller_of(request)
    )
    return _info(request, bucket)


@router.get("/api/buckets/{namespace}")
def list_buckets(request: Request, namespace: str) -> list[dict[str, Any]]:
    """`HfApi.list_buckets`: one page, the namespace's buckets the caller may see."""
    buckets = hub_of(request).buckets.list_buckets(
        realm_of(request), _namespace(request, namespace), caller_of(request)
    )
    return [_info(request, bucket) for bucket in buckets]


@router.delete("/api/buckets/{namespace}/{name}")
def delete_bucket(request: Request, namespace: str, name: str) -> Response:
    """`HfApi.delete_bucket`."""
    backend = hub_of(request).buckets
    bucket = backend.bucket_info(realm_of(request), namespace, name, caller_of(request), write=True)
    backend.delete_bucket(bucket)
    return Response("OK", media_type="text/plain")


@router.delete("/api/buckets/{name}")
def delete_bucket_without_namespace(name: str) -> None:
    """A bare name names no bucket (the client sends one for `delete_bucket("name")`)."""
    raise RepoNotFound(f"Bucket {name!r} not found: bucket ids are namespace/name")
