"""Publish one exact commit of a model to a registry, and pull it back, verifying both ways.

No ZenML here. Each side gets its own `HfApi` with its own endpoint and token, so neither
token ever reaches the other host and no implicit token (HF_TOKEN, the token file) is sent
anywhere. Uploads pass open files to the client, which makes huggingface_hub use the LFS
protocol for this call only (registries such as Buildkite's speak LFS, not Xet) without
touching process-wide settings other threads rely on.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    snapshot_download,
)
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils.sha import git_hash
from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

from zenml_hf_registry.deployer.naming import validate_space_id
from zenml_hf_registry.errors import (
    ChecksumMismatchError,
    ConfigurationError,
    HfRegistryError,
    PublishError,
    SnapshotNotFoundError,
    UntrustedAnswerError,
    UnverifiableSnapshotError,
)
from zenml_hf_registry.hub_client import hub_errors, make_api
from zenml_hf_registry.hub_endpoints import (
    get_registry_package,
    list_registry_packages,
    probe_upload_access,
)
from zenml_hf_registry.package_format import (
    PackageChecksums,
    PackageFile,
    package_checksums,
    package_file_name,
)
from zenml_hf_registry.registry.models import (
    HubTarget,
    PackageEntry,
    PackageRecord,
    PackageVersion,
    RegistryTarget,
)

__all__ = [
    "describe_package",
    "list_package_versions",
    "list_packages",
    "publish_snapshot",
    "pull_snapshot",
    "snapshot_checksums",
]

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]

# huggingface_hub warns that binary buffers fall back to HTTP: that is the point here.
logging.getLogger("huggingface_hub._commit_api").addFilter(
    lambda record: "not supported by Xet Storage" not in record.getMessage()
)


def _check_repo_id(repo_id: str) -> str:
    try:
        return validate_space_id(repo_id)
    except ConfigurationError as exc:
        raise ConfigurationError(str(exc).replace("Space id", "repo id")) from exc


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


class _UploadFile(io.BufferedReader):
    """An open file that, once `bar` is set, counts the bytes the upload reads from it.

    Uploads pass open files (not paths) to keep to LFS, and huggingface_hub draws its byte bar
    only for paths; this draws the same kind of bar. Hashing the file when the operation is
    made happens before `bar` is set, so only the bytes sent are counted.
    """

    bar: Any = None

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if self.bar is not None:
            self.bar.update(len(data))
        return data


def _upload_bar(total: int) -> Any:
    """huggingface_hub's tqdm bar for the bytes a publish sends: shown on a terminal only, off
    with HF_HUB_DISABLE_PROGRESS_BARS or `huggingface_hub.utils.disable_progress_bars()`."""
    return hf_tqdm(  # type: ignore[no-untyped-call]
        total=total,
        unit="B",
        unit_scale=True,
        desc="Uploading bytes",
        disable=None,  # tqdm's own rule: no bar unless stderr is a terminal
        name="zenml_hf_registry.publish",
    )


_COMMIT_ID = re.compile(r"[0-9a-f]{40}")


def _commit_id(value: object, *, endpoint: str, what: str) -> str:
    """`value` if it is a full commit id; any other answer (`../../x`, a branch name) could
    steer where files are written, so it stops everything before a byte is downloaded."""
    if not isinstance(value, str) or not _COMMIT_ID.fullmatch(value):
        raise UntrustedAnswerError(
            f"{endpoint} answered {what} with {str(value)[:60]!r}, which is not a commit id "
            "(40 hexadecimal digits): refusing to download anything from it",
            endpoint=endpoint,
        )
    return value


def _download_metadata(path: Path, folder: Path) -> bool:
    """Whether `path` is huggingface_hub's bookkeeping (`.cache/` inside a `local_dir`), judged
    below `folder` only: the default cache itself lives under `~/.cache`."""
    return ".cache" in path.relative_to(folder).parts


def snapshot_checksums(
    folder: Path, cancel: threading.Event | None = None, only: Iterable[str] | None = None
) -> PackageChecksums:
    """Checksums of the package archive of a snapshot folder (one streaming pass); `only`
    limits it to the files a package lists, whatever else the folder holds."""
    if only is not None:
        files = [folder / name for name in only]
    else:
        files = [p for p in folder.rglob("*") if p.is_file() and not _download_metadata(p, folder)]
    members = [
        PackageFile(path.relative_to(folder).as_posix(), path.stat().st_size, _opener(path))
        for path in files
    ]
    return package_checksums(members, cancel)


def _entries_of_source(info: Any) -> dict[str, PackageEntry]:
    return {
        s.rfilename: PackageEntry(
            path=s.rfilename,
            size=s.size or 0,
            sha256=s.lfs.sha256 if s.lfs else None,
            git_oid=None if s.lfs else s.blob_id,
        )
        for s in info.siblings or []
    }


def _entries_of_tree(items: Iterable[Any]) -> dict[str, PackageEntry]:
    return {
        f.path: PackageEntry(
            path=f.path,
            size=f.size,
            sha256=f.lfs.sha256 if f.lfs else None,
            git_oid=None if f.lfs else f.blob_id,
        )
        for f in items
        if isinstance(f, RepoFile)
    }


def _same_content(a: PackageEntry, b: PackageEntry) -> bool | None:
    """True/False when comparable; None when one side is LFS and the other is not."""
    if a.size != b.size:
        return False
    if a.sha256 and b.sha256:
        return a.sha256 == b.sha256
    if a.git_oid and b.git_oid:
        return a.git_oid == b.git_oid
    return None


def _install_command(registry: RegistryTarget, repo_id: str, revision: str) -> str:
    return (
        f"HF_ENDPOINT={registry.hub_endpoint} HF_TOKEN=<registry read token> "
        f"HF_HUB_DISABLE_XET=1 hf download {repo_id} --revision {revision}"
    )


def list_packages(registry: RegistryTarget, name: str | None = None) -> list[dict[str, Any]]:
    """The registry's packages (`items` of its REST listing), newest first."""
    api = make_api(registry.rest_base, registry.api_token or registry.token)
    with hub_errors(registry.rest_base, f"listing packages of {registry.slug}"):
        return list_registry_packages(api, registry.org, registry.registry, name)


