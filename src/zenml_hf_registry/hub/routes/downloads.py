"""File downloads: `HEAD|GET /{[datasets/|spaces/]}{repo_id}/resolve/{revision}/{path}`.

The Hub answers LFS files with a redirect to its CDN; the local Hub serves every file itself
with the same metadata headers (`X-Repo-Commit`, `ETag`, `X-Linked-Etag`, `X-Linked-Size`) and
supports `Range`, which is what `hf_hub_download` needs to verify and resume.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from zenml_hf_registry.hub.context import (
    blob_response,
    caller_of,
    external_base,
    hub_of,
    load_repo,
    realm_of,
)

__all__ = ["router"]

router = APIRouter()


def _resolve(request: Request, plural: str, namespace: str, name: str, rest: str) -> Response:
    hub = hub_of(request)
    repo = load_repo(request, plural, namespace, name)
    hub.repos.check_file_access(repo, caller_of(request))
    revision, path = hub.repos.split_revision(repo, rest)
    commit_id = hub.repos.resolve_revision(repo, revision)
    entry = hub.repos.get_file(repo, commit_id, path)
    headers = {
        "X-Repo-Commit": commit_id,
        "ETag": f'"{entry.etag}"',
        "Accept-Ranges": "bytes",
    }
    if entry.lfs:
        headers["X-Linked-Etag"] = f'"{entry.sha256}"'
        headers["X-Linked-Size"] = str(entry.size)
        xet_file = hub.xet.find_by_sha256(entry.sha256) if not realm_of(request) else None
        if xet_file is not None:
            # A Xet-backed file: Xet clients fetch it from the CAS with a read token.
            headers["X-Xet-Hash"] = xet_file.hash
            token_url = (
                f"{external_base(request)}/api/{plural}/{repo.repo_id}/xet-read-token/{commit_id}"
            )
            headers["Link"] = f'<{token_url}>; rel="xet-auth"'
    if request.method == "HEAD":
        headers["Content-Length"] = str(entry.size)
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    hub.on_download(repo, commit_id, entry)
    return blob_response(request, hub.blobs, entry.sha256, headers)


for _prefix, _plural in (("", "models"), ("/datasets", "datasets"), ("/spaces", "spaces")):

    def _route(
        request: Request, namespace: str, name: str, rest: str, _plural: str = _plural
    ) -> Response:
        return _resolve(request, _plural, namespace, name, rest)

    router.add_api_route(
        f"{_prefix}/{{namespace}}/{{name}}/resolve/{{rest:path}}",
        _route,
        methods=["GET", "HEAD"],
        name=f"resolve_{_plural}",
        include_in_schema=True,
    )
