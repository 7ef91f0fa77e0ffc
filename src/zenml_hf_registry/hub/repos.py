"""Repos, refs, commits and trees: the state and rules of the local Hub, with no HTTP in sight.

Methods are named after the `HfApi` methods they serve. A *realm* separates independent sets of
repos served by one process: `""` is the Hub itself, `"org/registry"` a registry facade.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from zenml_hf_registry.hub.errors import (
    BadRequest,
    Conflict,
    EntryNotFound,
    Forbidden,
    GatedRepo,
    InvalidPath,
    PreconditionFailed,
    RepoNotFound,
    RevisionNotFound,
    Unauthorized,
    UnprocessableEntity,
)
from zenml_hf_registry.hub.settings import OrgSpec, TokenRole, TokenSpec
from zenml_hf_registry.hub.storage import BlobStore, Database, git_blob_oid, lfs_pointer
from zenml_hf_registry.hub.wire import GitRef, GitRefsBody
from zenml_hf_registry.hub.xet import XetStore

__all__ = [
    "CommitOperation",
    "CommitRecord",
    "CommitResult",
    "FileEntry",
    "PullRequest",
    "Repo",
    "RepoBackend",
    "RepoType",
    "validate_path",
    "validate_ref_name",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_PR_REF_RE = re.compile(r"^refs/pr/([1-9][0-9]*)$")
# git accepts any unambiguous prefix of at least 4 hex digits; the Hub asks for 7, like git's
# own short form.
_SHORT_SHA_RE = re.compile(r"^[0-9a-f]{7,39}$")
# What `git check-ref-format` forbids anywhere in a ref name.
_REF_FORBIDDEN_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
_GATED_MODES = ("auto", "manual")
_MAX_PATH = 1000
_MAX_CONFIG_FILE = 1024 * 1024  # larger .gitattributes/.gitignore files are not read
_GITATTRIBUTES = (
    b"*.bin filter=lfs diff=lfs merge=lfs -text\n"
    b"*.h5 filter=lfs diff=lfs merge=lfs -text\n"
    b"*.onnx filter=lfs diff=lfs merge=lfs -text\n"
    b"*.pt filter=lfs diff=lfs merge=lfs -text\n"
    b"*.pth filter=lfs diff=lfs merge=lfs -text\n"
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    b"*.tar.gz filter=lfs diff=lfs merge=lfs -text\n"
    b"*.zip filter=lfs diff=lfs merge=lfs -text\n"
)


class RepoType(StrEnum):
    """The three repo types, with their URL forms."""

    MODEL = "model"
    DATASET = "dataset"
    SPACE = "space"

    @property
    def url_prefix(self) -> str:
        """Prefix of resolve/git URLs: none for models, `datasets/` or `spaces/` otherwise."""
        return "" if self is RepoType.MODEL else f"{self.value}s/"

    @classmethod
    def parse(cls, value: object) -> RepoType:
        """A `type` field of a request body (`model` when absent); 400 for anything else."""
        if value is None or value == "":
            return cls.MODEL
        if isinstance(value, str) and value in cls._value2member_map_:
            return cls(value)
        raise BadRequest(f"unknown repo type {value!r}: use model, dataset or space")

    @classmethod
    def from_plural(cls, plural: str) -> RepoType:
        """`models` -> MODEL, as in `/api/models/...`."""
        try:
            return cls(plural.removesuffix("s"))
        except ValueError as exc:
            raise BadRequest(f"unknown repo type {plural!r}") from exc


def _ancestors(path: str) -> Iterator[str]:
    """`a/b/c` -> `a`, `a/b`."""
    index = path.find("/")
    while index != -1:
        yield path[:index]
        index = path.find("/", index + 1)


class _FolderCounts:
    """How many files each folder of a tree holds, kept up to date as a commit applies its
    operations, so that "is this path a folder?" costs its depth, not the size of the repo."""

    def __init__(self, files: dict[str, FileEntry]) -> None:
        self._counts: dict[str, int] = {}
        for path in files:
            self.add(path)

    def add(self, path: str) -> None:
        for folder in _ancestors(path):
            self._counts[folder] = self._counts.get(folder, 0) + 1

    def remove(self, path: str) -> None:
        for folder in _ancestors(path):
            left = self._counts[folder] - 1
            if left:
                self._counts[folder] = left
            else:
                del self._counts[folder]

    def __contains__(self, folder: object) -> bool:
        return folder in self._counts


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def validate_path(path: str) -> str:
    """Refuse any repo path that could escape or confuse the tree; return it unchanged."""
    if not path:
        raise InvalidPath("empty path")
    if len(path) > _MAX_PATH:
        raise InvalidPath(f"path is {len(path)} characters long; the limit is {_MAX_PATH}")
    if "\0" in path:
        raise InvalidPath("path contains a NUL character")
    # A backslash is an ordinary character in a git path (the Hub stores such names and clients
    # guard their own file systems); only a leading `..` in Windows form escapes on the way in.
    if re.split(r"[/\\]", path, maxsplit=1)[0] == ".." and "\\" in path:
        raise UnprocessableEntity(f"path {path!r} starts with '..'; paths stay inside the repo")
    if path.startswith("/"):
        raise InvalidPath(f"path {path!r} is absolute; paths are relative to the repo root")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidPath(f"path {path!r} has an empty, '.' or '..' segment")
    if parts[0] == ".git":
        raise InvalidPath(f"path {path!r} is inside .git")
    if any(ord(c) < 32 for c in path):
        raise InvalidPath(f"path {path!r} contains a control character")
    return path


def _full_ref(kind: str, name: str) -> str:
    return f"refs/{'heads' if kind == 'branch' else 'tags'}/{name}"


def validate_ref_name(name: str, kind: str) -> str:
    """Refuse branch and tag names that `git check-ref-format` refuses; return the name."""
    if (
        not name
        or len(name) > 200
        or name == "@"
        or name.startswith(("/", "refs/"))
        or name.endswith(("/", "."))
        or _REF_FORBIDDEN_RE.search(name)
        or any(part.startswith(".") or part.endswith(".lock") for part in name.split("/"))
    ):
        raise BadRequest(f"Invalid reference name for a {kind}: {name!r}")
    return name


@dataclass(frozen=True)
class Repo:
    """A stored repo."""

    id: int
    realm: str
    type: RepoType
    namespace: str
    name: str
    private: bool
    created_at: str
    attributes: dict[str, Any]

    @property
    def repo_id(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class FileEntry:
    """A file at a commit."""

    path: str
    size: int
    git_oid: str
    sha256: str
    lfs: bool

    @property
    def pointer_size(self) -> int:
        """Size of the LFS pointer file that stands for this file in git."""
        return len(lfs_pointer(self.sha256, self.size))

    @property
    def etag(self) -> str:
        """What resolve answers as ETag: sha256 for LFS files, the git oid otherwise."""
        return self.sha256 if self.lfs else self.git_oid


@dataclass(frozen=True)
class CommitRecord:
    """A commit: id, parent, message and author."""

    id: str
    parent_id: str | None
    title: str
    message: str
    author: str
    created_at: str


@dataclass(frozen=True)
class CommitResult:
    """What a commit produced: its id, and the pull request number when it opened one."""

    commit_id: str
    pr_num: int | None = None


@dataclass(frozen=True)
class PullRequest:
    """A pull request: the ref `refs/pr/{num}` and what it was opened with."""

    num: int
    title: str
    description: str
    author: str
    base: str
    created_at: str

    @property
    def ref(self) -> str:
        """The git ref its commits go to."""
        return f"refs/pr/{self.num}"


def _ref_candidates(revision: str) -> list[tuple[str, str]]:
    """The `(kind, name)` refs a revision may name, most specific first.

    `refs/pr/N` names pull request N, `refs/heads/x` and `refs/tags/x` a branch or a tag; a bare
    name is a branch if there is one, else a tag (as git resolves it).
    """
    match = _PR_REF_RE.fullmatch(revision)
    if match:
        return [("pr", match.group(1))]
    if revision.startswith("refs/heads/"):
        return [("branch", revision.removeprefix("refs/heads/"))]
    if revision.startswith("refs/tags/"):
        return [("tag", revision.removeprefix("refs/tags/"))]
    return [("branch", revision), ("tag", revision)]


@dataclass
class CommitOperation:
    """One operation of a commit, already checked by the router."""

    kind: str  # "file" | "lfsFile" | "deletedFile" | "deletedFolder"
    path: str
    sha256: str | None = None
    size: int | None = None
    git_oid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RepoBackend:
    """All repo state: create, inspect, list, branch, tag and commit."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        tokens: Sequence[TokenSpec],
        organizations: Sequence[OrgSpec] = (),
        xet: XetStore | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.xet = xet
        self._tokens = {spec.token: spec for spec in tokens}
        self._orgs = {org.name: org for org in organizations}

    def private_by_default(self, namespace: str) -> bool:
        """Whether new repos in `namespace` are private unless asked (Enterprise orgs)."""
        org = self._orgs.get(namespace)
        return org is not None and org.private_by_default

    # -- identity --------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> TokenSpec | None:
        """The token's owner; None when anonymous. An unknown token is a 401, as on the Hub."""
        if token is None:
            return None
        spec = self._tokens.get(token)
        if spec is None:
            raise Unauthorized("Invalid credentials in Authorization header")
        return spec

    def whoami(self, caller: TokenSpec | None) -> dict[str, Any]:
        """Body of `GET /api/whoami-v2`."""
        if caller is None:
            raise Unauthorized("Invalid credentials in Authorization header")
        return {
            "type": "user",
            "id": hashlib.sha1(caller.user.encode(), usedforsecurity=False).hexdigest()[:24],
            "name": caller.user,
            "fullname": caller.fullname or caller.user,
            "email": f"{caller.user}@localhost",
            "emailVerified": True,
            "isPro": False,
            "orgs": [
                {
                    "type": "org",
                    "name": org,
                    "fullname": getattr(self._orgs.get(org), "fullname", None) or org,
                    "roleInOrg": "admin",
                }
                for org in caller.orgs
                if org != "*"
            ],
            "auth": {
                "type": "access_token",
                "accessToken": {"displayName": f"{caller.user}-token", "role": caller.role.value},
            },
        }

    # -- repos -----------------------------------------------------------------------------

    def create_repo(
        self,
        realm: str,
        repo_type: RepoType,
        namespace: str,
        name: str,
        *,
        private: bool,
        caller: TokenSpec | None,
        attributes: dict[str, Any] | None = None,
        initial_files: Iterable[tuple[str, bytes]] = (),
    ) -> Repo:
        """Create a repo with its `main` branch and initial commit; 409 if it exists."""
        self._require_write(caller, namespace)
        self._check_repo_name(namespace, name)
        with self.blobs.lease() as lease, self.db.transaction() as conn:
            blobs = [(p, self.blobs.put_bytes(data, lease=lease)) for p, data in initial_files]
            self._refuse_existing(conn, realm, repo_type, namespace, name)
            cur = conn.execute(
                "INSERT INTO repos (realm, type, namespace, name, private, created_at, attributes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    realm,
                    repo_type.value,
                    namespace,
                    name,
                    int(private),
                    _now(),
                    json.dumps(attributes or {}),
                ),
            )
            repo_id = int(cur.lastrowid or 0)
            files = [
                FileEntry(path, info.size, git_blob_oid(data), info.sha256, False)
                for (path, data), (_, info) in zip(initial_files, blobs, strict=True)
            ]
            commit_id = self._insert_commit(
                conn, repo_id, None, "initial commit", "", caller, files
            )
            conn.execute(
                "INSERT INTO refs (repo_id, kind, name, commit_id) VALUES (?, 'branch', 'main', ?)",
                (repo_id, commit_id),
            )
        return self.get_repo(realm, repo_type, namespace, name, caller)

    def check_creatable(
        self,
        realm: str,
        repo_type: RepoType,
        namespace: str,
        name: str,
        caller: TokenSpec | None,
    ) -> None:
        """Refuse as the Hub does before looking at the rest of a create request: the caller
        may not write the namespace (401/403), or the repo exists (409)."""
        self._require_write(caller, namespace)
        with self.db.read() as conn:
            self._refuse_existing(conn, realm, repo_type, namespace, name)

    @staticmethod
    def _refuse_existing(
        conn: Any, realm: str, repo_type: RepoType, namespace: str, name: str
    ) -> None:
        existing = conn.execute(
            "SELECT 1 FROM repos WHERE realm=? AND type=? AND namespace=? AND name=?",
            (realm, repo_type.value, namespace, name),
        ).fetchone()
        if existing:
            raise Conflict(f"You already created this {repo_type.value} repo")

    @staticmethod
    def _check_repo_name(namespace: str, name: str) -> None:
        # The namespace is a user or org the caller may write to (checked by the caller); the
        # name follows the Hub's rule, which huggingface_hub's `validate_repo_id` mirrors.
        if not _NAME_RE.fullmatch(name) or "--" in name or ".." in name or name.endswith(".git"):
            raise BadRequest(
                f"invalid repo id {namespace}/{name!s}: names use letters, digits, '-', '_' "
                "and '.', start and end with a letter or digit, at most 96 characters, "
                "and contain no '--' or '..' and do not end with '.git'"
            )

    @classmethod
    def check_name(cls, namespace: str, name: str) -> None:
        """Refuse a name the Hub refuses (repos and buckets follow the same rule)."""
        cls._check_repo_name(namespace, name)

    @classmethod
    def require_write(cls, caller: TokenSpec | None, namespace: str) -> None:
        """401 when anonymous, 403 when the caller may not write to `namespace`."""
        cls._require_write(caller, namespace)

    def knows_namespace(self, namespace: str) -> bool:
        """Whether `namespace` is a user or organization this Hub knows of."""
        return namespace in self._orgs or any(
            namespace in (spec.user, *spec.orgs) for spec in self._tokens.values()
        )

    def find_repo(self, realm: str, repo_type: RepoType, namespace: str, name: str) -> Repo | None:
        """The repo by name, whoever asks (the server's own look-ups, e.g. mounting volumes)."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT * FROM repos WHERE realm=? AND type=? AND namespace=? AND name=?",
                (realm, repo_type.value, namespace, name),
            ).fetchone()
        return None if row is None else self._repo_from_row(row)

    def default_initial_files(self, repo_type: RepoType) -> list[tuple[str, bytes]]:
        """What the Hub's first commit holds: a `.gitattributes` with the usual LFS patterns."""
        return [(".gitattributes", _GITATTRIBUTES)]

    def get_repo(
        self,
        realm: str,
        repo_type: RepoType,
        namespace: str,
        name: str,
        caller: TokenSpec | None,
        *,
        write: bool = False,
    ) -> Repo:
        """The repo if the caller may see it (and write it, with `write`); else RepoNotFound.

        Private repos the caller may not read answer 404, never 403, so their existence does
        not leak. A caller who may read but not write gets 403.
        """
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT * FROM repos WHERE realm=? AND type=? AND namespace=? AND name=?",
                (realm, repo_type.value, namespace, name),
            ).fetchone()
        if row is None:
            raise RepoNotFound("Repository not found")
        repo = self._repo_from_row(row)
        if repo.private and (caller is None or not caller.may_see(repo.namespace)):
            raise RepoNotFound("Repository not found")
        if write:
            self._require_write(caller, repo.namespace)
        return repo

    def find_moved_repo(
        self, realm: str, repo_type: RepoType, namespace: str, name: str, caller: TokenSpec | None
    ) -> Repo | None:
        """The repo that used to be called `namespace/name`, if the caller may see it."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT r.* FROM repo_redirects m JOIN repos r ON r.id = m.repo_id"
                " WHERE m.realm=? AND m.type=? AND m.namespace=? AND m.name=?",
                (realm, repo_type.value, namespace, name),
            ).fetchone()
        if row is None:
            return None
        repo = self._repo_from_row(row)
        if repo.private and (caller is None or not caller.may_see(repo.namespace)):
            return None
        return repo

    def move_repo(self, repo: Repo, namespace: str, name: str, caller: TokenSpec | None) -> Repo:
        """Rename or transfer a repo; its old name keeps pointing at it until reused."""
        self._require_write(caller, namespace)
        self._check_repo_name(namespace, name)
        with self.db.transaction() as conn:
            taken = conn.execute(
                "SELECT 1 FROM repos WHERE realm=? AND type=? AND namespace=? AND name=?",
                (repo.realm, repo.type.value, namespace, name),
            ).fetchone()
            if taken:
                raise Conflict(
                    f"A {repo.type.value} repository called {namespace}/{name} already exists"
                )
            conn.execute(
                "UPDATE repos SET namespace=?, name=? WHERE id=?", (namespace, name, repo.id)
            )
            # The new name is a real repo now: an older redirect from it would shadow nothing,
            # but it must not outlive the repo it names.
            conn.execute(
                "DELETE FROM repo_redirects WHERE realm=? AND type=? AND namespace=? AND name=?",
                (repo.realm, repo.type.value, namespace, name),
            )
            conn.execute(
                "INSERT OR REPLACE INTO repo_redirects (realm, type, namespace, name, repo_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (repo.realm, repo.type.value, repo.namespace, repo.name, repo.id),
            )
        return self.refresh(repo)

    def get_repo_by_row_id(self, row_id: int) -> Repo:
        """The repo an upload ticket names (tickets were checked by signature, not by caller)."""
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM repos WHERE id=?", (row_id,)).fetchone()
        if row is None:
            raise RepoNotFound("the repo of this upload no longer exists")
        return self._repo_from_row(row)

    def refresh(self, repo: Repo) -> Repo:
        """The repo as stored now (attributes change under Space operations)."""
        return self.get_repo_by_row_id(repo.id)

    @staticmethod
    def _repo_from_row(row: Any) -> Repo:
        return Repo(
            id=row["id"],
            realm=row["realm"],
            type=RepoType(row["type"]),
            namespace=row["namespace"],
            name=row["name"],
            private=bool(row["private"]),
            created_at=row["created_at"],
            attributes=json.loads(row["attributes"]),
        )

    def delete_repo(self, repo: Repo) -> None:
        """Delete the repo and everything it owns; blobs no one references any more go too."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM repos WHERE id=?", (repo.id,))
        self.collect_garbage()

    def collect_garbage(self) -> int:
        """Remove blobs that no commit, no LFS object and no lease references, then the Xet
        files and xorbs nothing uses any more (`XetStore.collect_garbage`); returns how many
        blobs were removed.

        The database lock, then the pin lock, are held throughout (the order every holder of
        both takes them): no commit, upload or lease sees a state half collected.
        """
        with self.db.lock, self.blobs.pin_lock:
            with self.db.transaction() as conn:
                referenced = {r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM files")}
                referenced |= {r[0] for r in conn.execute("SELECT DISTINCT oid FROM lfs_objects")}
                referenced |= set(self.blobs.pins)
                xorbs = self.xet.collect_garbage(conn, referenced) if self.xet else []
            if self.xet:
                self.xet.remove_xorb_files(xorbs)
            return self.blobs.remove_unreferenced(referenced)

    def update_repo_settings(
        self, repo: Repo, *, private: bool | None = None, gated: str | bool | None = None
    ) -> Repo:
        """Change visibility and gating (`"auto"`, `"manual"` or False); None leaves it be."""
        if gated is not None and gated is not False and gated not in _GATED_MODES:
            raise BadRequest(f"Invalid gated value {gated!r}: use 'auto', 'manual' or false")
        if private is not None:
            with self.db.transaction() as conn:
                conn.execute("UPDATE repos SET private=? WHERE id=?", (int(private), repo.id))
        if gated is not None:
            self.update_attributes(repo, gated=gated)
        return self.refresh(repo)

    @staticmethod
    def gated(repo: Repo) -> str | bool:
        """The repo's gating mode: `"auto"`, `"manual"`, or False when anyone may download."""
        mode = repo.attributes.get("gated", False)
        return mode if mode in _GATED_MODES else False

    def may_read_files(self, repo: Repo, caller: TokenSpec | None) -> bool:
        """Whether the caller may download this repo's files (visibility and gating)."""
        member = caller is not None and caller.may_see(repo.namespace)
        return member or not (repo.private or self.gated(repo))

    def check_file_access(self, repo: Repo, caller: TokenSpec | None) -> None:
        """GatedRepo unless the caller may read the files of this repo.

        Gating guards file contents, not the repo's existence or listing. The local Hub keeps
        no access requests: the repo's own namespace (its user, or members of its org) is the
        authorized list.
        """
        if not self.gated(repo) or (caller is not None and caller.may_see(repo.namespace)):
            return
        kind = repo.type.value
        if caller is None:
            raise GatedRepo(
                f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and "
                "be authenticated to access it. Please log in.",
                authenticated=False,
            )
        raise GatedRepo(
            f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized "
            f"list. Visit the repo page to ask for access."
        )

    def update_attributes(self, repo: Repo, **changes: Any) -> Repo:
        """Merge changes into the repo's free-form attributes (Space settings and the like)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT attributes FROM repos WHERE id=?", (repo.id,)).fetchone()
            attributes = json.loads(row["attributes"]) if row else {}
            attributes.update(changes)
            conn.execute(
                "UPDATE repos SET attributes=? WHERE id=?", (json.dumps(attributes), repo.id)
            )
        return Repo(**{**repo.__dict__, "attributes": attributes})

    def list_all_repos(self, repo_type: RepoType) -> list[Repo]:
        """Every repo of a type in every realm (the server's own bookkeeping, no caller)."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM repos WHERE type=? ORDER BY id", (repo_type.value,)
            ).fetchall()
        return [self._repo_from_row(row) for row in rows]

    def list_repos(self, realm: str, repo_type: RepoType, caller: TokenSpec | None) -> list[Repo]:
        """Repos of a type the caller may see, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT namespace, name FROM repos WHERE realm=? AND type=? ORDER BY id",
                (realm, repo_type.value),
            ).fetchall()
        repos = []
        for row in rows:
            try:
                repos.append(self.get_repo(realm, repo_type, row[0], row[1], caller))
            except RepoNotFound:
                continue
        return repos

    def list_user_repos(self, realm: str, namespace: str, caller: TokenSpec | None) -> list[Repo]:
        """Every repo of a namespace, of all types: its members' storage overview."""
        if caller is None:
            raise Unauthorized("You must be authenticated to list a namespace's repos")
        if not caller.may_see(namespace):
            raise Forbidden(f"You are not a member of {namespace}")
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM repos WHERE realm=? AND namespace=? ORDER BY id", (realm, namespace)
            ).fetchall()
        return [self._repo_from_row(row) for row in rows]

    # -- revisions -------------------------------------------------------------------------

    def resolve_revision(self, repo: Repo, revision: str) -> str:
        """Branch, tag, `refs/pr/N` or full commit id -> commit id; RevisionNotFound otherwise."""
        with self.db.read() as conn:
            ref = self._find_ref(conn, repo, revision)
            if ref is not None:
                return ref[2]
            if _SHA_RE.fullmatch(revision):
                row = conn.execute(
                    "SELECT id FROM commits WHERE repo_id=? AND id=?", (repo.id, revision)
                ).fetchone()
                if row:
                    return str(row[0])
            elif _SHORT_SHA_RE.fullmatch(revision):
                rows = conn.execute(
                    "SELECT id FROM commits WHERE repo_id=? AND substr(id, 1, ?) = ? LIMIT 2",
                    (repo.id, len(revision), revision),
                ).fetchall()
                if len(rows) == 1:
                    return str(rows[0][0])
        raise RevisionNotFound(f"Invalid rev id: {revision}")

    @staticmethod
    def _find_ref(conn: Any, repo: Repo, revision: str) -> tuple[str, str, str] | None:
        """`(kind, name, commit id)` of the ref `revision` names, if any."""
        for kind, name in _ref_candidates(revision):
            row = conn.execute(
                "SELECT commit_id FROM refs WHERE repo_id=? AND kind=? AND name=?",
                (repo.id, kind, name),
            ).fetchone()
            if row:
                return kind, name, str(row[0])
        return None

    def split_revision(self, repo: Repo, rest: str) -> tuple[str, str]:
        """Split `rev/with/slashes/then/a/path` at the longest prefix that names a revision."""
        parts = rest.split("/")
        for cut in range(len(parts), 0, -1):
            candidate = "/".join(parts[:cut])
            try:
                self.resolve_revision(repo, candidate)
            except RevisionNotFound:
                continue
            return candidate, "/".join(parts[cut:])
        raise RevisionNotFound(f"Invalid rev id: {parts[0]}")

    def list_repo_refs(self, repo: Repo, *, include_pull_requests: bool = False) -> GitRefsBody:
        """`GET /api/{type}s/{id}/refs` (`pullRequests` only when asked, as the Hub)."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT kind, name, commit_id FROM refs WHERE repo_id=? ORDER BY name", (repo.id,)
            ).fetchall()
        prefixes = {"branch": "heads", "tag": "tags", "pr": "pr"}
        groups: dict[str, list[GitRef]] = {"branch": [], "tag": [], "pr": []}
        for kind, name, commit_id in sorted(
            rows, key=lambda r: (r[0], int(r[1]) if r[0] == "pr" else 0, r[1])
        ):
            ref = GitRef(name=name, ref=f"refs/{prefixes[kind]}/{name}", target_commit=commit_id)
            groups[kind].append(ref)
        return GitRefsBody(
            branches=groups["branch"],
            converts=[],
            tags=groups["tag"],
            pull_requests=groups["pr"] if include_pull_requests else None,
        )

    def create_ref(
        self, repo: Repo, kind: str, name: str, revision: str, *, exist_ok: bool = False
    ) -> None:
        """Create a branch or tag pointing at `revision` (checked first, as on the Hub)."""
        commit_id = self.resolve_revision(repo, revision)
        validate_ref_name(name, kind)
        with self.db.transaction() as conn:
            existing = conn.execute(
                "SELECT 1 FROM refs WHERE repo_id=? AND kind=? AND name=?", (repo.id, kind, name)
            ).fetchone()
            if existing:
                if exist_ok:
                    return
                raise Conflict(f"Reference {_full_ref(kind, name)} already exists")
            conn.execute(
                "INSERT INTO refs (repo_id, kind, name, commit_id) VALUES (?, ?, ?, ?)",
                (repo.id, kind, name, commit_id),
            )

    def delete_ref(self, repo: Repo, kind: str, name: str) -> None:
        """Delete a branch (never `main`) or a tag."""
        if kind == "branch" and name == "main":
            raise Forbidden(f"Cannot delete {_full_ref(kind, name)}: it is the default branch")
        with self.db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM refs WHERE repo_id=? AND kind=? AND name=?", (repo.id, kind, name)
            )
            if cur.rowcount == 0:
                raise RevisionNotFound(f"Invalid rev id: {name}")

    def get_commit(self, repo: Repo, commit_id: str) -> CommitRecord:
        """One commit of the repo."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT id, parent_id, title, message, author, created_at FROM commits"
                " WHERE repo_id=? AND id=?",
                (repo.id, commit_id),
            ).fetchone()
        if row is None:
            raise RevisionNotFound(f"Invalid rev id: {commit_id}")
        return CommitRecord(*row)

    def list_repo_commits(self, repo: Repo, revision: str) -> list[CommitRecord]:
        """Commits reachable from `revision`, newest first."""
        return self._history(repo, self.resolve_revision(repo, revision))

    # -- trees -----------------------------------------------------------------------------

    def list_files(self, repo: Repo, commit_id: str, prefix: str = "") -> list[FileEntry]:
        """Files at the commit, sorted by path, optionally only those under `prefix/`."""
        with self.db.read() as conn:
            if prefix:
                rows = conn.execute(
                    "SELECT path, size, git_oid, sha256, lfs FROM files WHERE repo_id=? AND "
                    "commit_id=? AND substr(path, 1, ?) = ? ORDER BY path",
                    (repo.id, commit_id, len(prefix) + 1, prefix + "/"),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT path, size, git_oid, sha256, lfs FROM files WHERE repo_id=? AND "
                    "commit_id=? ORDER BY path",
                    (repo.id, commit_id),
                ).fetchall()
        return [FileEntry(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def get_file(self, repo: Repo, commit_id: str, path: str) -> FileEntry:
        """One file at the commit; EntryNotFound (carrying the commit) if absent."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT path, size, git_oid, sha256, lfs FROM files WHERE repo_id=? AND "
                "commit_id=? AND path=?",
                (repo.id, commit_id, path),
            ).fetchone()
        if row is None:
            raise EntryNotFound(f"Entry not found: {path}", commit=commit_id)
        return FileEntry(row[0], row[1], row[2], row[3], bool(row[4]))

    def read_small_file(self, repo: Repo, commit_id: str, path: str) -> str | None:
        """The text of a small file at the commit (`.gitattributes`, `.gitignore`), if present."""
        try:
            entry = self.get_file(repo, commit_id, path)
        except EntryNotFound:
            return None
        if entry.size > _MAX_CONFIG_FILE:
            return None
        return self.blobs.read_bytes(entry.sha256).decode("utf-8", "replace")

    def last_commits(
        self, repo: Repo, commit_id: str, paths: Iterable[str]
    ) -> dict[str, CommitRecord]:
        """For each path (file or folder) at `commit_id`, the newest commit that changed it.

        A commit changed a path when the path's content (a folder's: every file under it)
        differs from that in the commit's parent. Paths absent at `commit_id` are left out.
        """

        def state(files: dict[str, str], path: str) -> frozenset[tuple[str, str]]:
            if path in files:
                return frozenset({(path, files[path])})
            prefix = path + "/"
            return frozenset((p, oid) for p, oid in files.items() if p.startswith(prefix))

        found: dict[str, CommitRecord] = {}
        record = self.get_commit(repo, commit_id)
        files = self._file_oids(repo, record.id)
        pending = {path: state(files, path) for path in paths}
        pending = {path: current for path, current in pending.items() if current}
        while pending:
            parent = self.get_commit(repo, record.parent_id) if record.parent_id else None
            parent_files = self._file_oids(repo, parent.id) if parent else {}
            for path, current in list(pending.items()):
                before = state(parent_files, path)
                if before != current:
                    found[path] = record
                    del pending[path]
            if parent is None:
                break
            record = parent
        return found

    def _file_oids(self, repo: Repo, commit_id: str) -> dict[str, str]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT path, git_oid FROM files WHERE repo_id=? AND commit_id=?",
                (repo.id, commit_id),
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    # -- LFS objects -----------------------------------------------------------------------

    def has_lfs_object(self, repo: Repo, oid: str) -> bool:
        """Whether the repo already owns this LFS object (so the client need not upload it)."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT 1 FROM lfs_objects WHERE repo_id=? AND oid=?", (repo.id, oid)
            ).fetchone()
        return row is not None and self.blobs.exists(oid)

    def lfs_object_size(self, repo: Repo, oid: str) -> int:
        """Size of an LFS object the repo owns (copies name objects without a size)."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT size FROM lfs_objects WHERE repo_id=? AND oid=?", (repo.id, oid)
            ).fetchone()
        if row is None:
            raise BadRequest(f"LFS object {oid} was never uploaded to this repo")
        return int(row[0])

    def claim_lfs_object(self, repo: Repo, oid: str, size: int, caller: TokenSpec | None) -> bool:
        """Whether an upload of this object to the repo can be skipped (the batch API's answer).

        It can when the repo owns the object already, or when a repo of the same realm that
        the caller may read holds it in a commit: the object is then recorded as the repo's
        too, in the same transaction that found it referenced (so a deletion racing with this
        cannot collect it). An object the caller could not read must be uploaded, bytes and all,
        whether or not it is stored: its oid alone grants nothing, and the answer is the same
        either way. A `size` other than a readable object's is refused (422).
        """
        with self.db.transaction() as conn:
            owned = conn.execute(
                "SELECT size FROM lfs_objects WHERE repo_id=? AND oid=?", (repo.id, oid)
            ).fetchone()
            holders = conn.execute(
                "SELECT DISTINCT r.* FROM files f JOIN repos r ON r.id = f.repo_id"
                " WHERE f.sha256=? AND r.realm=?",
                (oid, repo.realm),
            ).fetchall()
            readable = owned is not None or any(
                self.may_read_files(self._repo_from_row(row), caller) for row in holders
            )
            if not readable or not self.blobs.exists(oid):
                return False
            stored = self.blobs.size(oid)
            if stored != size:
                raise UnprocessableEntity(f"LFS object {oid} has {stored} bytes, not {size}")
            conn.execute(
                "INSERT OR IGNORE INTO lfs_objects (repo_id, oid, size) VALUES (?, ?, ?)",
                (repo.id, oid, stored),
            )
            return True

    def add_lfs_object(self, repo: Repo, oid: str, size: int) -> None:
        """Record that the repo owns an LFS object just uploaded (and checked) into it."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO lfs_objects (repo_id, oid, size) VALUES (?, ?, ?)",
                (repo.id, oid, size),
            )

    def list_lfs_files(self, repo: Repo) -> list[dict[str, Any]]:
        """The repo's committed LFS objects, each with a path, ref and time it was pushed with.

        An object is listed under the first commit that holds it, and the first ref (`main`
        first) whose history contains that commit.
        """
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT o.oid, o.size, f.path, c.id, c.created_at FROM lfs_objects o "
                "JOIN files f ON f.repo_id=o.repo_id AND f.sha256=o.oid AND f.lfs=1 "
                "JOIN commits c ON c.repo_id=f.repo_id AND c.id=f.commit_id "
                "WHERE o.repo_id=? ORDER BY c.seq, f.path",
                (repo.id,),
            ).fetchall()
            refs = conn.execute(
                "SELECT kind, name, commit_id FROM refs WHERE repo_id=? "
                "ORDER BY kind != 'branch', name != 'main', name",
                (repo.id,),
            ).fetchall()
        reachable = [
            (self._ref_label(kind, name), {c.id for c in self._history(repo, commit_id)})
            for kind, name, commit_id in refs
        ]
        listed: dict[str, dict[str, Any]] = {}
        for oid, size, path, commit_id, created_at in rows:
            if oid in listed:
                continue
            ref = next((label for label, ids in reachable if commit_id in ids), None)
            listed[oid] = {
                "fileOid": oid,
                "oid": oid,
                "filename": path,
                "size": size,
                "pushedAt": created_at,
                "ref": ref,
            }
        return list(listed.values())

    @staticmethod
    def _ref_label(kind: str, name: str) -> str:
        return {"branch": name, "tag": f"refs/tags/{name}", "pr": f"refs/pr/{name}"}[kind]

    def _history(self, repo: Repo, commit_id: str) -> list[CommitRecord]:
        history = []
        commit: str | None = commit_id
        while commit:
            record = self.get_commit(repo, commit)
            history.append(record)
            commit = record.parent_id
        return history

    def permanently_delete_lfs_files(
        self, repo: Repo, oids: Sequence[str], *, rewrite_history: bool
    ) -> None:
        """Drop LFS objects from the repo; with `rewrite_history`, also every file pointing at one.

        The emulator rewrites the file tables of the commits in place (commit ids are kept), so
        branches, tags and pull requests all lose the pointers at once.
        """
        with self.db.transaction() as conn:
            for oid in oids:
                conn.execute("DELETE FROM lfs_objects WHERE repo_id=? AND oid=?", (repo.id, oid))
                # A Xet file with this sha256 that the repo uploaded is no longer its own.
                conn.execute(
                    "DELETE FROM xet_file_repos WHERE repo_id=? AND hash IN "
                    "(SELECT hash FROM xet_files WHERE sha256=?)",
                    (repo.id, oid),
                )
                if rewrite_history:
                    conn.execute(
                        "DELETE FROM files WHERE repo_id=? AND sha256=? AND lfs=1", (repo.id, oid)
                    )
        self.collect_garbage()

    # -- commits ---------------------------------------------------------------------------

    def create_commit(
        self,
        repo: Repo,
        revision: str,
        operations: Sequence[CommitOperation],
        *,
        title: str,
        message: str,
        parent_commit: str | None,
        caller: TokenSpec | None,
        create_pr: bool = False,
    ) -> CommitResult:
        """Apply the operations on top of a branch or pull request ref, atomically.

        `revision` is a branch or `refs/pr/N`. With `create_pr`, it must be a branch: the commit
        opens the repo's next pull request `refs/pr/N`, based on `parent_commit` if given, else on
        the branch head. Without it, a `parent_commit` that is not the head any more is refused
        (412), so two writers racing on one ref never lose each other's changes silently.
        """
        with self.db.transaction() as conn:
            ref = self._find_ref(conn, repo, revision)
            if ref is None:
                raise RevisionNotFound(f"Invalid rev id: {revision}")
            kind, name, head = ref
            pr_num = None
            if create_pr:
                if kind != "branch":
                    raise RevisionNotFound(
                        f"Invalid rev id: {revision}: a pull request is opened against a branch"
                    )
                if parent_commit is not None:
                    head = self._commit_by_prefix(conn, repo, parent_commit)
                pr_num = self._open_pr(conn, repo, caller, name, head, title, message)
                kind, name = "pr", str(pr_num)
            elif kind == "tag":
                raise BadRequest(
                    f"Cannot commit to tag {name!r}: commit to a branch or a pull request ref"
                )
            elif parent_commit is not None and not head.startswith(parent_commit):
                raise PreconditionFailed(
                    "The branch was updated since you opened this page. Please refresh and try "
                    f"again. (parent {parent_commit} is not the head {head} of {revision})"
                )
            files = {
                r[0]: FileEntry(r[0], r[1], r[2], r[3], bool(r[4]))
                for r in conn.execute(
                    "SELECT path, size, git_oid, sha256, lfs FROM files WHERE repo_id=? AND "
                    "commit_id=?",
                    (repo.id, head),
                )
            }
            folders = _FolderCounts(files)
            for op in operations:
                self._apply(conn, repo, files, folders, op)
            commit_id = self._insert_commit(
                conn, repo.id, head, title, message, caller, list(files.values())
            )
            conn.execute(
                "UPDATE refs SET commit_id=? WHERE repo_id=? AND kind=? AND name=?",
                (commit_id, repo.id, kind, name),
            )
        return CommitResult(commit_id, pr_num)

    def super_squash_history(
        self, repo: Repo, revision: str, *, message: str, caller: TokenSpec | None
    ) -> str:
        """Replace the history of a branch or pull request ref by one commit of its current tree.

        Other refs keep their own history: commits stay reachable from them. Tags cannot be
        squashed (400), as on the Hub.
        """
        with self.db.transaction() as conn:
            ref = self._find_ref(conn, repo, revision)
            if ref is None:
                raise RevisionNotFound(f"Invalid rev id: {revision}")
            kind, name, head = ref
            if kind == "tag":
                raise BadRequest(f"Cannot squash history on tag {name!r}: squash a branch")
            files = [
                FileEntry(r[0], r[1], r[2], r[3], bool(r[4]))
                for r in conn.execute(
                    "SELECT path, size, git_oid, sha256, lfs FROM files WHERE repo_id=? AND "
                    "commit_id=?",
                    (repo.id, head),
                )
            ]
            title, _, body = message.partition("\n")
            commit_id = self._insert_commit(
                conn, repo.id, None, title.strip() or message, body.strip(), caller, files
            )
            conn.execute(
                "UPDATE refs SET commit_id=? WHERE repo_id=? AND kind=? AND name=?",
                (commit_id, repo.id, kind, name),
            )
        return commit_id

    @staticmethod
    def _commit_by_prefix(conn: Any, repo: Repo, prefix: str) -> str:
        """The repo's commit whose id starts with `prefix` (the client allows short ids)."""
        rows = conn.execute(
            "SELECT id FROM commits WHERE repo_id=? AND substr(id, 1, ?) = ? LIMIT 2",
            (repo.id, len(prefix), prefix.lower()),
        ).fetchall()
        if len(rows) != 1:
            raise RevisionNotFound(f"Invalid rev id: {prefix}")
        return str(rows[0][0])

    def create_pull_request(
        self, repo: Repo, caller: TokenSpec | None, *, title: str, description: str
    ) -> PullRequest:
        """`HfApi.create_pull_request`: open `refs/pr/N` on the default branch's head, empty.

        huggingface_hub's Xet upload pipeline opens a pull request this way and then commits to
        its ref. Plain discussions are not served.
        """
        self.require_contributor(caller, repo)
        assert caller is not None  # checked above
        branch = "main"  # repos are created with `main`, their default branch
        with self.db.transaction() as conn:
            ref = self._find_ref(conn, repo, branch)
            if ref is None:
                raise RevisionNotFound(f"Invalid rev id: {branch}")
            num = self._open_pr(conn, repo, caller, branch, ref[2], title, description)
        found = self.pull_request(repo, num)
        assert found is not None
        return found

    def pull_request(self, repo: Repo, num: int) -> PullRequest | None:
        """Pull request `num` of the repo, or None."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT num, title, description, author, base, created_at FROM pull_requests "
                "WHERE repo_id=? AND num=?",
                (repo.id, num),
            ).fetchone()
        return None if row is None else PullRequest(*row)

    def may_push_to(self, repo: Repo, caller: TokenSpec | None, revision: str) -> bool:
        """Whether `revision` is a pull request ref that `caller` opened (and so may push to)."""
        match = _PR_REF_RE.match(revision)
        if caller is None or match is None:
            return False
        opened = self.pull_request(repo, int(match.group(1)))
        return opened is not None and opened.author == caller.user

    def _open_pr(
        self,
        conn: Any,
        repo: Repo,
        caller: TokenSpec | None,
        branch: str,
        head: str,
        title: str,
        description: str,
    ) -> int:
        num = self._next_pr_number(conn, repo)
        conn.execute(
            "INSERT INTO refs (repo_id, kind, name, commit_id) VALUES (?, 'pr', ?, ?)",
            (repo.id, str(num), head),
        )
        conn.execute(
            "INSERT INTO pull_requests (repo_id, num, title, description, author, base, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                repo.id,
                num,
                title,
                description,
                caller.user if caller else "",
                f"refs/heads/{branch}",
                _now(),
            ),
        )
        return num

    @staticmethod
    def _next_pr_number(conn: Any, repo: Repo) -> int:
        row = conn.execute(
            "SELECT COALESCE(MAX(CAST(name AS INTEGER)), 0) + 1 FROM refs "
            "WHERE repo_id=? AND kind='pr'",
            (repo.id,),
        ).fetchone()
        return int(row[0])

    def _apply(
        self,
        conn: Any,
        repo: Repo,
        files: dict[str, FileEntry],
        folders: _FolderCounts,
        op: CommitOperation,
    ) -> None:
        if op.kind in ("file", "lfsFile") and (op.sha256 is None or op.size is None):
            raise BadRequest(f"{op.kind} {op.path!r} has no content id or size")
        if op.kind == "file":
            self._check_no_clash(files, folders, op.path)
            if op.path not in files:
                folders.add(op.path)
            files[op.path] = FileEntry(
                op.path, op.size or 0, op.git_oid or "", op.sha256 or "", False
            )
        elif op.kind == "lfsFile":
            op_size, op_oid = op.size or 0, op.sha256 or ""
            owned = conn.execute(
                "SELECT size FROM lfs_objects WHERE repo_id=? AND oid=?", (repo.id, op_oid)
            ).fetchone()
            if owned is None or not self.blobs.exists(op_oid):
                raise BadRequest(
                    f"LFS object {op_oid} for {op.path!r} was never uploaded to this repo"
                )
            if int(owned[0]) != op_size:
                raise BadRequest(f"LFS object {op_oid} has size {owned[0]}, not {op_size}")
            self._check_no_clash(files, folders, op.path)
            if op.path not in files:
                folders.add(op.path)
            pointer = lfs_pointer(op_oid, op_size)
            files[op.path] = FileEntry(op.path, op_size, git_blob_oid(pointer), op_oid, True)
        elif op.kind in ("deletedFile", "deletedFolder"):
            # As on the Hub, `deletedFile` naming a folder deletes the folder (the client sends
            # it for `CommitOperationDelete("folder")` without a trailing slash).
            path = op.path.rstrip("/")
            if op.kind == "deletedFile" and files.pop(path, None) is not None:
                folders.remove(path)
                return
            doomed = [p for p in files if p.startswith(path + "/")] if path in folders else []
            if not doomed:
                raise EntryNotFound(
                    f"Cannot delete {op.path}: A file with this name doesn't exist"
                    if op.kind == "deletedFile"
                    else f"Cannot delete {op.path}: A folder with this name doesn't exist"
                )
            for doomed_path in doomed:
                del files[doomed_path]
                folders.remove(doomed_path)
        else:  # pragma: no cover - routers only build the four kinds
            raise BadRequest(f"unknown operation {op.kind!r}")

    @staticmethod
    def _check_no_clash(files: dict[str, FileEntry], folders: _FolderCounts, path: str) -> None:
        # A file cannot also be a folder: "a" and "a/b" cannot both exist.
        for folder in _ancestors(path):
            if folder in files:
                raise BadRequest(f"{path!r} would be inside {folder!r}, a file")
        if path in folders:
            raise BadRequest(f"{path!r} is a folder in this repo")

    def _insert_commit(
        self,
        conn: Any,
        repo_id: int,
        parent: str | None,
        title: str,
        message: str,
        caller: TokenSpec | None,
        files: Sequence[FileEntry],
    ) -> str:
        seq_row = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM commits WHERE repo_id=?", (repo_id,)
        ).fetchone()
        tree = hashlib.sha1(usedforsecurity=False)
        for entry in sorted(files, key=lambda f: f.path):
            tree.update(f"{entry.path}\0{entry.git_oid}\n".encode())
        seed = f"{parent}:{tree.hexdigest()}:{title}:{time.time_ns()}:{secrets.token_hex(8)}"
        commit_id = hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()
        author = caller.user if caller else "anonymous"
        conn.execute(
            "INSERT INTO commits (repo_id, id, parent_id, title, message, author, created_at, seq)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (repo_id, commit_id, parent, title, message, author, _now(), seq_row[0]),
        )
        conn.executemany(
            "INSERT INTO files (repo_id, commit_id, path, size, git_oid, sha256, lfs)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(repo_id, commit_id, f.path, f.size, f.git_oid, f.sha256, int(f.lfs)) for f in files],
        )
        return commit_id

    # -- rules -----------------------------------------------------------------------------

    @staticmethod
    def require_contributor(caller: TokenSpec | None, repo: Repo) -> None:
        """Opening a pull request needs a write token, not write access to the repo itself.

        As on the Hub, anyone signed in with a write token may propose changes to a repo they
        can see (`create_pr=True` on a foreign repo); the repo's owners decide what to merge.
        """
        if caller is None:
            raise Unauthorized("You must be authenticated to open a pull request")
        if caller.role is not TokenRole.WRITE:
            raise Forbidden("Opening a pull request needs a token with write access")

    @staticmethod
    def _require_write(caller: TokenSpec | None, namespace: str) -> None:
        if caller is None:
            raise Unauthorized("You must be authenticated to write; pass a token with write access")
        if not caller.can_write(namespace):
            why = "is read-only" if caller.may_see(namespace) else f"cannot write to {namespace!r}"
            raise Forbidden(f"You don't have the rights to write to {namespace}: the token {why}")