def list_package_versions(
    registry: RegistryTarget, name: str | None = None
) -> list[PackageVersion]:
    """The registry's packages, newest first, each with the source commit it holds.

    The source commit is read from the registry's commit history (one request per package
    name); a registry that serves no history gives None there.
    """
    items = list_packages(registry, name=name)
    api = make_api(registry.hub_endpoint, registry.token)
    sources: dict[str, dict[str, str]] = {}
    for repo_id in dict.fromkeys(str(item.get("name")) for item in items):
        sources[repo_id] = _source_commits(api, repo_id)
    return [
        PackageVersion(
            id=str(item.get("id")),
            name=str(item.get("name")),
            version=str(item.get("version")),
            source_commit=sources.get(str(item.get("name")), {}).get(str(item.get("version"))),
            created_at=item.get("created_at"),
        )
        for item in items
    ]


def _source_commits(api: HfApi, repo_id: str, revision: str | None = None) -> dict[str, str]:
    """Registry commit id -> the source commit it published (from `publish`'s commit titles).

    Registries that serve no commit history answer 404/405/501: then nothing is known.
    """
    prefix = f"Publish {repo_id}@"
    try:
        with hub_errors(api.endpoint, f"reading the history of {repo_id}"):
            commits = api.list_repo_commits(repo_id, revision=revision)
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return {}
    except HfRegistryError as exc:
        cause = exc.__cause__
        status = cause.response.status_code if isinstance(cause, HfHubHTTPError) else None
        if status not in (404, 405, 501):
            raise
        return {}
    found: dict[str, str] = {}
    for commit in commits:
        title = commit.title
        if title.startswith(prefix) and _COMMIT_ID.fullmatch(title[len(prefix) :]):
            found[commit.commit_id] = title[len(prefix) :]
    return found


def _package_details(registry: RegistryTarget, repo_id: str, version: str) -> dict[str, Any]:
    for item in list_packages(registry, name=repo_id):
        if item.get("version") == version:
            api = make_api(registry.rest_base, registry.api_token or registry.token)
            with hub_errors(registry.rest_base, f"reading package {item['id']}"):
                return get_registry_package(api, registry.org, registry.registry, item["id"])
    raise PublishError(
        f"the registry {registry.slug} lists no package {repo_id} at {version}", repo_id=repo_id
    )


