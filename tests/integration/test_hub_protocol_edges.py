"""The local Hub at its edges: the `hf` CLI, registry prefixes, hostile paths, cut-off uploads."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.conftest import HubTokens
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration

HF = Path(sys.executable).with_name("hf")
CLI = Path(sys.executable).with_name("zenml-hf-registry")


def hf_env(hub: LocalHub, token: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": token,
        "HF_HOME": str(home),
    }


def raw_request(
    url: str, method: str, body: bytes | None, token: str | None, content_type: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                json.loads(response.read() or b"{}"),
            )
    except urllib.error.HTTPError as error:
        return (
            error.code,
            {k.lower(): v for k, v in error.headers.items()},
            json.loads(error.read() or b"{}"),
        )


def test_hf_cli_upload_and_download(hub: LocalHub, hub_tokens: HubTokens, tmp_path: Path) -> None:
    folder = tmp_path / "src"
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# model\n")
    (folder / "sub" / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    env = hf_env(hub, hub_tokens.writer.token, tmp_path / "hf-home")
    HfApi(endpoint=hub.url, token=hub_tokens.writer.token).create_repo("acme/cli-model")

    upload = subprocess.run(
        [HF, "upload", "acme/cli-model", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upload.returncode == 0, upload.stderr
    assert hub.url in upload.stdout  # prints the commit URL on this endpoint

    target = tmp_path / "copy"
    download = subprocess.run(
        [HF, "download", "acme/cli-model", "--local-dir", str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert download.returncode == 0, download.stderr
    assert (target / "sub" / "weights.bin").read_bytes() == (
        folder / "sub" / "weights.bin"
    ).read_bytes()
    assert (target / "README.md").read_text() == (folder / "README.md").read_text()


def test_registry_prefix_serves_an_independent_realm(
    hub: LocalHub, hub_tokens: HubTokens, tmp_path: Path, lfs_client: None
) -> None:
    endpoint = f"{hub.url}/acme/models/huggingface"
    prefixed = HfApi(endpoint=endpoint, token=hub_tokens.writer.token)
    root = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)

    url = prefixed.create_repo("acme/pkg")
    assert url.startswith(endpoint)
    commit = prefixed.upload_file(
        path_or_fileobj=os.urandom(2 * 1024 * 1024), path_in_repo="model.bin", repo_id="acme/pkg"
    )
    assert commit.commit_url.startswith(endpoint)

    with pytest.raises(RepositoryNotFoundError):
        root.model_info("acme/pkg")  # the root Hub does not see the registry's repos
    target = snapshot_download(
        "acme/pkg", endpoint=endpoint, token=hub_tokens.writer.token, cache_dir=tmp_path / "c"
    )
    assert Path(target, "model.bin").stat().st_size == 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../escape.txt", "'..'"),
        ("a/../../escape.txt", "'..'"),
        ("/etc/passwd", "absolute"),
        ("nul\x00byte", "NUL"),
        ("x" * 1001, "limit is 1000"),
        (".git/config", ".git"),
    ],
)
def test_hostile_commit_paths_are_refused(
    hub: LocalHub, hub_tokens: HubTokens, path: str, reason: str
) -> None:
    api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
    api.create_repo("acme/safe", exist_ok=True)
    head = api.model_info("acme/safe").sha
    lines = [
        {"key": "header", "value": {"summary": "hostile", "description": ""}},
        {
            "key": "file",
            "value": {
                "path": path,
                "content": base64.b64encode(b"x").decode(),
                "encoding": "base64",
            },
        },
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)

    status, headers, payload = raw_request(
        f"{hub.url}/api/models/acme/safe/commit/main",
        "POST",
        body,
        hub_tokens.writer.token,
        "application/x-ndjson",
    )

    assert status == 422  # the Hub's status for an unusable path
    assert reason in payload["error"]
    assert reason in headers["x-error-message"] or reason == "NUL"
    assert api.model_info("acme/safe").sha == head
    assert not list(hub.settings.data_dir.parent.glob("escape.txt"))


def test_oversized_commit_payload_is_refused(
    hub_settings: HubSettings, hub_tokens: HubTokens
) -> None:
    settings = hub_settings.model_copy(update={"max_request_size": 64 * 1024})
    with LocalHub(settings) as small:
        api = HfApi(endpoint=small.url, token=hub_tokens.writer.token)
        api.create_repo("acme/limits")
        head = api.model_info("acme/limits").sha
        # 200 kB of text stays "regular" (below the LFS threshold), so it rides in the commit.
        with pytest.raises(HfHubHTTPError) as refused:
            api.upload_file(
                path_or_fileobj=b"a" * 200_000, path_in_repo="big.txt", repo_id="acme/limits"
            )
        assert refused.value.response.status_code == 413
        assert "Request body too large" in str(refused.value)
        assert api.model_info("acme/limits").sha == head


def test_cut_off_lfs_upload_leaves_nothing_and_retry_succeeds(
    hub: LocalHub, hub_tokens: HubTokens, lfs_client: None
) -> None:
    api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
    api.create_repo("acme/resume")
    data = os.urandom(2 * 1024 * 1024)
    oid = hashlib.sha256(data).hexdigest()
    batch_body = json.dumps(
        {
            "operation": "upload",
            "transfers": ["basic"],
            "hash_algo": "sha256",
            "objects": [{"oid": oid, "size": len(data)}],
        }
    ).encode()
    status, _, batch = raw_request(
        f"{hub.url}/acme/resume.git/info/lfs/objects/batch",
        "POST",
        batch_body,
        hub_tokens.writer.token,
        "application/vnd.git-lfs+json",
    )
    assert status == 200
    href = batch["objects"][0]["actions"]["upload"]["href"]

    # Send half the body, then drop the connection.
    target = href.removeprefix(hub.url)
    with socket.create_connection((hub.host, hub.port)) as conn:
        conn.sendall(
            f"PUT {target} HTTP/1.1\r\nHost: {hub.host}:{hub.port}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data[: len(data) // 2]
        )
    blob = hub.settings.data_dir / "blobs" / "sha256" / oid[:2] / oid
    # Nothing half-written is visible: the batch endpoint still asks for the object.
    status, _, again = raw_request(
        f"{hub.url}/acme/resume.git/info/lfs/objects/batch",
        "POST",
        batch_body,
        hub_tokens.writer.token,
        "application/vnd.git-lfs+json",
    )
    assert "actions" in again["objects"][0]
    assert not blob.exists()

    # The client's own retry goes through and commits.
    commit = api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id="acme/resume")
    assert blob.exists()
    info = api.model_info("acme/resume", files_metadata=True)
    (sibling,) = [s for s in info.siblings or [] if s.rfilename == "w.bin"]
    assert sibling.lfs is not None
    assert sibling.lfs.sha256 == oid
    assert info.sha == commit.oid


def test_xet_requests_get_an_actionable_error(hub: LocalHub, hub_tokens: HubTokens) -> None:
    """The Hub root serves Xet; a registry realm speaks LFS only and says how to get there."""
    HfApi(endpoint=hub.url, token=hub_tokens.writer.token).create_repo("acme/xet")
    status, headers, payload = raw_request(
        f"{hub.url}/api/models/acme/xet/xet-write-token/main",
        "GET",
        None,
        hub_tokens.writer.token,
        "application/json",
    )
    assert status == 200
    assert payload["casUrl"] == f"{hub.url}/_xet"
    assert headers["x-xet-access-token"] == payload["accessToken"]
    registry = f"{hub.url}/acme/models/huggingface"
    HfApi(endpoint=registry, token=hub_tokens.writer.token).create_repo("acme/xet")
    status, _headers, payload = raw_request(
        f"{registry}/api/models/acme/xet/xet-write-token/main",
        "GET",
        None,
        hub_tokens.writer.token,
        "application/json",
    )
    assert status == 501
    assert "HF_HUB_DISABLE_XET=1" in payload["error"]


def test_every_response_carries_a_request_id(hub: LocalHub) -> None:
    status, headers, payload = raw_request(
        f"{hub.url}/api/models/acme/missing", "GET", None, None, "application/json"
    )
    assert status == 404
    assert headers["x-error-code"] == "RepoNotFound"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    assert "error" in payload


def test_hub_serve_command_prints_endpoint_and_token(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [CLI, "hub", "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        process.stdout.readline()  # HF_ENDPOINT=...
        token_line = process.stdout.readline()
        token = token_line.rsplit(": ", 1)[1].strip()
        assert token == (tmp_path / "data" / "dev-token").read_text().strip()
        api = HfApi(endpoint=match[1], token=token)
        assert api.whoami()["name"] == "dev"
        api.create_repo("dev/served")
        assert api.model_info("dev/served").id == "dev/served"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_prefix_naming_no_registry_answers_as_an_empty_private_one(
    hub: LocalHub, hub_tokens: HubTokens
) -> None:
    """An unregistered `/{org}/{name}/huggingface` is no realm of its own: the Hub's tokens do
    not open it, and it answers exactly as an existing private registry, so it cannot be told
    apart from one (no 404-versus-401 oracle)."""
    token = hub_tokens.writer.token  # valid on the Hub root, no token of any registry
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=f"{hub.url}/acme/nowhere/huggingface", token=token).create_repo("acme/x")
    assert refused.value.response.status_code == 401

    def answers(registry: str, token: str | None) -> list[tuple[int, str | None]]:
        seen = []
        for url in (
            f"{hub.url}/{registry}/huggingface/api/models/acme/pkg",
            f"{hub.url}/v2/packages/organizations/acme/registries/{registry.split('/')[1]}"
            "/packages",
        ):
            status, headers, _ = raw_request(url, "GET", None, token, "application/json")
            seen.append((status, headers.get("x-error-code")))
        return seen

    for caller in (None, "not-a-registry-token"):
        assert answers("acme/nowhere", caller) == answers("acme/models", caller)
    assert answers("acme/nowhere", token) == [(401, None), (401, None)]
    assert answers("acme/nowhere", None)[1] == (401, None)  # the package listing is private


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a\nb", "type": "model"},
        {"name": "ok", "type": "x\r\nX-Injected: 1"},
        {"name": "caf\u00e9\u0007", "type": "model"},
    ],
)
def test_control_characters_in_what_is_quoted_back_still_get_an_answer(
    hub: LocalHub, hub_tokens: HubTokens, body: dict[str, str]
) -> None:
    """Error texts quote the caller's input; a newline in a header would drop the connection."""
    status, headers, payload = raw_request(
        f"{hub.url}/api/repos/create",
        "POST",
        json.dumps(body).encode(),
        hub_tokens.writer.token,
        "application/json",
    )
    assert status == 400
    message = headers["x-error-message"]
    assert message.isprintable()
    assert message.isascii()
    assert "x-injected" not in {name.lower() for name in headers} - {"x-error-message"}
    assert payload["error"]
