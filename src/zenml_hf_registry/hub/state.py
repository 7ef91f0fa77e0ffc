"""The state of one running local Hub: its backends, counters and fault rules.

No HTTP here: routes reach this through `context.hub_of(request)`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zenml_hf_registry.hub.buckets import BucketBackend
from zenml_hf_registry.hub.faults import Faults
from zenml_hf_registry.hub.registry import PackageBackend
from zenml_hf_registry.hub.repos import FileEntry, Repo, RepoBackend
from zenml_hf_registry.hub.settings import HubSettings
from zenml_hf_registry.hub.spaces.manager import SpaceManager
from zenml_hf_registry.hub.storage import BlobStore, Database
from zenml_hf_registry.hub.tickets import TicketSigner
from zenml_hf_registry.hub.xet import XetStore

__all__ = ["CommitListener", "DownloadListener", "Hub", "HubStats"]

CommitListener = Callable[[Repo, str], None]
DownloadListener = Callable[[Repo, str, FileEntry], None]


@dataclass
class HubStats:
    """Requests and request-body bytes per route (`GET /_emulator/stats`).

    Tokens are counted by a keyed fingerprint (HMAC with a key of this server's only), so the
    stats tell which credentials reached the server without anyone being able to test a guess
    against them offline.
    """

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    requests: Counter[str] = field(default_factory=Counter)
    request_bytes: Counter[str] = field(default_factory=Counter)
    token_fingerprints: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fingerprint(self, token: str) -> str:
        """This server's fingerprint of a token."""
        return hmac.new(self.key, token.encode(), hashlib.sha256).hexdigest()[:16]

    def record(self, route: str, body_bytes: int, token: str | None) -> None:
        """Count one finished request."""
        with self.lock:
            self.requests[route] += 1
            self.request_bytes[route] += body_bytes
            if token:
                self.token_fingerprints[self.fingerprint(token)] += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        with self.lock:
            return {
                "requests": dict(self.requests),
                "request_bytes": dict(self.request_bytes),
                "total_requests": sum(self.requests.values()),
                "token_fingerprints": dict(self.token_fingerprints),
                "lfs_upload_bytes": sum(v for k, v in self.request_bytes.items() if "/_lfs/" in k),
            }

    def reset(self) -> None:
        """Start counting from zero."""
        with self.lock:
            self.requests.clear()
            self.request_bytes.clear()
            self.token_fingerprints.clear()


@dataclass
class Hub:
    """The backends of one running app, shared by its routes."""

    settings: HubSettings
    db: Database
    blobs: BlobStore
    repos: RepoBackend
    tickets: TicketSigner
    spaces: SpaceManager
    packages: PackageBackend
    buckets: BucketBackend
    xet: XetStore
    admin_token: str = field(default_factory=lambda: "hub_admin_" + secrets.token_urlsafe(24))
    stats: HubStats = field(default_factory=HubStats)
    faults: Faults = field(default_factory=Faults)
    commit_listeners: list[CommitListener] = field(default_factory=list)
    download_listeners: list[DownloadListener] = field(default_factory=list)

    def on_commit(self, repo: Repo, commit_id: str) -> None:
        """Tell interested parts (Space builds, registry packages) that a commit landed."""
        for listener in self.commit_listeners:
            listener(repo, commit_id)

    def on_download(self, repo: Repo, commit_id: str, entry: FileEntry) -> None:
        """Tell interested parts (registry download counters) that a file was served."""
        for listener in self.download_listeners:
            listener(repo, commit_id, entry)