def _record(
    registry: RegistryTarget,
    repo_id: str,
    revision: str,
    registry_revision: str,
    entries: dict[str, PackageEntry],
    details: dict[str, Any],
    uploaded: int,
) -> PackageRecord:
    sums = details.get("checksums", {})
    pushed = details.get("created_at")
    return PackageRecord(
        name=f"{repo_id}@{revision}",
        repo_id=repo_id,
        revision=revision,
        registry=registry.slug,
        registry_endpoint=registry.hub_endpoint,
        registry_revision=registry_revision,
        package_id=details.get("id"),
        file_name=details.get("file_name") or package_file_name(repo_id, registry_revision),
        size=int(details.get("size", 0)),
        md5=sums.get("md5", ""),
        sha1=sums.get("sha1", ""),
        sha256=sums.get("sha256", ""),
        sha512=sums.get("sha512", ""),
        files=sorted(entries.values(), key=lambda e: e.path),
        pushed_at=datetime.fromisoformat(pushed.replace("Z", "+00:00")) if pushed else None,
        visibility=details.get("visibility"),
        uploaded_bytes=uploaded,
        install_command=_install_command(registry, repo_id, registry_revision),
    )


def _verify_checksums(repo_id: str, local: PackageChecksums, details: dict[str, Any]) -> None:
    remote = details.get("checksums") or {}
    for field in ("md5", "sha1", "sha256", "sha512"):
        if remote.get(field) and remote[field] != getattr(local, field):
            raise ChecksumMismatchError(
                repo_id=repo_id, field=field, expected=getattr(local, field), actual=remote[field]
            )
    if details.get("size") is not None and int(details["size"]) != local.size:
        raise ChecksumMismatchError(
            repo_id=repo_id, field="size", expected=str(local.size), actual=str(details["size"])
        )


def _check_cached_files(
    repo_id: str,
    operations: list[CommitOperationAdd | CommitOperationDelete],
    wanted: dict[str, PackageEntry],
    local: dict[str, Path],
    folder: Path,
) -> None:
    hint = f"The cached snapshot in {folder} is damaged: delete it and publish again."
    for op in operations:
        expected = wanted.get(op.path_in_repo)
        if not isinstance(op, CommitOperationAdd) or expected is None:
            continue
        name = op.path_in_repo
        actual_sha256 = op.upload_info.sha256.hex()
        if op.upload_info.size != expected.size:
            actual, wanted_value, field = str(op.upload_info.size), str(expected.size), "size"
        elif expected.sha256 and actual_sha256 != expected.sha256:
            actual, wanted_value, field = actual_sha256, expected.sha256, "sha256"
        elif expected.git_oid and git_hash(local[name].read_bytes()) != expected.git_oid:
            actual, wanted_value = git_hash(local[name].read_bytes()), expected.git_oid
            field = "git oid"
        else:
            continue
        raise ChecksumMismatchError(
            repo_id=repo_id,
            field=f"{field} of {name}",
            expected=wanted_value,
            actual=actual,
            holder="the cache",
            hint=hint,
        )


def _resolve_source(api: HfApi, repo_id: str, revision: str) -> Any:
    what = f"reading {repo_id}@{revision} at {api.endpoint}"
    try:
        with hub_errors(api.endpoint, what):
            return api.model_info(repo_id, revision=revision, files_metadata=True)
    except RepositoryNotFoundError as exc:
        raise SnapshotNotFoundError(
            f"{repo_id} does not exist at {api.endpoint} (or the source token may not read it)",
            repo_id=repo_id,
            revision=revision,
        ) from exc
    except RevisionNotFoundError as exc:
        raise SnapshotNotFoundError(
            f"{repo_id} has no revision {revision!r}", repo_id=repo_id, revision=revision
        ) from exc


