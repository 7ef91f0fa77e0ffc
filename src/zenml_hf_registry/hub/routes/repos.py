"""Routes for identity, repos, refs, commits and trees: parse, call the backend, serialise."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse

from zenml_hf_registry.hub.app import caller_of, external_base, hub_of, realm_of
from zenml_hf_registry.hub.cards import validate_card
from zenml_hf_registry.hub.errors import (
    BadRequest,
    Conflict,
    EntryNotFound,
    RepoNotFound,
    Unauthorized,
)
from zenml_hf_registry.hub.repos import FileEntry, Repo, RepoType
from zenml_hf_registry.hub.spaces.manager import validate_hardware, validate_storage
from zenml_hf_registry.hub.spaces.models import SPACE_SDKS

__all__ = ["load_repo", "repo_url", "router"]

router = APIRouter()

JsonBody = Annotated[dict[str, Any], Body()]


def load_repo(
    request: Request, repo_type: str, namespace: str, name: str, *, write: bool = False
) -> Repo:
    """The repo addressed by the URL, checked against the caller's rights."""
    hub = hub_of(request)
    return hub.repos.get_repo(
        realm_of(request),
        RepoType.from_plural(repo_type),
        namespace,
        name,
        caller_of(request),
        write=write,
    )


def repo_url(request: Request, repo: Repo) -> str:
    """The repo's web URL on this endpoint (what `create_repo` returns)."""
    return f"{external_base(request)}/{repo.type.url_prefix}{repo.repo_id}"


def _split_repo_id(request: Request, body: dict[str, Any]) -> tuple[str, str]:
    """`(namespace, name)` of a create/delete/move body; a bare name is the caller's own."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("'name' is required")
    organization = body.get("organization")
    if "/" in name:
        organization, _, name = name.partition("/")
    if not organization:
        caller = caller_of(request)
        if caller is None:
            raise Unauthorized("You must be authenticated to do this: no namespace was given")
        organization = caller.user
    return str(organization), name


def _private_from(body: dict[str, Any]) -> bool | None:
    visibility = body.get("visibility")
    if visibility is not None:
        if visibility not in ("public", "private", "protected"):
            raise BadRequest(f"invalid visibility {visibility!r}: use public or private")
        return bool(visibility != "public")
    private = body.get("private")
    return None if private is None else bool(private)


@router.get("/api/whoami-v2")
def whoami(request: Request) -> dict[str, Any]:
    """`HfApi.whoami`."""
    return hub_of(request).repos.whoami(caller_of(request))


@router.post("/api/validate-yaml")
def validate_yaml(body: JsonBody) -> JSONResponse:
    """Repo card metadata validation: 400 with `errors` refuses the card, `warnings` only warn."""
    content = body.get("content")
    if not isinstance(content, str):
        raise BadRequest("'content' must be the README's text")
    result = validate_card(content, str(body.get("repoType") or "model"))
    answer = {
        "errors": [{"message": m} for m in result.errors],
        "warnings": [{"message": m} for m in result.warnings],
    }
    if result.errors:
        message = "Invalid metadata in README.md: " + "; ".join(result.errors)
        header = " ".join(message.split()).encode("ascii", "replace").decode()
        return JSONResponse(answer, status_code=400, headers={"X-Error-Message": header})
    return JSONResponse(answer)


@router.post("/api/repos/create")
def create_repo(request: Request, body: JsonBody) -> JSONResponse:
    """`HfApi.create_repo`: 200 `{url, name, id}`, or 409 with the existing repo's `url`."""
    hub = hub_of(request)
    repo_type = RepoType(body.get("type") or "model")
    namespace, name = _split_repo_id(request, body)
    requested = _private_from(body)
    private = hub.repos.private_by_default(namespace) if requested is None else requested
    registry = hub.packages.registry(realm_of(request))
    if registry is not None:
        private = registry.private  # a registry's visibility covers all of its packages
    existing_url = f"{external_base(request)}/{repo_type.url_prefix}{namespace}/{name}"
    # As on the Hub, the caller's rights and then the repo's existence (a 409 that
    # `exist_ok=True` absorbs) are judged before the body's other fields.
    try:
        hub.repos.check_creatable(realm_of(request), repo_type, namespace, name, caller_of(request))
    except Conflict as exc:
        raise Conflict(exc.message, url=existing_url) from exc
    try:
        repo = hub.repos.create_repo(
            realm_of(request),
            repo_type,
            namespace,
            name,
            private=private,
            caller=caller_of(request),
            attributes=_space_attributes(body) if repo_type is RepoType.SPACE else {},
            # Registry repos start empty, so a published snapshot is exactly its files.
            initial_files=() if registry else hub.repos.default_initial_files(repo_type),
        )
    except Conflict as exc:
        raise Conflict(exc.message, url=existing_url) from exc
    if repo.type is RepoType.SPACE:
        hub.spaces.on_created(repo)
    return JSONResponse(
        {"url": repo_url(request, repo), "name": repo.repo_id, "id": _object_id(repo)}
    )


