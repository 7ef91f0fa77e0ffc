"""Routes for identity, repos, refs, commits and trees: parse, call the backend, serialise."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from zenml_hf_registry.hub.cards import validate_card
from zenml_hf_registry.hub.context import (
    HubJSONResponse,
    caller_of,
    external_base,
    hub_of,
    load_repo,
    realm_of,
    repo_url,
)
from zenml_hf_registry.hub.errors import (
    BadRequest,
    Conflict,
    EntryNotFound,
    NotFound,
    RepoNotFound,
    Unauthorized,
    header_text,
)
from zenml_hf_registry.hub.repos import CommitRecord, FileEntry, PullRequest, Repo, RepoType
from zenml_hf_registry.hub.spaces.manager import validate_hardware
from zenml_hf_registry.hub.spaces.models import SPACE_SDKS
from zenml_hf_registry.hub.wire import (
    CommitAuthor,
    CommitEntry,
    FormattedCommit,
    LastCommit,
    LfsSibling,
    LfsTreeInfo,
    RepoInfoBody,
    RepoSibling,
    SpaceRuntimeBody,
    TreeFile,
    TreeFolder,
)

__all__ = ["bare_name_router", "load_repo", "repo_url", "router"]

router = APIRouter()
# Repo ids without a namespace (`gpt2`): the Hub's legacy canonical repos. The local Hub has none,
# so these answer RepoNotFound; included last, so that no namespaced route is shadowed.
bare_name_router = APIRouter()

# The properties `?expand=` may ask for, per repo type (huggingface_hub's `Expand*Property_T`).
_EXPAND_COMMON = (
    "author",
    "cardData",
    "createdAt",
    "disabled",
    "lastModified",
    "likes",
    "private",
    "resourceGroup",
    "sha",
    "siblings",
    "tags",
    "trendingScore",
    "usedStorage",
    "xetEnabled",
)
_EXPANDABLE = {
    RepoType.MODEL: frozenset(
        (
            *_EXPAND_COMMON,
            "baseModels",
            "childrenModelCount",
            "config",
            "downloads",
            "downloadsAllTime",
            "evalResults",
            "gated",
            "gguf",
            "inference",
            "inferenceProviderMapping",
            "library_name",
            "mask_token",
            "model-index",
            "pipeline_tag",
            "safetensors",
            "spaces",
            "transformersInfo",
            "widgetData",
        )
    ),
    RepoType.DATASET: frozenset(
        (
            *_EXPAND_COMMON,
            "citation",
            "description",
            "downloads",
            "downloadsAllTime",
            "gated",
            "mainSize",
            "paperswithcode_id",
        )
    ),
    RepoType.SPACE: frozenset(
        (*_EXPAND_COMMON, "datasets", "models", "region", "runtime", "sdk", "subdomain")
    ),
}
# The sub-resources of `/api/{type}s/{id}/...` that read a repo (a bare id gets RepoNotFound).
_REPO_READS = frozenset(
    ("revision", "refs", "tree", "commits", "paths-info", "auth-check", "settings", "treesize")
)

JsonBody = Annotated[dict[str, Any], Body()]


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
        return JSONResponse(
            answer, status_code=400, headers={"X-Error-Message": header_text(message)}
        )
    return JSONResponse(answer)


@router.post("/api/repos/create")
def create_repo(request: Request, body: JsonBody) -> JSONResponse:
    """`HfApi.create_repo`: 200 `{url, name, id}`, or 409 with the existing repo's `url`."""
    hub = hub_of(request)
    repo_type = RepoType.parse(body.get("type"))
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
            attributes=_space_attributes(request, body) if repo_type is RepoType.SPACE else {},
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
    repo_type = RepoType.parse(body.get("type"))
    namespace, name = _split_repo_id(request, body)
    repo = load_repo(request, f"{repo_type.value}s", namespace, name, write=True)
    hub_of(request).spaces.on_delete(repo)
    hub_of(request).repos.delete_repo(repo)
    return Response("OK", media_type="text/plain")


