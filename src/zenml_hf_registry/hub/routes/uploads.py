"""Uploads: preupload, the git-lfs batch API (basic and multipart), verify, and NDJSON commits.

As on the Hub, LFS content PUTs and multipart completion carry no Authorization header: the
batch response hands out URLs holding a signed ticket that names the repo, the object, the
action and an expiry. Tickets are signed with a key kept in the data dir, so an upload survives
a restart. Multipart parts are kept under `multipart/` until completion, so a retried upload
resumes.

Storage is content-addressed and shared by all repos, but knowing an oid proves nothing: the
batch API skips an upload only for an object the caller could read already (its repo owns it,
or a repo the caller may read holds it); every other upload sends and proves its bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import shutil
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from zenml_hf_registry.hub.context import (
    blob_response,
    caller_of,
    external_base,
    hub_of,
    load_repo,
    repo_url,
)
from zenml_hf_registry.hub.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    RevisionNotFound,
    UnprocessableEntity,
)
from zenml_hf_registry.hub.gitpatterns import GitAttributes, GitIgnore
from zenml_hf_registry.hub.repos import CommitOperation, Repo, validate_path
from zenml_hf_registry.hub.state import Hub
from zenml_hf_registry.hub.storage import git_blob_oid
from zenml_hf_registry.hub.tickets import TicketAction, TicketSigner
from zenml_hf_registry.hub.wire import CommitAnswer

__all__ = ["router"]

router = APIRouter()

_LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"
_SAMPLE_BYTES = 512


def _signer(hub: Hub) -> TicketSigner:
    return hub.tickets


def _is_binary(sample: bytes) -> bool:
    return b"\0" in sample


@router.post("/api/{repo_type}/{namespace}/{name}/preupload/{revision:path}")
def preupload(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Decide per file: regular (inline in the commit) or LFS; report the current oid if any."""
    hub = hub_of(request)
    repo = _load_for_commit(request, repo_type, namespace, name, revision)
    try:
        commit_id: str | None = hub.repos.resolve_revision(repo, revision)
    except RevisionNotFound:
        commit_id = None
    existing = {f.path: f for f in hub.repos.list_files(repo, commit_id)} if commit_id else {}
    files = body.get("files")
    if not isinstance(files, list):
        raise BadRequest("'files' must be a list")
    # LFS is decided by the repo's `.gitattributes` first, then by size and content; ignored
    # files follow the `.gitignore` sent along (`gitIgnore`), else the repo's own.
    attributes = GitAttributes(
        (hub.repos.read_small_file(repo, commit_id, ".gitattributes") or "") if commit_id else ""
    )
    gitignore_text = body.get("gitIgnore")
    if not isinstance(gitignore_text, str):
        gitignore_text = (
            hub.repos.read_small_file(repo, commit_id, ".gitignore") if commit_id else None
        )
    gitignore = GitIgnore(gitignore_text or "")
    answer = []
    for item in files:
        path = validate_path(str(item.get("path", "")))
        size = int(item.get("size", 0))
        if size > hub.settings.max_file_size:
            raise PayloadTooLarge(
                f"{path} is {size} bytes; this Hub accepts files up to {hub.settings.max_file_size}"
            )
        try:
            sample = base64.b64decode(item.get("sample") or "")
        except binascii.Error as exc:
            raise BadRequest(f"'sample' of {path} is not base64") from exc
        lfs = size > 0 and (
            attributes.is_lfs(path)
            or size >= hub.settings.lfs_threshold
            or _is_binary(sample[:_SAMPLE_BYTES])
        )
        current = existing.get(path)
        entry: dict[str, Any] = {
            "path": path,
            "uploadMode": "lfs" if lfs else "regular",
            "shouldIgnore": gitignore.ignores(path),
        }
        if current is not None:
            # The client compares this with its local oid to skip unchanged files:
            # sha256 for LFS files, the git blob sha1 for regular ones.
            entry["oid"] = current.sha256 if lfs else current.git_oid
        answer.append(entry)
    return {"files": answer, "commitOid": commit_id}


