"""Bodies and headers are bounded before anything reads, parses or authenticates them."""

from __future__ import annotations

import http.client
import socket
import time
from urllib.parse import urlsplit

import pytest
from huggingface_hub import HfApi

from tests.conftest import HubTokens
from zenml_hf_registry.hub import LocalHub

pytestmark = pytest.mark.integration


def _post(hub: LocalHub, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    address = urlsplit(hub.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    connection.putrequest("POST", path)
    for key, value in headers.items():
        connection.putheader(key, value)
    connection.endheaders()
    if body:
        connection.send(body)
    status = connection.getresponse().status
    connection.close()
    return status


def test_a_declared_oversized_json_body_is_refused_before_it_is_read(hub: LocalHub) -> None:
    started = time.monotonic()
    # 300 MB declared, nothing sent: the answer comes at once, without waiting for the body.
    status = _post(hub, "/api/repos/create", {"Content-Length": str(300 * 1024**2)})
    assert status == 413
    assert time.monotonic() - started < 2
    # Same for a commit, over its own (larger) limit.
    limit = hub.settings.max_request_size
    assert _post(hub, "/api/models/acme/x/commit/main", {"Content-Length": str(limit + 1)}) == 413


def test_an_undeclared_body_is_cut_off_at_the_limit(hub: LocalHub, hub_tokens: HubTokens) -> None:
    limit = hub.settings.max_json_size
    address = urlsplit(hub.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    connection.putrequest("POST", "/api/repos/create")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.putheader("Authorization", f"Bearer {hub_tokens.writer.token}")
    connection.endheaders()
    chunk = b"x" * (1024 * 1024)
    try:
        for _ in range(limit // len(chunk) + 2):
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
        status = connection.getresponse().status
    except OSError:
        status = 413  # the server may hang up first
    assert status == 413
    # Nothing was created, and the server is fine.
    assert HfApi(endpoint=hub.url, token=hub_tokens.writer.token).whoami()["name"] == "alice"


def test_oversized_request_heads_are_refused(hub: LocalHub) -> None:
    address = urlsplit(hub.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        try:
            sock.sendall(b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000)
            sock.sendall(b"\r\n\r\n")
            reply = sock.recv(100)
        except ConnectionResetError:
            reply = b""  # refused by hanging up mid-head
    assert reply.startswith(b"HTTP/1.1 4") or reply == b""
    assert HfApi(endpoint=hub.url).list_models() is not None  # and the server is fine


def test_one_long_commit_line_is_refused_at_the_line_limit(
    hub: LocalHub, hub_tokens: HubTokens
) -> None:
    """A commit's lines are JSON documents: one line may not grow to the commit's whole limit
    (the server would hold it all in memory before it could judge it)."""
    HfApi(endpoint=hub.url, token=hub_tokens.writer.token).create_repo("acme/lines")
    address = urlsplit(hub.url)
    line_limit = hub.settings.max_json_size
    assert line_limit < hub.settings.max_request_size
    chunk = b"A" * (1024 * 1024)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/models/acme/lines/commit/main HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {hub_tokens.writer.token}\r\n".encode()
            + b"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        first = b'{"key":"header","value":{"summary":"x"}}\n{"key":"file","value":{"content":"'
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
            for _ in range(line_limit // len(chunk) + 4):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and hung up while the line was still coming
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"a commit line exceeds" in reply