def publish_snapshot(
    repo_id: str,
    *,
    registry: RegistryTarget,
    revision: str = "main",
    source: HubTarget | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> PackageRecord:
    """Cache `repo_id@revision` from the source Hub and publish exactly that commit.

    Everything is checked before a byte moves: the repo id, the source repo and revision, and
    that the registry token may write. An already published snapshot uploads nothing and
    returns the existing record. After uploading, every file is checked at the new commit
    (size and oid) and the package checksums computed locally must equal the registry's.
    """
    say = progress or (lambda message: logger.info("%s", message))
    source = source or HubTarget()
    _check_repo_id(repo_id)
    src = make_api(source.endpoint, source.token)
    dst = make_api(registry.hub_endpoint, registry.token)

    info = _resolve_source(src, repo_id, revision)
    sha = _commit_id(info.sha, endpoint=source.endpoint, what=f"{repo_id}@{revision}")
    wanted = _entries_of_source(info)
    for name in wanted:
        _safe_member(name, endpoint=source.endpoint)
    say(f"source {repo_id}@{revision} is commit {sha} ({len(wanted)} files)")

    with hub_errors(registry.hub_endpoint, f"reading {repo_id} in {registry.slug}"):
        try:
            # One request: with files_metadata the info lists every file's size and oid.
            head = dst.model_info(repo_id, files_metadata=True)
            present = _entries_of_source(head)
        except RepositoryNotFoundError:
            head, present = None, {}
    if (
        head is not None
        and present.keys() == wanted.keys()
        and all(_same_content(present[p], wanted[p]) for p in wanted)
    ):
        head_sha = _commit_id(head.sha, endpoint=registry.hub_endpoint, what=f"{repo_id}")
        details = _package_details(registry, repo_id, head_sha)
        say(f"already published as {registry.slug} {repo_id} at {head_sha}: nothing to upload")
        return _record(registry, repo_id, sha, head_sha, wanted, details, uploaded=0)

    with hub_errors(registry.hub_endpoint, f"checking write access to {registry.slug}"):
        dst.create_repo(repo_id, exist_ok=True)
        # A read-only token passes create_repo(exist_ok=True) on an existing repo: probe a
        # write endpoint before anything is downloaded or uploaded.
        probe_upload_access(dst, repo_id)

    say(f"caching {repo_id}@{sha} from {source.endpoint}")
    with hub_errors(source.endpoint, f"downloading {repo_id}@{sha}"):
        folder = Path(
            snapshot_download(
                repo_id,
                revision=sha,
                endpoint=source.endpoint,
                token=source.token or False,
                cache_dir=cache_dir,
            )
        )

    local = {
        p.relative_to(folder).as_posix(): p
        for p in folder.rglob("*")
        if p.is_file() and not _download_metadata(p, folder)
    }
    # The package checksums need one pass over every byte; hashlib releases the GIL, so that
    # pass runs beside the upload instead of after it.
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="package-checksums")
    stop_hashing = threading.Event()
    checksums = hasher.submit(snapshot_checksums, folder, stop_hashing)
    try:
        stale = sorted(set(present) - set(local))
        uploaded = sum(
            path.stat().st_size
            for name, path in local.items()
            if name not in present
            or not _same_content(present[name], wanted.get(name, present[name]))
        )
        say(f"uploading {len(local)} files ({uploaded} bytes to send at most) to {registry.slug}")
        with ExitStack() as files, hub_errors(registry.hub_endpoint, f"uploading {repo_id}"):
            readers = {
                name: files.enter_context(_UploadFile(io.FileIO(path, "rb")))
                for name, path in sorted(local.items())
            }
            operations: list[CommitOperationAdd | CommitOperationDelete] = [
                CommitOperationAdd(path_in_repo=name, path_or_fileobj=reader)
                for name, reader in readers.items()
            ]
            # Each operation hashed its file when it was made: a cached file that is not the
            # source's (bit rot, a hand edit) stops the publish before any byte is sent.
            _check_cached_files(repo_id, operations, wanted, local, folder)
            operations += [CommitOperationDelete(path_in_repo=name) for name in stale]
            bar = files.enter_context(_upload_bar(uploaded))
            for reader in readers.values():
                reader.bar = bar
            commit = dst.create_commit(
                repo_id,
                operations,
                commit_message=f"Publish {repo_id}@{sha}",
                commit_description=f"Snapshot of {repo_id} at commit {sha} from {source.endpoint}",
            )
        registry_revision = commit.oid

        say("verifying the files at the new commit")
        with hub_errors(registry.hub_endpoint, f"verifying {repo_id}"):
            stored = _entries_of_tree(
                dst.list_repo_tree(repo_id, revision=registry_revision, recursive=True)
            )
        for name, path in local.items():
            entry = stored.get(name)
            if entry is None:
                raise PublishError(f"{name} is missing at {registry_revision}", repo_id=repo_id)
            if entry.size != path.stat().st_size:
                raise ChecksumMismatchError(
                    repo_id=repo_id,
                    field=f"size of {name}",
                    expected=str(path.stat().st_size),
                    actual=str(entry.size),
                )
            if entry.git_oid and entry.git_oid != git_hash(path.read_bytes()):
                raise ChecksumMismatchError(
                    repo_id=repo_id,
                    field=f"git oid of {name}",
                    expected=git_hash(path.read_bytes()),
                    actual=entry.git_oid,
                )
            source_entry = wanted.get(name)
            if (
                entry.sha256
                and source_entry
                and source_entry.sha256
                and (entry.sha256 != source_entry.sha256)
            ):
                raise ChecksumMismatchError(
                    repo_id=repo_id,
                    field=f"sha256 of {name}",
                    expected=source_entry.sha256,
                    actual=entry.sha256,
                )
        details = _package_details(registry, repo_id, registry_revision)
        _verify_checksums(repo_id, checksums.result(), details)
        say(f"published {repo_id}@{sha} as {registry.slug} package {details.get('id')}")
        return _record(registry, repo_id, sha, registry_revision, stored, details, uploaded)
    finally:
        # On a failure or Ctrl-C, the pass stops at once instead of reading to the end.
        stop_hashing.set()
        hasher.shutdown(wait=False, cancel_futures=True)