@router.put("/api/{repo_type}/{namespace}/{name}/settings")
def update_repo_settings(
    request: Request, repo_type: str, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.update_repo_settings`: visibility and gating (`"auto"`, `"manual"`, false)."""
    hub = hub_of(request)
    repo = load_repo(request, repo_type, namespace, name, write=True)
    private = _private_from(body)
    hub.packages.check_visibility(repo, private)
    updated = hub.repos.update_repo_settings(repo, private=private, gated=body.get("gated"))
    if updated.private != repo.private:
        hub.spaces.on_visibility(updated)
    return {"private": updated.private, "gated": hub.repos.gated(updated)}


@router.post("/api/repos/move")
def move_repo(request: Request, body: JsonBody) -> Response:
    """`HfApi.move_repo`: `{fromRepo, toRepo, type}`; the old name redirects to the new one."""
    repo_type = RepoType.parse(body.get("type"))
    from_id, to_id = body.get("fromRepo"), body.get("toRepo")
    if not isinstance(from_id, str) or not isinstance(to_id, str):
        raise BadRequest("'fromRepo' and 'toRepo' are required")
    if from_id.count("/") != 1 or to_id.count("/") != 1:
        raise BadRequest("'fromRepo' and 'toRepo' must be of the form namespace/name")
    namespace, _, name = from_id.partition("/")
    repo = load_repo(request, f"{repo_type.value}s", namespace, name, write=True)
    new_namespace, _, new_name = to_id.partition("/")
    hub_of(request).repos.move_repo(repo, new_namespace, new_name, caller_of(request))
    return Response("OK", media_type="text/plain")


@router.get("/api/{repo_type}/{namespace}/{name}/auth-check")
def auth_check(request: Request, repo_type: str, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.auth_check`: whether the caller may read the repo's files (gating included)."""
    repo = load_repo(request, repo_type, namespace, name)
    hub_of(request).repos.check_file_access(repo, caller_of(request))
    return {}


@router.get("/api/{repo_type}/{namespace}/{name}/auth-check/write")
def auth_check_write(request: Request, repo_type: str, namespace: str, name: str) -> dict[str, Any]:
    """`HfApi.auth_check(write=True)`: whether the caller may write to the repo."""
    load_repo(request, repo_type, namespace, name, write=True)
    return {}


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


def _space_attributes(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Validate the Space fields of a create_repo body before anything is created."""
    sdk = body.get("sdk")
    if sdk not in SPACE_SDKS:
        raise BadRequest(f"Invalid sdk {sdk!r}: a Space's sdk is one of {', '.join(SPACE_SDKS)}")
    attributes: dict[str, Any] = {"sdk": sdk, "builds": 0, "restarts": 0}
    if body.get("hardware") is not None:
        attributes["hardware"] = validate_hardware(body["hardware"])
    if body.get("sleepTimeSeconds") is not None:
        attributes["sleepTime"] = int(body["sleepTimeSeconds"])
    attributes["secrets"] = _keyed(body.get("secrets"), "secrets")
    attributes["variables"] = _keyed(body.get("variables"), "variables")
    if body.get("volumes"):
        if sdk == "static":
            raise BadRequest("Volumes are not supported on static Spaces")
        attributes["volumes"] = hub_of(request).spaces.validate_volumes(
            realm_of(request), body["volumes"], caller_of(request)
        )
    return attributes


def _object_id(repo: Repo) -> str:
    return hashlib.sha1(f"{repo.realm}:{repo.id}".encode(), usedforsecurity=False).hexdigest()[:24]


def _sibling_model(entry: FileEntry) -> RepoSibling:
    lfs = LfsSibling(sha256=entry.sha256, size=entry.size, pointer_size=entry.pointer_size)
    return RepoSibling(
        rfilename=entry.path, size=entry.size, blob_id=entry.git_oid, lfs=lfs if entry.lfs else None
    )


def repo_info_body(
    request: Request, repo: Repo, revision: str, expand: list[str] | None = None
) -> dict[str, Any]:
    """The JSON of `repo_info` at a revision; with `expand`, only those properties (and ids)."""
    if expand:
        unknown = sorted(set(expand) - _EXPANDABLE[repo.type])
        if unknown:
            raise BadRequest(
                f"Invalid expand value(s) {', '.join(map(repr, unknown))} for a "
                f"{repo.type.value}: use {', '.join(sorted(_EXPANDABLE[repo.type]))}"
            )
        full = _full_repo_info(request, repo, revision)
        return {
            "_id": full["_id"],
            "id": full["id"],
            **{key: full[key] for key in expand if key in full},
        }
    return _full_repo_info(request, repo, revision)


def _full_repo_info(request: Request, repo: Repo, revision: str) -> dict[str, Any]:
    hub = hub_of(request)
    commit_id = hub.repos.resolve_revision(repo, revision)
    commit = hub.repos.get_commit(repo, commit_id)
    files = hub.repos.list_files(repo, commit_id)
    space = repo.type is RepoType.SPACE
    return RepoInfoBody(
        _id=_object_id(repo),
        id=repo.repo_id,
        author=repo.namespace,
        sha=commit_id,
        last_modified=commit.created_at,
        created_at=repo.created_at,
        private=repo.private,
        gated=hub.repos.gated(repo),
        siblings=[_sibling_model(f) for f in files],
        used_storage=sum(f.size for f in files),
        model_id=repo.repo_id if repo.type is RepoType.MODEL else None,
        sdk=(repo.attributes.get("sdk") or "docker") if space else None,
        subdomain=f"{repo.namespace}-{repo.name}".lower().replace(".", "-") if space else None,
        host=hub.spaces.host_url(repo) if space else None,
        runtime=SpaceRuntimeBody.model_validate(hub.spaces.runtime_info(repo)) if space else None,
        # Registry realms speak LFS only, as Buildkite's registries do.
        xet_enabled=not repo.realm,
    ).body()


ExpandQuery = Annotated[list[str] | None, Query()]


@router.get("/api/{repo_type}/{namespace}/{name}")
def repo_info(
    request: Request, repo_type: str, namespace: str, name: str, expand: ExpandQuery = None
) -> dict[str, Any]:
    """`HfApi.repo_info` at the default branch."""
    repo = load_repo(request, repo_type, namespace, name)
    return repo_info_body(request, repo, "main", expand)


@router.get("/api/{repo_type}/{namespace}/{name}/revision/{revision:path}")
def repo_info_at(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    expand: ExpandQuery = None,
) -> dict[str, Any]:
    """`HfApi.repo_info(revision=...)`."""
    repo = load_repo(request, repo_type, namespace, name)
    return repo_info_body(request, repo, revision, expand)


@router.get("/api/{repo_type}/{namespace}/{name}/refs")
def list_repo_refs(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    include_prs: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    """`HfApi.list_repo_refs` (`include_prs=1` adds `pullRequests`)."""
    repo = load_repo(request, repo_type, namespace, name)
    return hub_of(request).repos.list_repo_refs(repo, include_pull_requests=include_prs).body()


def _tree_item(entry: FileEntry, xet_hashes: dict[str, str]) -> dict[str, Any]:
    lfs = LfsTreeInfo(oid=entry.sha256, size=entry.size, pointer_size=entry.pointer_size)
    return TreeFile(
        oid=entry.git_oid,
        size=entry.size,
        path=entry.path,
        lfs=lfs if entry.lfs else None,
        xet_hash=xet_hashes.get(entry.sha256) if entry.lfs else None,
    ).body()


def _xet_hashes(request: Request, entries: Iterable[FileEntry]) -> dict[str, str]:
    """sha256 -> Xet hash of the Xet-backed LFS files among `entries` (as huggingface.co lists
    them, so clients need no HEAD per file); registries serve no Xet, so none there."""
    if realm_of(request):
        return {}
    return hub_of(request).xet.xet_hashes(e.sha256 for e in entries if e.lfs)


def _expanded(
    request: Request, repo: Repo, commit_id: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Tree items with `lastCommit`, as `expand=true` asks (no security scan is kept)."""
    last = hub_of(request).repos.last_commits(repo, commit_id, (i["path"] for i in items))
    return [{**item, "lastCommit": _last_commit(last[item["path"]])} for item in items]


def _last_commit(commit: CommitRecord) -> dict[str, Any]:
    return LastCommit(id=commit.id, title=commit.title, date=commit.created_at).body()


def _folder_oids(files: list[FileEntry], folders: set[str]) -> dict[str, str]:
    """A stable id per folder: a digest of the paths and blob ids below it, in one pass."""
    digests: dict[str, Any] = {}
    for entry in files:
        line = f"{entry.path}\0{entry.git_oid}\n".encode()
        folder = entry.path
        while "/" in folder:
            folder = folder.rsplit("/", 1)[0]
            if folder in folders:
                digest = digests.get(folder)
                if digest is None:
                    digest = digests[folder] = hashlib.sha1(usedforsecurity=False)
                digest.update(line)
    return {folder: digest.hexdigest() for folder, digest in digests.items()}


def _paginate(
    request: Request,
    items: list[dict[str, Any]],
    cursor: str | None,
    page_size: int,
    *,
    expand: tuple[Repo, str] | None = None,
) -> JSONResponse:
    """One page of `items` with a `Link: rel="next"`; `expand=(repo, commit)` adds last commits
    to that page only (the costly part)."""
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
    if expand is not None:
        page = _expanded(request, *expand, page)
    return HubJSONResponse(page, headers=headers)


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
    # Folders between `path` and each file, once each, before their content (as the Hub).
    listed: list[str | FileEntry] = []
    seen_folders: set[str] = set()
    base_depth = len(path.split("/")) if path else 0
    for entry in files:
        parts = entry.path.split("/")
        last_folder = len(parts) - 1 if recursive else min(base_depth + 1, len(parts) - 1)
        for depth in range(base_depth + 1, last_folder + 1):
            folder = "/".join(parts[:depth])
            if folder not in seen_folders:
                seen_folders.add(folder)
                listed.append(folder)
        if recursive or len(parts) == base_depth + 1:
            listed.append(entry)
    oids = _folder_oids(files, seen_folders)
    xet_hashes = _xet_hashes(request, (item for item in listed if not isinstance(item, str)))
    items = [
        TreeFolder(oid=oids[item], path=item).body()
        if isinstance(item, str)
        else _tree_item(item, xet_hashes)
        for item in listed
    ]
    page_size = min(limit or hub.settings.tree_page_size, hub.settings.tree_page_size)
    if expand:
        return _paginate(request, items, cursor, page_size, expand=(repo, commit_id))
    return _paginate(request, items, cursor, page_size)


@router.post("/api/{repo_type}/{namespace}/{name}/paths-info/{revision:path}")
async def get_paths_info(
    request: Request, repo_type: str, namespace: str, name: str, revision: str
) -> JSONResponse:
    """`HfApi.get_paths_info`: tree items for the given paths; missing paths are left out.

    The body is a form (`paths` repeated, `expand`), as huggingface_hub sends it, or JSON.
    """
    paths, expand = _paths_info_request(
        request.headers.get("content-type", ""), await request.body()
    )
    # The lookups read the database and walk every file: off the event loop.
    return await run_in_threadpool(
        _paths_info, request, repo_type, namespace, name, revision, paths, expand
    )


def _paths_info(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    paths: list[str],
    expand: bool,
) -> JSONResponse:
    hub = hub_of(request)
    repo = load_repo(request, repo_type, namespace, name)
    commit_id = hub.repos.resolve_revision(repo, revision)
    files = hub.repos.list_files(repo, commit_id)
    by_path = {entry.path: entry for entry in files}
    wanted = [p for p in dict.fromkeys(p.strip("/") for p in paths) if p]
    folder_oids = _folder_oids(files, {p for p in wanted if p not in by_path})
    items: list[dict[str, Any]] = []
    xet_hashes = _xet_hashes(request, (by_path[p] for p in wanted if p in by_path))
    for path in wanted:
        if path in by_path:
            items.append(_tree_item(by_path[path], xet_hashes))
        elif path in folder_oids:
            items.append(TreeFolder(oid=folder_oids[path], path=path).body())
    if expand:
        items = _expanded(request, repo, commit_id, items)
    return HubJSONResponse(items)


def _paths_info_request(content_type: str, body: bytes) -> tuple[list[str], bool]:
    """`(paths, expand)` from a form or JSON body."""
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise BadRequest(f"invalid JSON body: {exc}") from exc
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object with 'paths'")
        paths, expand = data.get("paths"), data.get("expand", False)
        if isinstance(paths, str):
            paths = [paths]
    else:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        paths = form.get("paths", [])
        expand = (form.get("expand") or ["false"])[-1].lower() in ("1", "true")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BadRequest("'paths' must be a list of paths")
    if not paths:
        raise BadRequest("'paths' is required")
    return paths, bool(expand)


@router.get("/api/{repo_type}/{namespace}/{name}/commits/{revision:path}")
def list_repo_commits(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    cursor: Annotated[str | None, Query()] = None,
    expand: Annotated[list[str] | None, Query(alias="expand[]")] = None,
) -> JSONResponse:
    """`HfApi.list_repo_commits`, newest first; `expand[]=formatted` adds HTML renderings."""
    hub = hub_of(request)
    repo = load_repo(request, repo_type, namespace, name)
    formatted = "formatted" in (expand or ())
    items = [_commit_item(c, formatted) for c in hub.repos.list_repo_commits(repo, revision)]
    return _paginate(request, items, cursor, hub.settings.tree_page_size)


def _commit_item(commit: CommitRecord, formatted: bool) -> dict[str, Any]:
    # The Hub renders titles and messages (links, mentions) as HTML; plain text, escaped, is
    # the rendering of text with none of those.
    rendered = FormattedCommit(title=html.escape(commit.title), message=html.escape(commit.message))
    return CommitEntry(
        id=commit.id,
        title=commit.title,
        message=commit.message,
        date=commit.created_at,
        authors=[CommitAuthor(user=commit.author)],
        formatted=rendered if formatted else None,
    ).body()


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


@router.get("/api/settings/repositories")
def list_own_repos(request: Request) -> list[dict[str, Any]]:
    """`HfApi.list_user_repos()`: the caller's own repos with their storage."""
    caller = caller_of(request)
    if caller is None:
        raise Unauthorized("You must be authenticated to list your repos")
    return _storage_overview(request, caller.user)


@router.get("/api/organizations/{namespace}/settings/repositories")
def list_org_repos(request: Request, namespace: str) -> list[dict[str, Any]]:
    """`HfApi.list_user_repos(namespace=org)`: an org's repos, for its members."""
    return _storage_overview(request, namespace)


def _storage_overview(request: Request, namespace: str) -> list[dict[str, Any]]:
    hub = hub_of(request)
    repos = hub.repos.list_user_repos(realm_of(request), namespace, caller_of(request))
    rows = []
    for repo in repos:
        info = _full_repo_info(request, repo, "main")
        rows.append(
            {
                "id": repo.repo_id,
                "type": repo.type.value,
                "updatedAt": info["lastModified"],
                "visibility": "private" if repo.private else "public",
                "storage": info["usedStorage"],
            }
        )
    total = sum(row["storage"] for row in rows)
    for row in rows:
        row["storagePercent"] = round(100 * row["storage"] / total, 2) if total else 0
    return rows


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


@bare_name_router.get("/api/{repo_type}/{name}")
def bare_repo_info(repo_type: str, name: str) -> None:
    """`repo_info("gpt2")`: no canonical repos here."""
    _no_canonical_repo(repo_type, name)


@bare_name_router.api_route(
    "/api/{repo_type}/{name}/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"]
)
def bare_repo_read(repo_type: str, name: str, rest: str) -> None:
    """Refs, trees, commits... of a namespace-less id: no canonical repos here."""
    if rest.split("/", 1)[0] not in _REPO_READS:
        raise NotFound(f"Not found: /api/{repo_type}/{name}/{rest}")
    _no_canonical_repo(repo_type, name)


for _prefix, _plural in (("", "models"), ("/datasets", "datasets"), ("/spaces", "spaces")):

    def _bare_resolve(name: str, rest: str, _plural: str = _plural) -> None:
        _no_canonical_repo(_plural, name)

    bare_name_router.add_api_route(
        f"{_prefix}/{{name}}/resolve/{{rest:path}}",
        _bare_resolve,
        methods=["GET", "HEAD"],
        name=f"resolve_bare_{_plural}",
    )


def _no_canonical_repo(repo_type: str, name: str) -> None:
    if repo_type not in ("models", "datasets", "spaces"):
        raise NotFound(f"Not found: /api/{repo_type}/{name}")
    raise RepoNotFound(f"Repository Not Found for url: {repo_type}/{name}")


_MAX_PR_TEXT = 64 * 1024


@router.post("/api/{repo_type}/{namespace}/{name}/discussions")
def create_discussion(
    request: Request, repo_type: str, namespace: str, name: str, body: JsonBody
) -> dict[str, Any]:
    """`HfApi.create_pull_request`: opens `refs/pr/N` (plain discussions are not served).

    huggingface_hub's Xet upload pipeline (`upload_folder(create_pr=True)`) opens its pull
    request this way, then commits to the ref.
    """
    if realm_of(request):
        raise NotFound("registries have no pull requests")
    if body.get("pullRequest") is not True:
        raise BadRequest("the local Hub serves pull requests, not discussions")
    title, description = body.get("title"), body.get("description") or ""
    if not isinstance(title, str) or not title.strip() or not isinstance(description, str):
        raise BadRequest("a pull request needs a 'title' (and an optional 'description') text")
    if len(title) + len(description) > _MAX_PR_TEXT:
        raise BadRequest(f"title and description are limited to {_MAX_PR_TEXT} characters")
    repo = load_repo(request, repo_type, namespace, name)
    opened = hub_of(request).repos.create_pull_request(
        repo, caller_of(request), title=title.strip(), description=description
    )
    return _pull_request_body(repo, opened)


@router.get("/api/{repo_type}/{namespace}/{name}/discussions/{num}")
def get_discussion_details(
    request: Request, repo_type: str, namespace: str, name: str, num: int
) -> dict[str, Any]:
    """`HfApi.get_discussion_details` of a pull request (no events, diff or conflicts kept)."""
    repo = load_repo(request, repo_type, namespace, name)
    opened = hub_of(request).repos.pull_request(repo, num) if not realm_of(request) else None
    if opened is None:
        raise NotFound(f"pull request {num} not found")
    return _pull_request_body(repo, opened)


def _pull_request_body(repo: Repo, opened: PullRequest) -> dict[str, Any]:
    return {
        "num": opened.num,
        "title": opened.title,
        "author": {"name": opened.author},
        "createdAt": opened.created_at,
        "status": "draft",
        "repo": {"name": repo.repo_id, "type": repo.type.value},
        "isPullRequest": True,
        "events": [],
        "changes": {"base": opened.base},
        "filesWithConflicts": [],
        "pinned": False,
        "locked": False,
        "collection": "discussions",
    }
