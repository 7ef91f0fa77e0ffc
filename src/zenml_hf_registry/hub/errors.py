"""Errors of the local Hub, each knowing the HTTP status and `X-Error-Code` the real Hub sends.

    HubError                      500, no code
    ├── RepoMoved                 307  (an old name of a moved repo; `Location` is the new one)
    ├── BadRequest                400
    ├── Unauthorized              401  (a token was sent and is not known)
    ├── Forbidden                 403  (known token, not allowed to write there)
    │   └── GatedRepo             403  X-Error-Code: GatedRepo (401 when anonymous)
    ├── NotFound                  404
    │   ├── RepoNotFound          404  X-Error-Code: RepoNotFound
    │   ├── RevisionNotFound      404  X-Error-Code: RevisionNotFound
    │   └── EntryNotFound         404  X-Error-Code: EntryNotFound
    ├── Conflict                  409  (repo exists; ref exists)
    ├── PreconditionFailed        412  (stale parent commit)
    ├── PayloadTooLarge           413
    └── UnprocessableEntity       422
        └── InvalidPath           422  (traversal, absolute, backslash, NUL, too long)

Backends raise these; the app turns them into responses carrying `X-Error-Code`,
`X-Error-Message` and a JSON `{"error": ...}` body, which is what huggingface_hub's
`hf_raise_for_status` reads to raise its typed exceptions against any endpoint.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "Conflict",
    "EntryNotFound",
    "Forbidden",
    "GatedRepo",
    "HubError",
    "InvalidPath",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RepoMoved",
    "RepoNotFound",
    "RevisionNotFound",
    "Unauthorized",
    "UnprocessableEntity",
    "header_text",
]


def header_text(text: str, limit: int = 1000) -> str:
    """`text` as a valid HTTP header value: printable ASCII on one line, at most `limit` chars.

    Error messages quote what the caller sent (a repo name with a newline, a path with a
    control character); put in a header as is, the server could not send the response at all.
    """
    cleaned = "".join(c if " " <= c <= "~" else ("?" if c > "~" else " ") for c in text)
    return " ".join(cleaned.split())[:limit]


class HubError(Exception):
    """Base of every error the local Hub answers with."""

    status_code: ClassVar[int] = 500
    error_code: ClassVar[str | None] = None

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra  # merged into the JSON body, e.g. {"url": ...} on a 409

    @property
    def status(self) -> int:
        """The HTTP status of this error (the class's, unless the instance knows better)."""
        return self.status_code

    def headers(self, commit: str | None = None) -> dict[str, str]:
        """Protocol headers of this error."""
        headers = {"X-Error-Message": header_text(self.message)}
        if self.error_code:
            headers["X-Error-Code"] = self.error_code
        if commit:
            headers["X-Repo-Commit"] = commit
        return headers

    def body(self) -> dict[str, Any]:
        """JSON body of this error."""
        return {"error": self.message, **self.extra}


class RepoMoved(HubError):
    """The repo was renamed or transferred: the Hub redirects its old name to the new one."""

    status_code = 307

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.location = location

    def headers(self, commit: str | None = None) -> dict[str, str]:
        return {**super().headers(commit), "Location": self.location}


class BadRequest(HubError):
    status_code = 400


class Unauthorized(HubError):
    status_code = 401


class Forbidden(HubError):
    status_code = 403


class GatedRepo(Forbidden):
    """A gated repo's files, asked for by someone not on its authorized list."""

    error_code = "GatedRepo"

    def __init__(self, message: str, *, authenticated: bool = True, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.authenticated = authenticated

    @property
    def status(self) -> int:
        # As on the Hub: anonymous callers are told to log in, known ones that they lack access.
        return self.status_code if self.authenticated else Unauthorized.status_code


class NotFound(HubError):
    status_code = 404


class RepoNotFound(NotFound):
    error_code = "RepoNotFound"


class RevisionNotFound(NotFound):
    error_code = "RevisionNotFound"


class EntryNotFound(NotFound):
    error_code = "EntryNotFound"

    def __init__(self, message: str, commit: str | None = None, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.commit = commit

    def headers(self, commit: str | None = None) -> dict[str, str]:
        return super().headers(commit or self.commit)


class Conflict(HubError):
    status_code = 409


class PreconditionFailed(HubError):
    """The commit's parent is not the branch head any more."""

    status_code = 412


class PayloadTooLarge(HubError):
    status_code = 413


class UnprocessableEntity(HubError):
    status_code = 422


class InvalidPath(UnprocessableEntity):
    """A path in a commit or a request that could escape or confuse the repository tree.

    The Hub answers such paths with 422 (huggingface_hub's `test_create_file_with_relative_path`).
    """
