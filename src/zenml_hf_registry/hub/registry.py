"""Buildkite-style package registries on the local Hub: every commit becomes a package.

A registry is a realm of repos served at `/{org}/{registry}/huggingface` with its own tokens
and visibility. Each commit to one of its repos is recorded as a package: name (`ns/repo`),
version (the commit SHA), file name, size and MD5/SHA1/SHA256/SHA512 of the package archive
(`zenml_hf_registry.package_format`), contents, push date and a download counter that grows
with every file downloaded from that commit.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from zenml_hf_registry.hub.errors import Forbidden, NotFound, Unauthorized
from zenml_hf_registry.hub.repos import FileEntry, Repo, RepoBackend
from zenml_hf_registry.hub.settings import RegistrySpec, TokenSpec
from zenml_hf_registry.hub.storage import BlobStore, Database
from zenml_hf_registry.package_format import PackageFile, package_checksums, package_file_name

__all__ = ["PackageBackend"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packages (
    id TEXT PRIMARY KEY,
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    realm TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    sha512 TEXT NOT NULL,
    files TEXT NOT NULL,
    downloads INTEGER NOT NULL DEFAULT 0,
    UNIQUE (repo_id, version)
);
"""


class PackageBackend:
    """Registries, their tokens, and the package records of their commits."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        repos: RepoBackend,
        registries: tuple[RegistrySpec, ...],
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.repos = repos
        self._registries = {spec.realm: spec for spec in registries}
        with db.read() as conn:
            conn.execute(_SCHEMA)

    def registry(self, realm: str) -> RegistrySpec | None:
        """The registry serving this realm; None for the Hub root (realm `""`).

        A prefix naming no registry of this Hub is answered as an empty private registry that
        accepts no token: neither the Hub's own tokens nor anonymous callers can use it, and
        it answers exactly as a real private registry does, so a caller cannot tell which
        registries exist (no 404-versus-401 difference).
        """
        return self._spec(realm) if realm else None

    def require_registry(self, org: str, name: str) -> RegistrySpec:
        """The registry `org/name` (an unknown one answers as an empty private registry)."""
        return self._spec(f"{org}/{name}")

    def _spec(self, realm: str) -> RegistrySpec:
        spec = self._registries.get(realm)
        if spec is None:
            org, _, name = realm.partition("/")
            spec = RegistrySpec.model_construct(org=org, name=name, private=True, tokens=())
        return spec

    def authenticate(self, spec: RegistrySpec, token: str | None) -> TokenSpec | None:
        """A registry token's scope; anonymous is None; an unknown token is a 401."""
        if token is None:
            return None
        caller = spec.authenticate(token)
        if caller is None:
            raise Unauthorized(f"Invalid token for registry {spec.realm}")
        return caller

    def require_reader(self, spec: RegistrySpec, caller: TokenSpec | None) -> None:
        """Private registries need a registry token to list or describe packages."""
        if spec.private and caller is None:
            raise Unauthorized(f"Registry {spec.realm} is private: send a registry token")

    def check_visibility(self, repo: Repo, private: bool | None) -> None:
        """Refuse (403) a visibility change of a registry's repo: the registry's covers them all.

        Otherwise a writer of a private registry could make one package anonymously readable.
        """
        spec = self._registries.get(repo.realm)
        if spec is None or private is None or private == spec.private:
            return
        visibility = "private" if spec.private else "public"
        raise Forbidden(
            f"Registry {spec.realm} is {visibility} and so are all of its repos: "
            f"{repo.repo_id} cannot be made {'private' if private else 'public'} on its own"
        )

    # -- events ------------------------------------------------------------------------------

    def on_commit(self, repo: Repo, commit_id: str) -> None:
        """Record the commit of a registry repo as a package."""
        if repo.realm not in self._registries:
            return
        files = self.repos.list_files(repo, commit_id)
        checksums = package_checksums(
            PackageFile(f.path, f.size, lambda f=f: self.blobs.open(f.sha256))  # type: ignore[misc]
            for f in files
        )
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO packages (id, repo_id, realm, name, version, created_at,"
                " size, md5, sha1, sha256, sha512, files) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    str(uuid.uuid4()),
                    repo.id,
                    repo.realm,
                    repo.repo_id,
                    commit_id,
                    datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    checksums.size,
                    checksums.md5,
                    checksums.sha1,
                    checksums.sha256,
                    checksums.sha512,
                    json.dumps([{"path": f.path, "size": f.size} for f in files]),
                ),
            )

    def on_download(self, repo: Repo, commit_id: str, entry: FileEntry) -> None:
        """Count a file download against the package of that commit."""
        if repo.realm not in self._registries:
            return
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE packages SET downloads = downloads + 1 WHERE repo_id=? AND version=?",
                (repo.id, commit_id),
            )

    # -- listing -----------------------------------------------------------------------------

    def list_packages(self, spec: RegistrySpec, name: str | None = None) -> list[dict[str, Any]]:
        """Packages of the registry, newest first (Buildkite's listing shape)."""
        query = "SELECT * FROM packages WHERE realm=?"
        params: list[Any] = [spec.realm]
        if name:
            query += " AND name=?"
            params.append(name)
        with self.db.read() as conn:
            rows = conn.execute(query + " ORDER BY created_at DESC, rowid DESC", params).fetchall()
        return [self._summary(spec, row) for row in rows]

    def get_package(self, spec: RegistrySpec, package_id: str) -> dict[str, Any]:
        """One package with checksums, size, downloads and contents."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT * FROM packages WHERE realm=? AND id=?", (spec.realm, package_id)
            ).fetchone()
        if row is None:
            raise NotFound(f"No package {package_id} in registry {spec.realm}")
        return {
            **self._summary(spec, row),
            "file_name": package_file_name(row["name"], row["version"]),
            "size": row["size"],
            "checksums": {
                "md5": row["md5"],
                "sha1": row["sha1"],
                "sha256": row["sha256"],
                "sha512": row["sha512"],
            },
            "downloads": row["downloads"],
            "files": json.loads(row["files"]),
            "visibility": "private" if spec.private else "public",
        }

    @staticmethod
    def _summary(spec: RegistrySpec, row: Any) -> dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "version": row["version"],
            "created_at": row["created_at"],
            "registry": spec.realm,
        }