@router.delete("/api/repos/delete")
def delete_repo(request: Request, body: JsonBody) -> Response:
    """`HfApi.delete_repo`."""
    repo_type = RepoType(body.get("type") or "model")
    namespace, name = _split_repo_id(request, body)
    repo = load_repo(request, f"{repo_type.value}s", namespace, name, write=True)
    hub_of(request).spaces.on_delete(repo)
    hub_of(request).repos.delete_repo(repo)
    return Response("OK", media_type="text/plain")


@router.put("/api/{repo_type}/{namespace}/{name}/settings")
def update_repo_settings(
    request: Request, repo_type: str, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.update_repo_settings` (visibility)."""
    repo = load_repo(request, repo_type, namespace, name, write=True)
    private = _private_from(body)
    hub_of(request).repos.update_repo_settings(repo, private=private)
    hub_of(request).spaces.on_visibility(hub_of(request).repos.refresh(repo))
    return {"private": repo.private if private is None else private}


def _keyed(items: Any, what: str) -> dict[str, dict[str, Any]]:
    """`[{key, value, description?}]` from create_repo -> the stored `{key: {...}}` form."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise BadRequest(f"'{what}' must be a list of {{key, value}} objects")
    stored: dict[str, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise BadRequest(f"each of '{what}' needs a 'key'")
        stored[item["key"]] = {
            "value": str(item.get("value", "")),
            "description": item.get("description"),
            "updatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
    return stored


def _space_attributes(body: dict[str, Any]) -> dict[str, Any]:
    """Validate the Space fields of a create_repo body before anything is created."""
    sdk = body.get("sdk")
    if sdk not in SPACE_SDKS:
        raise BadRequest(f"Invalid sdk {sdk!r}: a Space's sdk is one of {', '.join(SPACE_SDKS)}")
    attributes: dict[str, Any] = {"sdk": sdk, "builds": 0, "restarts": 0}
    if body.get("hardware") is not None:
        attributes["hardware"] = validate_hardware(body["hardware"])
    if body.get("sleepTimeSeconds") is not None:
        attributes["sleepTime"] = int(body["sleepTimeSeconds"])
    if body.get("storageTier") is not None:
        attributes["storage"] = validate_storage(body["storageTier"])
    attributes["secrets"] = _keyed(body.get("secrets"), "secrets")
    attributes["variables"] = _keyed(body.get("variables"), "variables")
    return attributes


def _object_id(repo: Repo) -> str:
    return hashlib.sha1(f"{repo.realm}:{repo.id}".encode(), usedforsecurity=False).hexdigest()[:24]


def _sibling(entry: FileEntry) -> dict[str, Any]:
    sibling: dict[str, Any] = {"rfilename": entry.path, "size": entry.size, "blobId": entry.git_oid}
    if entry.lfs:
        sibling["lfs"] = {
            "sha256": entry.sha256,
            "size": entry.size,
            "pointerSize": entry.pointer_size,
        }
    return sibling


def repo_info_body(request: Request, repo: Repo, revision: str) -> dict[str, Any]:
    """The JSON of `repo_info` at a revision (Space routes extend it)."""
    hub = hub_of(request)
    commit_id = hub.repos.resolve_revision(repo, revision)
    commit = hub.repos.get_commit(repo, commit_id)
    files = hub.repos.list_files(repo, commit_id)
    body: dict[str, Any] = {
        "_id": _object_id(repo),
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": commit_id,
        "lastModified": commit.created_at,
        "createdAt": repo.created_at,
        "private": repo.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": [_sibling(f) for f in files],
        "usedStorage": sum(f.size for f in files),
    }
    if repo.type is RepoType.MODEL:
        body["modelId"] = repo.repo_id
    if repo.type is RepoType.SPACE:
        spaces = hub.spaces
        body.update(
            {
                "sdk": repo.attributes.get("sdk") or "docker",
                "subdomain": f"{repo.namespace}-{repo.name}".lower().replace(".", "-"),
                "host": spaces.host_url(repo),
                "runtime": spaces.runtime_info(repo),
            }
        )
    return body


@router.get("/api/{repo_type}/{namespace}/{name}")
def repo_info(request: Request, repo_type: str, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.repo_info` at the default branch."""
    repo = load_repo(request, repo_type, namespace, name)
    return repo_info_body(request, repo, "main")


@router.get("/api/{repo_type}/{namespace}/{name}/revision/{revision:path}")
def repo_info_at(
    request: Request, repo_type: str, namespace: str, name: str, revision: str
) -> dict[str, Any]:
    """`HfApi.repo_info(revision=...)`."""
    repo = load_repo(request, repo_type, namespace, name)
    return repo_info_body(request, repo, revision)


@router.get("/api/{repo_type}/{namespace}/{name}/refs")
def list_repo_refs(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    include_prs: Annotated[bool, Query()] = False,
) -> dict[str, list[dict[str, str]]]:
    """`HfApi.list_repo_refs` (`include_prs=1` adds `pullRequests`)."""
    repo = load_repo(request, repo_type, namespace, name)
    return hub_of(request).repos.list_repo_refs(repo, include_pull_requests=include_prs)


def _tree_item(entry: FileEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "file",
        "oid": entry.git_oid,
        "size": entry.size,
        "path": entry.path,
    }
    if entry.lfs:
        item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
    return item


def _folder_item(path: str, files: list[FileEntry]) -> dict[str, Any]:
    digest = hashlib.sha1(usedforsecurity=False)
    for entry in files:
        if entry.path.startswith(path + "/"):
            digest.update(f"{entry.path}\0{entry.git_oid}\n".encode())
    return {"type": "directory", "oid": digest.hexdigest(), "size": 0, "path": path}


def _paginate(
    request: Request, items: list[dict[str, Any]], cursor: str | None, page_size: int
) -> JSONResponse:
    start = 0
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except ValueError as exc:
            raise BadRequest(f"invalid cursor {cursor!r}") from exc
    page = items[start : start + page_size]
    headers = {}
    if start + page_size < len(items):
        next_cursor = base64.urlsafe_b64encode(str(start + page_size).encode()).decode()
        params = dict(request.query_params)
        params["cursor"] = next_cursor
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
        url = f"{external_base(request)}{request.url.path}?{query}"
        headers["Link"] = f'<{url}>; rel="next"'
    return JSONResponse(page, headers=headers)


@router.get("/api/{repo_type}/{namespace}/{name}/tree/{rest:path}")
def list_repo_tree(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    rest: str,
    recursive: Annotated[bool, Query()] = False,
    expand: Annotated[bool, Query()] = False,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> JSONResponse:
    """`HfApi.list_repo_tree`: files and folders under a path, paginated with `Link`."""
    hub = hub_of(request)
    repo = load_repo(request, repo_type, namespace, name)
    revision, path = hub.repos.split_revision(repo, rest.rstrip("/"))
    commit_id = hub.repos.resolve_revision(repo, revision)
    path = path.strip("/")
    files = hub.repos.list_files(repo, commit_id, path)
    if path and not files:
        raise EntryNotFound(f"{path} does not exist on {revision}", commit=commit_id)
    items: list[dict[str, Any]] = []
    seen_folders: set[str] = set()
    base_depth = len(path.split("/")) if path else 0
    for entry in files:
        parts = entry.path.split("/")
        # Folders between `path` and the file, once each, before their content (as the Hub).
        last_folder = len(parts) - 1 if recursive else min(base_depth + 1, len(parts) - 1)
        for depth in range(base_depth + 1, last_folder + 1):
            folder = "/".join(parts[:depth])
            if folder not in seen_folders:
                seen_folders.add(folder)
                items.append(_folder_item(folder, files))
        if recursive or len(parts) == base_depth + 1:
            items.append(_tree_item(entry))
    page_size = min(limit or hub.settings.tree_page_size, hub.settings.tree_page_size)
    return _paginate(request, items, cursor, page_size)


@router.post("/api/{repo_type}/{namespace}/{name}/paths-info/{revision:path}")
async def get_paths_info(
    request: Request, repo_type: str, namespace: str, name: str, revision: str
) -> list[dict[str, Any]]:
    """`HfApi.get_paths_info`: form (or JSON) `paths` and `expand`; missing paths are left out."""
    hub = hub_of(request)
    repo = load_repo(request, repo_type, namespace, name)
    commit_id = hub.repos.resolve_revision(repo, revision)
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(raw or b"{}")
        paths = [str(p) for p in body.get("paths") or []]
        expand = bool(body.get("expand"))
    else:
        form = parse_qs(raw.decode(), keep_blank_values=True)
        paths = form.get("paths", [])
        expand = (form.get("expand") or ["false"])[-1].lower() in ("1", "true")
    files = hub.repos.list_files(repo, commit_id)
    by_path = {f.path: f for f in files}
    answer: list[dict[str, Any]] = []
    for path in dict.fromkeys(p.strip("/") for p in paths):
        if path in by_path:
            item = _tree_item(by_path[path])
        elif path and any(f.path.startswith(path + "/") for f in files):
            item = _folder_item(path, files)
        else:
            continue
        if expand:
            commit = hub.repos.last_commit_of(repo, commit_id, path)
            item["lastCommit"] = {"id": commit.id, "title": commit.title, "date": commit.created_at}
        answer.append(item)
    return answer


@router.get("/api/{repo_type}/{namespace}/{name}/commits/{revision:path}")
def list_repo_commits(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    cursor: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """`HfApi.list_repo_commits`, newest first."""
    hub = hub_of(request)
    repo = load_repo(request, repo_type, namespace, name)
    items = [
        {
            "id": c.id,
            "title": c.title,
            "message": c.message,
            "date": c.created_at,
            "authors": [{"user": c.author}],
        }
        for c in hub.repos.list_repo_commits(repo, revision)
    ]
    return _paginate(request, items, cursor, hub.settings.tree_page_size)


@router.post("/api/{repo_type}/{namespace}/{name}/branch/{branch:path}")
def create_branch(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    branch: str,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """`HfApi.create_branch` (from `startingPoint`, default `main`)."""
    repo = load_repo(request, repo_type, namespace, name, write=True)
    starting_point = (body or {}).get("startingPoint") or "main"
    hub_of(request).repos.create_ref(repo, "branch", branch, starting_point)
    return {}


@router.delete("/api/{repo_type}/{namespace}/{name}/branch/{branch:path}")
def delete_branch(
    request: Request, repo_type: str, namespace: str, name: str, branch: str
) -> dict[str, Any]:
    """`HfApi.delete_branch`."""
    repo = load_repo(request, repo_type, namespace, name, write=True)
    hub_of(request).repos.delete_ref(repo, "branch", branch)
    return {}


@router.post("/api/{repo_type}/{namespace}/{name}/tag/{revision:path}")
def create_tag(
    request: Request, repo_type: str, namespace: str, name: str, revision: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.create_tag`: body `{tag, message?}`, the URL names the revision tagged."""
    repo = load_repo(request, repo_type, namespace, name, write=True)
    tag = body.get("tag")
    if not isinstance(tag, str):
        raise BadRequest("'tag' is required")
    hub_of(request).repos.create_ref(repo, "tag", tag, revision)
    return {}


@router.delete("/api/{repo_type}/{namespace}/{name}/tag/{tag:path}")
def delete_tag(
    request: Request, repo_type: str, namespace: str, name: str, tag: str
) -> dict[str, Any]:
    """`HfApi.delete_tag`."""
    repo = load_repo(request, repo_type, namespace, name, write=True)
    hub_of(request).repos.delete_ref(repo, "tag", tag)
    return {}


@router.get("/api/{repo_type}")
def list_repos(
    request: Request,
    repo_type: str,
    author: Annotated[str | None, Query()] = None,
    search: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    """`HfApi.list_models/list_datasets/list_spaces` (author and search filters)."""
    if repo_type not in ("models", "datasets", "spaces"):
        raise RepoNotFound(f"no such listing {repo_type!r}")
    hub = hub_of(request)
    repos = hub.repos.list_repos(
        realm_of(request), RepoType.from_plural(repo_type), caller_of(request)
    )
    return [
        {"_id": _object_id(r), "id": r.repo_id, "author": r.namespace, "private": r.private}
        for r in repos
        if (author is None or r.namespace.lower() == author.lower())
        and (search is None or search.lower() in r.repo_id.lower())
    ]