def _lfs_routes(prefix: str, plural: str) -> None:
    def batch(
        request: Request, namespace: str, name: str, body: Annotated[dict[str, Any], Body()]
    ) -> JSONResponse:
        return _batch(request, plural, namespace, name, body)

    def verify(
        request: Request, namespace: str, name: str, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        return _verify(request, plural, namespace, name, body)

    router.add_api_route(
        f"{prefix}/{{namespace}}/{{name}}.git/info/lfs/objects/batch",
        batch,
        methods=["POST"],
        name=f"lfs_batch_{plural}",
    )
    router.add_api_route(
        f"{prefix}/{{namespace}}/{{name}}.git/info/lfs/objects/verify",
        verify,
        methods=["POST"],
        name=f"lfs_verify_{plural}",
    )


def _batch(
    request: Request, plural: str, namespace: str, name: str, body: dict[str, Any]
) -> JSONResponse:
    hub = hub_of(request)
    operation = body.get("operation")
    if operation not in ("upload", "download"):
        raise BadRequest(f"unknown LFS operation {operation!r}")
    # An upload that names no ref may be for a pull request, which a contributor without write
    # access to the repo may open (the client leaves the ref out for `create_pr`).
    uploads_to_ref = operation == "upload" and body.get("ref") is not None
    ref = body.get("ref")
    ref_name = ref.get("name") if isinstance(ref, dict) else None
    repo = load_repo(request, plural, namespace, name)
    caller = caller_of(request)
    # A pull request's author may push to its ref, as to the commit route.
    to_own_pr = isinstance(ref_name, str) and hub.repos.may_push_to(repo, caller, ref_name)
    if uploads_to_ref and not to_own_pr:
        repo = load_repo(request, plural, namespace, name, write=True)
    if operation == "upload" and (not uploads_to_ref or to_own_pr):
        hub.repos.require_contributor(caller, repo)
    if operation == "download":
        hub.repos.check_file_access(repo, caller)
    transfers = body.get("transfers") or ["basic"]
    use_multipart = "multipart" in transfers
    base = external_base(request)
    signer = _signer(hub)
    settings = hub.settings
    objects = []
    for obj in body.get("objects") or []:
        oid, size = str(obj.get("oid", "")), obj.get("size")
        if not isinstance(size, int) or size < 0 or len(oid) != 64:
            objects.append(
                {
                    "oid": oid,
                    "size": size if isinstance(size, int) else 0,
                    "error": {"code": 422, "message": "invalid oid or size"},
                }
            )
            continue
        if size > settings.max_file_size:
            objects.append(
                {
                    "oid": oid,
                    "size": size,
                    "error": {
                        "code": 413,
                        "message": f"object is larger than {settings.max_file_size} bytes",
                    },
                }
            )
            continue
        if operation == "download":
            objects.append(_download_action(hub, repo, base, oid, size))
            continue
        try:
            stored = hub.repos.claim_lfs_object(repo, oid, size, caller)
        except UnprocessableEntity as exc:
            error = {"code": 422, "message": exc.message}
            objects.append({"oid": oid, "size": size, "error": error})
            continue
        if stored:
            objects.append({"oid": oid, "size": size})  # already stored: no actions
            continue
        ticket = signer.sign(repo, oid, size, TicketAction.UPLOAD)
        verify = {
            "href": f"{base}/{repo.type.url_prefix}{repo.repo_id}.git/info/lfs/objects/verify",
            "header": {},
        }
        if use_multipart and size >= settings.multipart_threshold:
            chunk = settings.multipart_chunk_size
            parts = -(-size // chunk)
            header: dict[str, str] = {"chunk_size": str(chunk)}
            for number in range(1, parts + 1):
                header[str(number)] = f"{base}/_lfs/{ticket}/part/{number}"
            upload = {"href": f"{base}/_lfs/{ticket}/complete", "header": header}
        else:
            upload = {"href": f"{base}/_lfs/{ticket}"}
        objects.append(
            {
                "oid": oid,
                "size": size,
                "authenticated": True,
                "actions": {"upload": upload, "verify": verify},
            }
        )
    transfer = "multipart" if use_multipart else "basic"
    return JSONResponse(
        {"transfer": transfer, "objects": objects, "hash_algo": "sha256"},
        media_type=_LFS_MEDIA_TYPE,
    )


def _download_action(hub: Hub, repo: Repo, base: str, oid: str, size: int) -> dict[str, Any]:
    if not hub.repos.has_lfs_object(repo, oid):
        return {
            "oid": oid,
            "size": size,
            "error": {"code": 404, "message": "Object does not exist"},
        }
    href = f"{base}/_lfs/{_signer(hub).sign(repo, oid, size, TicketAction.DOWNLOAD)}/content"
    return {"oid": oid, "size": size, "actions": {"download": {"href": href}}}


def _verify(
    request: Request, plural: str, namespace: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    hub = hub_of(request)
    # Verify follows an upload, which a pull request's contributor may make (see `_batch`).
    repo = load_repo(request, plural, namespace, name)
    hub.repos.require_contributor(caller_of(request), repo)
    oid, size = str(body.get("oid", "")), body.get("size")
    if not hub.repos.has_lfs_object(repo, oid):
        raise UnprocessableEntity(f"LFS object {oid} was not uploaded")
    stored = hub.blobs.size(oid)
    if size is not None and stored != size:
        raise UnprocessableEntity(f"LFS object {oid} has {stored} bytes, not {size}")
    return {"success": True}


for _prefix, _plural in (("", "models"), ("/datasets", "datasets"), ("/spaces", "spaces")):
    _lfs_routes(_prefix, _plural)


def _repo_for_ticket(hub: Hub, ticket: str, action: TicketAction) -> tuple[Repo, str, int]:
    repo_row_id, oid, size = _signer(hub).check(ticket, action)
    repo = hub.repos.get_repo_by_row_id(repo_row_id)
    return repo, oid, size


@router.put("/_lfs/{ticket}")
async def upload_object(request: Request, ticket: str) -> Response:
    """Basic transfer: the whole object in one PUT, streamed to disk and checked.

    The body is received and checked against the ticket's oid and size even when the object
    is stored already, so a PUT can neither probe for an object nor claim one it lacks.
    """
    hub = hub_of(request)
    # Database work waits for the write lock (a big commit may hold it): never on the loop.
    repo, oid, size = await run_in_threadpool(_repo_for_ticket, hub, ticket, TicketAction.UPLOAD)
    with hub.blobs.lease() as lease:
        await hub.blobs.put_stream(
            request.stream(), max_size=size, lease=lease, expected_sha256=oid, expected_size=size
        )
        await run_in_threadpool(hub.repos.add_lfs_object, repo, oid, size)
    return Response(status_code=200)


def _parts_dir(hub: Hub, ticket: str) -> Path:
    _, oid, _ = _signer(hub).check(ticket, TicketAction.UPLOAD)
    key = hashlib.sha256(ticket.encode()).hexdigest()[:16]
    return hub.settings.data_dir / "multipart" / f"{oid}-{key}"


@router.put("/_lfs/{ticket}/part/{number}")
async def upload_part(request: Request, ticket: str, number: int) -> Response:
    """Multipart transfer: one part, answered with its ETag (md5, as S3)."""
    hub = hub_of(request)
    _, _, size = _signer(hub).check(ticket, TicketAction.UPLOAD)
    chunk = hub.settings.multipart_chunk_size
    parts = -(-size // chunk)
    if not 1 <= number <= parts:
        raise BadRequest(f"part {number} is out of range 1..{parts}")
    expected = min(chunk, size - (number - 1) * chunk)
    folder = _parts_dir(hub, ticket)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    staging = folder / f"{number}.partial"
    with staging.open("wb") as handle:
        async for data in request.stream():
            received += len(data)
            if received > expected:
                raise PayloadTooLarge(f"part {number} exceeds its {expected} bytes")
            digest.update(data)
            handle.write(data)
    if received != expected:
        staging.unlink(missing_ok=True)
        raise UnprocessableEntity(f"part {number} has {received} bytes, expected {expected}")
    staging.replace(folder / str(number))
    etag = f'"{digest.hexdigest()}"'
    (folder / f"{number}.etag").write_text(etag)
    return Response(status_code=200, headers={"ETag": etag})


@router.post("/_lfs/{ticket}/complete")
def complete_multipart(
    request: Request, ticket: str, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Multipart completion: parts joined in order, hashed and checked against the oid."""
    hub = hub_of(request)
    repo, oid, size = _repo_for_ticket(hub, ticket, TicketAction.UPLOAD)
    if body.get("oid") != oid:
        raise BadRequest("completion oid does not match the upload")
    folder = _parts_dir(hub, ticket)
    numbers = _part_numbers(body.get("parts"))
    files = []
    for index, (number, part) in enumerate(sorted(numbers, key=lambda n: n[0]), start=1):
        if number != index:
            raise BadRequest(f"part {index} is missing")
        etag_file = folder / f"{number}.etag"
        if not etag_file.exists() or etag_file.read_text() != part.get("etag"):
            raise BadRequest(f"part {number} was not uploaded or its etag does not match")
        files.append(folder / str(number))
    with hub.blobs.lease() as lease:
        # Joined and checked even when the object is stored already (see `upload_object`).
        hub.blobs.concat(files, expected_sha256=oid, expected_size=size, lease=lease)
        hub.repos.add_lfs_object(repo, oid, size)
    shutil.rmtree(folder, ignore_errors=True)
    return {"success": True}


def _part_numbers(parts: Any) -> list[tuple[int, dict[str, Any]]]:
    """`(partNumber, part)` of each part of a completion body; 400 when it is malformed."""
    if not isinstance(parts, list) or not parts:
        raise BadRequest("'parts' must be a non-empty list of {partNumber, etag}")
    numbered = []
    for part in parts:
        number = part.get("partNumber") if isinstance(part, dict) else None
        if isinstance(number, str) and number.isdigit():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool):
            raise BadRequest("each part needs an integer 'partNumber' and its 'etag'")
        numbered.append((number, part))
    return numbered


@router.get("/_lfs/{ticket}/content")
def download_object(request: Request, ticket: str) -> Response:
    """git-lfs download action target (only tickets the batch API signed for a download)."""
    hub = hub_of(request)
    _, oid, _ = _signer(hub).check(ticket, TicketAction.DOWNLOAD)
    if not hub.blobs.exists(oid):
        raise NotFound(f"LFS object {oid} is no longer stored")
    return blob_response(request, hub.blobs, oid, {})


@router.post("/api/{repo_type}/{namespace}/{name}/super-squash/{revision:path}")
def super_squash_history(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    revision: str,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """`HfApi.super_squash_history`: the ref's history becomes one commit of its current tree."""
    hub = hub_of(request)
    repo = load_repo(request, repo_type, namespace, name, write=True)
    message = str((body or {}).get("message") or f"Super-squash branch '{revision}'")
    commit_id = hub.repos.super_squash_history(
        repo, revision, message=message, caller=caller_of(request)
    )
    return {"commitOid": commit_id}


@router.get("/api/{repo_type}/{namespace}/{name}/lfs-files")
def list_lfs_files(request: Request, repo_type: str, namespace: str, name: str) -> JSONResponse:
    """`HfApi.list_lfs_files`: the repo's LFS objects (what its storage is made of)."""
    repo = load_repo(request, repo_type, namespace, name, write=True)
    return JSONResponse(hub_of(request).repos.list_lfs_files(repo))


@router.post("/api/{repo_type}/{namespace}/{name}/lfs-files/batch")
def permanently_delete_lfs_files(
    request: Request,
    repo_type: str,
    namespace: str,
    name: str,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """`HfApi.permanently_delete_lfs_files`: `{deletions: {sha: [...], rewriteHistory}}`."""
    repo = load_repo(request, repo_type, namespace, name, write=True)
    deletions = body.get("deletions")
    if not isinstance(deletions, dict):
        raise BadRequest("'deletions' must be an object {sha, rewriteHistory}")
    shas = deletions.get("sha")
    if not isinstance(shas, list) or not all(isinstance(s, str) for s in shas):
        raise BadRequest("'deletions.sha' must be a list of LFS object ids")
    hub_of(request).repos.permanently_delete_lfs_files(
        repo, shas, rewrite_history=bool(deletions.get("rewriteHistory", True))
    )
    return {}


@router.post("/api/{repo_type}/{namespace}/{name}/commit/{revision:path}")
async def create_commit(
    request: Request, repo_type: str, namespace: str, name: str, revision: str
) -> dict[str, Any]:
    """NDJSON commit: a header line, then file / lfsFile / deletedFile / deletedFolder lines."""
    hub = hub_of(request)
    repo = _load_for_commit(request, repo_type, namespace, name, revision)
    create_pr = _flag(request.query_params.get("create_pr"))
    header: dict[str, Any] | None = None
    operations: list[CommitOperation] = []
    received = 0
    buffer = bytearray()
    # Each line is one JSON document: an inline file is below the LFS threshold (the client
    # sends anything bigger through LFS), so a line is held to the JSON limit or to a
    # base64-encoded file under the threshold, not to the whole commit's.
    settings = hub.settings
    line_limit = max(settings.max_json_size, settings.lfs_threshold * 4 // 3 + 64 * 1024)

    def handle(line: bytes) -> None:
        nonlocal header
        if not line.strip():
            return
        try:
            item = json.loads(line)
            key, value = item["key"], item["value"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest("malformed commit line: expected {key, value} JSON") from exc
        if key == "header":
            header = value
            return
        raw_path = str(value.get("path", ""))
        # A folder deletion may name the folder with its trailing slash ("folder/").
        path = validate_path(raw_path.rstrip("/") if key == "deletedFolder" else raw_path)
        if key == "file":
            if value.get("encoding", "base64") != "base64":
                raise BadRequest(f"unsupported encoding for {path}")
            try:
                data = base64.b64decode(value.get("content", ""), validate=True)
            except binascii.Error as exc:
                raise BadRequest(f"content of {path} is not valid base64") from exc
            info = hub.blobs.put_bytes(data, lease=lease)
            operations.append(
                CommitOperation("file", path, info.sha256, info.size, git_blob_oid(data))
            )
        elif key == "lfsFile":
            if value.get("algo", "sha256") != "sha256":
                raise BadRequest(f"unsupported LFS hash algorithm for {path}")
            oid = str(value.get("oid", ""))
            size = value.get("size")
            if size is None:
                size = hub.repos.lfs_object_size(repo, oid)
            operations.append(CommitOperation("lfsFile", path, oid, int(size)))
        elif key in ("deletedFile", "deletedFolder"):
            operations.append(CommitOperation(key, path))
        else:
            raise BadRequest(f"unknown commit operation {key!r}")

    # Inline files are stored as they stream in, before the commit references them: the lease
    # keeps them from garbage collection (a repo deleted meanwhile) until the commit lands.
    # Decoding, hashing and storing lines and the commit itself run on worker threads: a
    # 20,000-file commit must not stall every other client on the event loop.
    def handle_all(lines: list[bytes]) -> None:
        for line in lines:
            handle(line)

    with hub.blobs.lease() as lease:
        async for chunk in request.stream():
            received += len(chunk)
            if received > hub.settings.max_request_size:
                raise PayloadTooLarge(
                    f"commit payload exceeds {hub.settings.max_request_size} bytes; "
                    "large files must go through LFS"
                )
            buffer += chunk  # a bytearray: appending a chunk of a long line is not a copy
            if b"\n" in chunk:
                cut = buffer.rfind(b"\n")
                lines = bytes(buffer[:cut]).split(b"\n")
                del buffer[: cut + 1]
                await run_in_threadpool(handle_all, lines)
            if len(buffer) > line_limit:
                raise PayloadTooLarge(
                    f"a commit line exceeds {line_limit} bytes; large files must go through LFS"
                )
        await run_in_threadpool(handle_all, [bytes(buffer)])
        if header is None:
            raise BadRequest("the commit has no header line")
        summary = str(header.get("summary") or "").strip()
        if not summary:
            raise BadRequest("commit summary is empty")
        result = await run_in_threadpool(
            hub.repos.create_commit,
            repo,
            revision,
            operations,
            title=summary,
            message=str(header.get("description") or ""),
            parent_commit=header.get("parentCommit"),
            caller=caller_of(request),
            create_pr=create_pr,
        )
    if result.pr_num is None and not revision.startswith("refs/pr/"):
        # A pull request neither rebuilds nor publishes.
        await run_in_threadpool(hub.on_commit, repo, result.commit_id)
    url = repo_url(request, repo)
    return CommitAnswer(
        commit_oid=result.commit_id,
        commit_url=f"{url}/commit/{result.commit_id}",
        pull_request_url=f"{url}/discussions/{result.pr_num}" if result.pr_num else None,
    ).body()


def _load_for_commit(
    request: Request, repo_type: str, namespace: str, name: str, revision: str
) -> Repo:
    """The repo a preupload or commit targets: write access, or a contributor for `create_pr`
    or for a pull request ref the caller opened (as the Hub lets a PR's author push to it)."""
    if not _flag(request.query_params.get("create_pr")):
        revision = unquote(revision)
        if revision.startswith("refs/pr/"):
            repo = load_repo(request, repo_type, namespace, name)
            repos, caller = hub_of(request).repos, caller_of(request)
            if repos.may_push_to(repo, caller, revision):
                repos.require_contributor(caller, repo)
                return repo
        return load_repo(request, repo_type, namespace, name, write=True)
    repo = load_repo(request, repo_type, namespace, name)
    hub_of(request).repos.require_contributor(caller_of(request), repo)
    return repo


def _flag(value: str | None) -> bool:
    """A boolean query parameter as the Hub reads it: `1` or `true`."""
    return value is not None and value.lower() in ("1", "true")