def pull_snapshot(
    repo_id: str,
    *,
    registry: RegistryTarget,
    revision: str | None = None,
    local_dir: Path | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    allow_unverified: bool = False,
) -> tuple[PackageRecord, Path]:
    """Download a published snapshot (the registry's latest, or `revision`: a registry
    revision or the source commit a package holds) and verify it.

    Files land in the standard cache (`cache_dir`) or in `local_dir`. Fails closed: the
    registry must answer a real commit id and list only paths inside the snapshot; each
    listed file must match its size and hash (a file that does not is removed) and the
    package checksums of the listed files must equal the registry's. A package without
    checksums is refused unless `allow_unverified`. Other files in `local_dir` are ignored.
    """
    say = progress or (lambda message: logger.info("%s", message))
    _check_repo_id(repo_id)
    dst = make_api(registry.hub_endpoint, registry.token)
    registry_revision, listed, details = _resolve_package(dst, registry, repo_id, revision)
    if not details.get("checksums") and not allow_unverified:
        raise UnverifiableSnapshotError(
            f"{registry.slug} has no checksums for {repo_id} at {registry_revision}: nothing "
            "can prove the download is what was published. Pass allow_unverified=True "
            "(`--allow-unverified`) to download it anyway.",
            repo_id=repo_id,
        )
    say(f"pulling {repo_id} at {registry_revision} from {registry.slug}")
    with hub_errors(registry.hub_endpoint, f"downloading {repo_id}"):
        folder = Path(
            snapshot_download(
                repo_id,
                revision=registry_revision,
                endpoint=registry.hub_endpoint,
                token=registry.token or False,
                cache_dir=cache_dir,
                local_dir=local_dir,
            )
        )
    _verify_files(repo_id, folder, listed)
    if details.get("checksums"):
        _verify_checksums(repo_id, snapshot_checksums(folder, only=listed), details)
        verdict = f"verified {len(listed)} files against package {details.get('id')}"
    else:
        verdict = f"NOT verified: {registry.slug} gave no checksums (allow_unverified)"
    source_sha = _source_sha(dst, repo_id, registry_revision) or registry_revision
    record = _record(registry, repo_id, source_sha, registry_revision, listed, details, 0)
    say(verdict)
    return record, folder


def describe_package(
    repo_id: str, *, registry: RegistryTarget, revision: str | None = None
) -> PackageRecord:
    """The record of a published package (the latest, or `revision`: a registry commit or
    the source commit it holds), read from the registry without downloading it."""
    _check_repo_id(repo_id)
    dst = make_api(registry.hub_endpoint, registry.token)
    registry_revision, listed, details = _resolve_package(dst, registry, repo_id, revision)
    source_sha = _source_sha(dst, repo_id, registry_revision) or registry_revision
    return _record(registry, repo_id, source_sha, registry_revision, listed, details, 0)


