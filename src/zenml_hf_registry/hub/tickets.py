"""Upload tickets: the signed capability in an LFS upload or download URL.

As on the Hub, LFS content PUTs carry no Authorization header, so the URL itself grants the
transfer of one object into one repo, for a day. A ticket names its action: an upload ticket
never downloads (the batch API hands upload tickets for objects the caller only claims to have),
and a download ticket is only handed out for an object of a repo the caller may read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from enum import StrEnum
from pathlib import Path

from zenml_hf_registry.hub.errors import Forbidden
from zenml_hf_registry.hub.repos import Repo

__all__ = ["TicketAction", "TicketSigner"]

_TICKET_TTL = 24 * 3600


class TicketAction(StrEnum):
    """What a ticket allows: sending an object's bytes, or fetching them."""

    UPLOAD = "upload"
    DOWNLOAD = "download"


class TicketSigner:
    """Signs and checks tickets: `{repo, oid, size, action, expiry}` with an HMAC."""

    def __init__(self, data_dir: Path) -> None:
        key_file = data_dir / "ticket-key"
        if not key_file.exists():
            key_file.write_bytes(secrets.token_bytes(32))
            key_file.chmod(0o600)
        self._key = key_file.read_bytes()

    def sign(self, repo: Repo, oid: str, size: int, action: TicketAction) -> str:
        """A URL-safe ticket allowing one action on one object of one repo."""
        claims = {
            "r": repo.id,
            "o": oid,
            "s": size,
            "a": action.value,
            "e": int(time.time()) + _TICKET_TTL,
        }
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{payload}.{mac}"

    def check(self, ticket: str, action: TicketAction) -> tuple[int, str, int]:
        """`(repo row id, oid, size)` of a valid ticket for `action`; 403 otherwise."""
        payload, _, mac = ticket.partition(".")
        expected = hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(mac, expected):
            raise Forbidden("invalid upload ticket")
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, binascii.Error) as exc:
            raise Forbidden("invalid upload ticket") from exc
        if claims["e"] < time.time():
            raise Forbidden("upload ticket expired; ask the batch endpoint again")
        if claims.get("a") != action.value:
            raise Forbidden(f"this ticket does not allow {action.value}")
        return int(claims["r"]), str(claims["o"]), int(claims["s"])
