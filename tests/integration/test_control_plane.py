"""The control plane (`/_emulator/*`) answers only its admin token, and cannot be turned
against the server: fault patterns match in linear time, token fingerprints are keyed."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request

import pytest
from huggingface_hub import HfApi

from tests.conftest import HubTokens
from zenml_hf_registry.hub import LocalHub
from zenml_hf_registry.hub.faults import FaultRule

pytestmark = pytest.mark.integration

ROUTES = [
    ("GET", "/_emulator/stats", None),
    ("POST", "/_emulator/stats/reset", {}),
    ("POST", "/_emulator/faults", {"method": "*", "path": "*", "status": 503, "times": 10}),
    ("GET", "/_emulator/faults", None),
    ("DELETE", "/_emulator/faults", None),
    ("POST", "/_emulator/fingerprint", {"token": "tok-alice-write"}),
    ("GET", "/_emulator/spaces/acme/app", None),
    ("POST", "/_emulator/spaces/acme/app/stage", {"stage": "RUNTIME_ERROR"}),
]


def _status(hub: LocalHub, method: str, path: str, body: object, token: str | None) -> int:
    request = urllib.request.Request(
        f"{hub.url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_control_routes_refuse_anyone_but_the_admin(
    hub: LocalHub, hub_tokens: HubTokens, method: str, path: str, body: object
) -> None:
    HfApi(endpoint=hub.url, token=hub_tokens.writer.token).create_repo(
        "acme/app", repo_type="space", space_sdk="docker"
    )
    assert _status(hub, method, path, body, None) == 401
    assert _status(hub, method, path, body, hub_tokens.writer.token) == 401  # a Hub user
    assert _status(hub, method, path, body, "hub_admin_guess") == 401
    # Nothing was armed by the refused calls: the Hub still answers.
    assert HfApi(endpoint=hub.url).list_models() is not None
    assert _status(hub, method, path, body, hub.admin_token) == 200


def test_fault_patterns_are_globs_or_literals_never_regular_expressions(hub: LocalHub) -> None:
    # A pattern that backtracks for minutes as a regular expression is plain text here.
    evil = "(a+)+$" + "!" * 20
    assert not FaultRule(path=evil).matches("/" + "a" * 40)
    hub.control.add_fault(method="GET", path=evil, status=500, times=5)
    started = time.monotonic()
    HfApi(endpoint=hub.url).list_models()
    assert time.monotonic() - started < 2
    assert FaultRule(path="*/commit/*").matches("/api/models/acme/x/commit/main")
    assert FaultRule(path="/commit/").matches("/api/models/acme/x/commit/main")
    assert not FaultRule(path="/api/spaces/*").matches("/api/models/acme/x")
    with pytest.raises(ValueError, match="500"):
        FaultRule(path="x" * 501)


def test_token_fingerprints_are_keyed_per_server(hub: LocalHub, hub_tokens: HubTokens) -> None:
    token = hub_tokens.writer.token
    HfApi(endpoint=hub.url, token=token).whoami()
    seen = hub.control.stats()["token_fingerprints"]
    assert hub.control.fingerprint(token) in seen
    # An unsalted hash of a guessed token tells nothing.
    assert hashlib.sha256(token.encode()).hexdigest()[:16] not in seen
