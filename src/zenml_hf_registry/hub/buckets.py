"""Storage Buckets: named, mutable folders a Space mounts as a volume (no git history).

A bucket is a row (namespace rules and visibility as for repos) and a folder under the data
dir, `buckets/{row id}/`, that outlives every Space mounting it: restarts, rebuilds and the
Space's own deletion leave it alone. Its size and file count are read off the folder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zenml_hf_registry.hub.errors import Conflict, RepoNotFound
from zenml_hf_registry.hub.repos import RepoBackend
from zenml_hf_registry.hub.settings import TokenSpec
from zenml_hf_registry.hub.storage import Database

__all__ = ["Bucket", "BucketBackend", "BucketUsage"]


@dataclass(frozen=True)
class Bucket:
    """One bucket's row."""

    id: int
    realm: str
    namespace: str
    name: str
    private: bool
    created_at: str

    @property
    def bucket_id(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class BucketUsage:
    """What a bucket holds now."""

    size: int
    total_files: int


class BucketBackend:
    """Create, inspect, list and delete buckets; where each one's files live."""

    def __init__(self, db: Database, root: Path, repos: RepoBackend) -> None:
        self.db = db
        self.root = root
        self.repos = repos
        self.root.mkdir(parents=True, exist_ok=True)

    def create_bucket(
        self, realm: str, namespace: str, name: str, *, private: bool, caller: TokenSpec | None
    ) -> Bucket:
        """A new, empty bucket; 401/403 when the caller may not write the namespace, 409 when
        it exists."""
        self.repos.require_write(caller, namespace)
        self.repos.check_name(namespace, name)
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        with self.db.transaction() as conn:
            if self._row(conn, realm, namespace, name) is not None:
                raise Conflict(f"You already created a bucket called {namespace}/{name}")
            conn.execute(
                "INSERT INTO buckets (realm, namespace, name, private, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (realm, namespace, name, int(private), created),
            )
        bucket = self.find(realm, namespace, name)
        if bucket is None:  # pragma: no cover - inserted just above
            raise RepoNotFound("Bucket not found")
        self.folder(bucket).mkdir(parents=True, exist_ok=True)
        return bucket

    def bucket_info(
        self,
        realm: str,
        namespace: str,
        name: str,
        caller: TokenSpec | None,
        *,
        write: bool = False,
    ) -> Bucket:
        """The bucket if the caller may see it (and write it, with `write`); a private bucket
        answers 404 to anyone else, as private repos do."""
        bucket = self.find(realm, namespace, name)
        if bucket is None or (bucket.private and not self._may_see(caller, bucket)):
            raise RepoNotFound("Bucket not found")
        if write:
            self.repos.require_write(caller, bucket.namespace)
        return bucket

    def list_buckets(self, realm: str, namespace: str, caller: TokenSpec | None) -> list[Bucket]:
        """The buckets of `namespace` the caller may see, oldest first."""
        if not self.repos.knows_namespace(namespace):
            with self.db.read() as conn:
                known = conn.execute(
                    "SELECT 1 FROM buckets WHERE realm=? AND namespace=?", (realm, namespace)
                ).fetchone()
            if known is None:
                raise RepoNotFound(f"No user or organization called {namespace!r}")
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM buckets WHERE realm=? AND namespace=? ORDER BY id",
                (realm, namespace),
            ).fetchall()
        buckets = [self._bucket(row) for row in rows]
        return [b for b in buckets if not b.private or self._may_see(caller, b)]

    def delete_bucket(self, bucket: Bucket) -> None:
        """Drop the bucket and its files (a Space mounting it keeps what it has open)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM buckets WHERE id=?", (bucket.id,))
        shutil.rmtree(self.folder(bucket), ignore_errors=True)

    def find(self, realm: str, namespace: str, name: str) -> Bucket | None:
        """The bucket by name, whoever asks (the server's own look-ups)."""
        with self.db.read() as conn:
            row = self._row(conn, realm, namespace, name)
        return None if row is None else self._bucket(row)

    def folder(self, bucket: Bucket) -> Path:
        """Where the bucket's files are: by row id, so a rename would move nothing."""
        return self.root / str(bucket.id)

    def usage(self, bucket: Bucket) -> BucketUsage:
        """Bytes and files in the bucket now."""
        files = [p for p in self.folder(bucket).rglob("*") if p.is_file() and not p.is_symlink()]
        return BucketUsage(size=sum(p.stat().st_size for p in files), total_files=len(files))

    @staticmethod
    def _may_see(caller: TokenSpec | None, bucket: Bucket) -> bool:
        return caller is not None and caller.may_see(bucket.namespace)

    @staticmethod
    def _row(conn: Any, realm: str, namespace: str, name: str) -> Any:
        return conn.execute(
            "SELECT * FROM buckets WHERE realm=? AND namespace=? AND name=?",
            (realm, namespace, name),
        ).fetchone()

    @staticmethod
    def _bucket(row: Any) -> Bucket:
        return Bucket(
            id=row["id"],
            realm=row["realm"],
            namespace=row["namespace"],
            name=row["name"],
            private=bool(row["private"]),
            created_at=row["created_at"],
        )
