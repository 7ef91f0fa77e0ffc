"""The one place `HfApi` is built, and the one place huggingface_hub errors are translated.

Every client gets an explicit endpoint and token: nothing relies on `HF_ENDPOINT` (read once at
import) or lets an implicit token (HF_TOKEN, the token file) travel to another host.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    BucketNotFoundError,
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from zenml_hf_registry._version import __version__
from zenml_hf_registry.errors import HfRegistryError, HubAccessError, HubUnavailableError

__all__ = ["hub_errors", "make_api", "read_with_retries", "write_with_retries"]

T = TypeVar("T")

_LIBRARY = "zenml-hf-registry"

# httpx2 logs every request at INFO, which ZenML's CLI would print line by line.
logging.getLogger("httpx2").setLevel(logging.WARNING)


def make_api(endpoint: str, token: str | None) -> HfApi:
    """An `HfApi` bound to this endpoint and token only. `token=None` means anonymous (never
    the token file or HF_TOKEN)."""
    return HfApi(
        endpoint=endpoint.rstrip("/"),
        token=token if token else False,
        library_name=_LIBRARY,
        library_version=__version__,
    )


@contextlib.contextmanager
def hub_errors(endpoint: str, what: str) -> Iterator[None]:
    """Translate failures of the Hub at `endpoint` while doing `what`.

    The typed "not found" errors (repo, revision, entry, bucket) pass through unchanged:
    callers decide whether "not found" is an answer. Auth and availability failures never read as
    "not found".
    """
    try:
        yield
    except (
        RepositoryNotFoundError,
        RevisionNotFoundError,
        EntryNotFoundError,
        BucketNotFoundError,
    ):
        raise
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        detail = exc.server_message or str(exc).splitlines()[0]
        if status in (401, 403):
            raise HubAccessError(
                f"{what}: the Hub at {endpoint} refused the token ({status}): {detail}. "
                "Check that the token is valid and has write access to the namespace.",
                endpoint=endpoint,
            ) from exc
        if status == 429 or (status is not None and status >= 500):
            raise HubUnavailableError(
                f"{what}: the Hub at {endpoint} answered {status}: {detail}",
                endpoint=endpoint,
            ) from exc
        raise HfRegistryError(f"{what}: {detail}") from exc
    except (httpx2.TransportError, OSError) as exc:
        raise HubUnavailableError(
            f"{what}: cannot reach the Hub at {endpoint}: {exc}", endpoint=endpoint
        ) from exc


_MAX_RETRY_AFTER = 30.0


def _rate_limited(exc: HubUnavailableError) -> float | None:
    """The wait a 429 asks for (`Retry-After`, in seconds, capped), or None for other failures."""
    cause = exc.__cause__
    if not isinstance(cause, HfHubHTTPError) or cause.response is None:
        return None
    if cause.response.status_code != 429:
        return None
    try:
        return min(float(cause.response.headers.get("Retry-After", "0")), _MAX_RETRY_AFTER)
    except ValueError:
        return 0.0


def _with_retries(
    call: Callable[[], T],
    *,
    endpoint: str,
    what: str,
    may_retry: Callable[[HubUnavailableError], bool],
    attempts: int,
    backoff: float,
) -> T:
    """Run `call`, retrying the outages `may_retry` allows: after `backoff`, then twice as long
    each time (or the longer `Retry-After` a 429 asks for). The last failure is raised saying
    how many attempts were made; "not found" and refused credentials are raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            with hub_errors(endpoint, what):
                return call()
        except HubUnavailableError as exc:
            if not may_retry(exc):
                raise
            if attempt == attempts:
                raise HubUnavailableError(
                    f"{exc} (after {attempts} attempts)", endpoint=endpoint
                ) from exc
            time.sleep(max(_rate_limited(exc) or 0.0, backoff * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # pragma: no cover


def write_with_retries(
    call: Callable[[], T],
    *,
    endpoint: str,
    what: str,
    idempotent: bool,
    landed: Callable[[], bool] | None = None,
    attempts: int = 4,
    backoff: float = 0.5,
) -> T | None:
    """Run a change, retrying what cannot have happened twice.

    A 429 means the Hub did not carry the request out: it is always retried (after the
    `Retry-After` it asks for). A 5xx or a network error may come after the change was made:
    it is retried only when repeating the change is harmless (`idempotent`), or when
    `landed` says the change is not there yet (then returns None if it is). Refused
    credentials and "not found" are raised at once.
    """
    unsure = False  # the last attempt failed in a way that may have carried it out

    def may_retry(exc: HubUnavailableError) -> bool:
        nonlocal unsure
        unsure = _rate_limited(exc) is None
        return not unsure or idempotent or landed is not None

    def attempt() -> T | None:
        if unsure and landed is not None and landed():
            return None
        return call()

    return _with_retries(
        attempt,
        endpoint=endpoint,
        what=what,
        may_retry=may_retry,
        attempts=attempts,
        backoff=backoff,
    )


def read_with_retries(
    call: Callable[[], T], *, endpoint: str, what: str, attempts: int = 4, backoff: float = 0.5
) -> T:
    """Run an idempotent read, retrying while the Hub is unavailable (429, 5xx, network)."""
    return _with_retries(
        call,
        endpoint=endpoint,
        what=what,
        may_retry=lambda exc: True,
        attempts=attempts,
        backoff=backoff,
    )