_HEX_PREFIX = re.compile(r"[0-9a-f]{7,40}")


def _resolve_package(
    api: HfApi, registry: RegistryTarget, repo_id: str, revision: str | None
) -> tuple[str, dict[str, PackageEntry], dict[str, Any]]:
    """The registry commit, file list and package details of `repo_id` at `revision`.

    `revision` is a registry revision (commit, branch, tag; default: the latest) or the
    source commit a package holds (full or at least 7 hex digits). Fails closed: the answer
    must be a real commit id and list only paths inside the snapshot.
    """
    no_revision = SnapshotNotFoundError(
        f"{registry.slug} has no package {repo_id} at {revision!r}: neither a registry "
        "revision nor the source commit of a package (`zenml-hf-registry packages list` "
        "shows both)",
        repo_id=repo_id,
        revision=revision or "main",
    )
    try:
        with hub_errors(registry.hub_endpoint, f"reading {repo_id} in {registry.slug}"):
            try:
                info = api.model_info(repo_id, revision=revision, files_metadata=True)
            except RevisionNotFoundError as exc:
                published = (
                    _published_from(api, registry, repo_id, revision)
                    if revision is not None and _HEX_PREFIX.fullmatch(revision)
                    else None
                )
                if published is None:
                    raise no_revision from exc
                info = api.model_info(repo_id, revision=published, files_metadata=True)
    except RepositoryNotFoundError as exc:
        raise SnapshotNotFoundError(
            f"{registry.slug} has no package {repo_id} (or the token may not read it)",
            repo_id=repo_id,
            revision=revision or "main",
        ) from exc
    registry_revision = _commit_id(
        info.sha, endpoint=registry.hub_endpoint, what=f"the revision of {repo_id}"
    )
    listed = _entries_of_source(info)
    for name in listed:
        _safe_member(name, endpoint=registry.hub_endpoint)
    return registry_revision, listed, _package_details(registry, repo_id, registry_revision)


def _published_from(api: HfApi, registry: RegistryTarget, repo_id: str, source: str) -> str | None:
    """The newest registry commit that published the source commit `source` (or a prefix)."""
    matches = {
        registry_commit: source_commit
        for registry_commit, source_commit in _source_commits(api, repo_id).items()
        if source_commit.startswith(source)
    }
    if len(set(matches.values())) > 1:
        raise ConfigurationError(
            f"{source!r} is the start of several source commits of {repo_id} in "
            f"{registry.slug}: give more digits"
        )
    return next(iter(matches), None)  # the history is newest first


def _safe_member(name: str, *, endpoint: str) -> str:
    parts = name.replace("\\", "/").split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UntrustedAnswerError(
            f"{endpoint} listed a file {name[:80]!r} outside the snapshot: refusing it",
            endpoint=endpoint,
        )
    return name


def _verify_files(repo_id: str, folder: Path, listed: dict[str, PackageEntry]) -> None:
    """Each listed file against its own size and hash; a file that fails is removed (from the
    cache too) so that nothing tampered with stays behind to be loaded later."""
    for name, entry in listed.items():
        path = folder / name
        data_ok = path.is_file() and path.stat().st_size == entry.size
        if data_ok and entry.sha256:
            data_ok = _sha256(path) == entry.sha256
        elif data_ok and entry.git_oid:
            data_ok = git_hash(path.read_bytes()) == entry.git_oid
        if not data_ok:
            actual = path.resolve() if path.exists() else None
            path.unlink(missing_ok=True)
            if actual is not None and actual != path:
                actual.unlink(missing_ok=True)  # the cache blob the snapshot link points to
            raise ChecksumMismatchError(
                repo_id=repo_id,
                field=f"content of {name}",
                expected=entry.sha256 or entry.git_oid or f"{entry.size} bytes",
                actual="other content (removed)",
                holder="the download",
            )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _source_sha(api: HfApi, repo_id: str, revision: str) -> str | None:
    """The source commit a registry commit was published from (from its commit message)."""
    return _source_commits(api, repo_id, revision).get(revision)
