"""The public-pullability probe against a registry on loopback speaking the bearer-token flow."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from zenml_hf_registry.images import (
    ImageNotPublicError,
    ImageReference,
    InvalidImageReferenceError,
    probe_public_image,
)

pytestmark = pytest.mark.integration

MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
)
DIGEST = "sha256:" + hashlib.sha256(MANIFEST.encode()).hexdigest()


@dataclass
class FakeRegistry:
    """Docker Hub's behaviour in small: anonymous tokens for everyone, access only to public."""

    public: set[str] = field(default_factory=lambda: {"acme/public"})
    private: set[str] = field(default_factory=lambda: {"acme/private"})
    challenge: str = "Bearer"  # or "Basic": a registry that wants credentials outright
    send_digest_header: bool = True
    token_answer: bytes | None = None  # what /token answers instead of a token, if set
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    state = FakeRegistry()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            url = urlsplit(self.path)
            state.seen.append((self.command, url.path, self.headers.get("Authorization")))
            if url.path == "/token":
                scope = parse_qs(url.query).get("scope", [""])[0]
                repo = scope.split(":")[1] if scope.count(":") == 2 else ""
                # Like Docker Hub: a token for anyone, granting pull only on public repos.
                granted = repo if repo in state.public else "nothing"
                answer = state.token_answer or json.dumps({"token": f"anon:{granted}"}).encode()
                self._reply(200, answer)
                return
            if not url.path.startswith("/v2/") or "/manifests/" not in url.path:
                self._reply(404)
                return
            repo, _, reference = url.path[4:].partition("/manifests/")
            if (
                state.challenge == "Basic"
                or self.headers.get("Authorization") != f"Bearer anon:{repo}"
            ):
                challenge = (
                    'Basic realm="registry"'
                    if state.challenge == "Basic"
                    else f'Bearer realm="{state.url}/token",service="fake",'
                    f'scope="repository:{repo}:pull"'
                )
                self._reply(401, b"{}", WWW_Authenticate=challenge)
                return
            if repo not in state.public or reference not in ("1.0", DIGEST):
                self._reply(404)
                return
            headers = {"Content_Type": "application/vnd.oci.image.manifest.v1+json"}
            if state.send_digest_header:
                headers["Docker_Content_Digest"] = DIGEST
            self._reply(200, MANIFEST.encode(), **headers)

        do_GET = do_HEAD = _handle  # noqa: N815 - the names http.server dispatches to

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def host(registry: FakeRegistry) -> str:
    return registry.url.removeprefix("http://")


def test_a_public_image_passes_through_the_token_flow_and_yields_its_digest(
    registry: FakeRegistry,
) -> None:
    image = f"{host(registry)}/acme/public:1.0"
    assert probe_public_image(image) == DIGEST
    assert [(method, path) for method, path, _ in registry.seen] == [
        ("HEAD", "/v2/acme/public/manifests/1.0"),
        ("GET", "/token"),
        ("HEAD", "/v2/acme/public/manifests/1.0"),
    ]
    # Anonymous: the only credential ever sent is the registry's own anonymous token.
    assert {auth for _, _, auth in registry.seen} == {None, "Bearer anon:acme/public"}
    assert ImageReference.parse(image).pinned(DIGEST) == f"{host(registry)}/acme/public@{DIGEST}"


def test_a_digest_reference_is_checked_and_returned(registry: FakeRegistry) -> None:
    assert probe_public_image(f"{host(registry)}/acme/public@{DIGEST}") == DIGEST


def test_without_a_digest_header_the_manifest_is_hashed(registry: FakeRegistry) -> None:
    registry.send_digest_header = False
    assert probe_public_image(f"{host(registry)}/acme/public:1.0") == DIGEST


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("acme/private:1.0", "refuses anonymous pulls of it (private or missing)"),
        ("acme/public:2.0", "does not exist"),
    ],
)
def test_images_a_space_could_not_pull_are_refused_with_the_ways_out(
    registry: FakeRegistry, reference: str, reason: str
) -> None:
    image = f"{host(registry)}/{reference}"
    with pytest.raises(ImageNotPublicError) as refused:
        probe_public_image(image)
    message = str(refused.value)
    assert image in message
    assert reason in message
    assert "make its repository public" in message
    assert "registry.hf.space" in message
    assert refused.value.image == image


def test_a_registry_that_wants_credentials_outright_is_refused(registry: FakeRegistry) -> None:
    registry.challenge = "Basic"
    with pytest.raises(ImageNotPublicError, match="requires credentials to pull it"):
        probe_public_image(f"{host(registry)}/acme/public:1.0")
    assert all(auth is None for _, _, auth in registry.seen)


@pytest.mark.parametrize(
    "answer", [b"[1, 2]", b'"anon"', b"null", b"not json", b'{"token": 5}', b'{"token": ""}']
)
def test_a_token_service_answering_no_token_object_is_a_refusal_not_a_crash(
    registry: FakeRegistry, answer: bytes
) -> None:
    registry.token_answer = answer
    with pytest.raises(ImageNotPublicError, match="refused an anonymous pull token"):
        probe_public_image(f"{host(registry)}/acme/public:1.0")


def test_an_unreachable_registry_is_named() -> None:
    with pytest.raises(ImageNotPublicError, match=r"127\.0\.0\.1:9 could not be reached"):
        probe_public_image("127.0.0.1:9/acme/app:1.0", timeout=2)


def test_a_malformed_reference_fails_before_any_request(registry: FakeRegistry) -> None:
    with pytest.raises(InvalidImageReferenceError):
        probe_public_image(f"{host(registry)}/Acme/App:1.0")
    assert registry.seen == []


@pytest.mark.parametrize(
    ("image", "registry_host", "repository", "tag"),
    [
        ("python:3.11-slim", "docker.io", "library/python", "3.11-slim"),
        ("zenmldocker/zenml", "docker.io", "zenmldocker/zenml", "latest"),
        ("ghcr.io/org/img:1.0", "ghcr.io", "org/img", "1.0"),
        ("localhost:5000/a/b", "localhost:5000", "a/b", "latest"),
    ],
)
def test_references_resolve_to_registry_and_repository(
    image: str, registry_host: str, repository: str, tag: str
) -> None:
    ref = ImageReference.parse(image)
    assert (ref.registry, ref.repository, ref.tag) == (registry_host, repository, tag)
