"""Upload tickets: the signed capability in an LFS upload or download URL.

As on the Hub, LFS content PUTs carry no Authorization header, so the URL itself grants the
transfer of one object into one repo, for a day.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

from zenml_hf_registry.hub.errors import Forbidden
from zenml_hf_registry.hub.repos import Repo

__all__ = ["TicketSigner"]

_TICKET_TTL = 24 * 3600


class TicketSigner:
    """Signs and checks upload tickets: `{repo, oid, size, expiry}` with an HMAC."""

    def __init__(self, data_dir: Path) -> None:
        key_file = data_dir / "ticket-key"
        if not key_file.exists():
            key_file.write_bytes(secrets.token_bytes(32))
            key_file.chmod(0o600)
        self._key = key_file.read_bytes()

    def sign(self, repo: Repo, oid: str, size: int) -> str:
        """A URL-safe ticket allowing one object's upload into one repo."""
        claims = {"r": repo.id, "o": oid, "s": size, "e": int(time.time()) + _TICKET_TTL}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{payload}.{mac}"

    def check(self, ticket: str) -> tuple[int, str, int]:
        """`(repo row id, oid, size)` of a valid ticket; 403 otherwise."""
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
        return int(claims["r"]), str(claims["o"]), int(claims["s"])
