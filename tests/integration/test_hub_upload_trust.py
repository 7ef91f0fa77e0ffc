"""Uploads against a hostile writer: de-duplication, tickets, sizes, data loss and visibility.

Each test plays the attack of the trust-model review (issue 13) through the real client or raw
HTTP and asserts the refusal. Storage is shared by all repos; an oid alone must grant nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.conftest import HubTokens, hub_stats
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec

pytestmark = pytest.mark.integration

SECRET = os.urandom(2 * 1024 * 1024)  # LFS: over the test Hub's 1 MiB threshold
SECRET_OID = hashlib.sha256(SECRET).hexdigest()


def batch(
    hub: LocalHub, repo_id: str, token: str, objects: list[dict[str, Any]], operation: str
) -> dict[str, Any]:
    response = requests.post(
        f"{hub.url}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": operation, "transfers": ["basic"], "objects": objects, "ref": None}
        | ({"ref": {"name": "main"}} if operation == "upload" else {}),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.git-lfs+json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def commit_lfs(hub: LocalHub, repo_id: str, token: str, oid: str, size: int) -> requests.Response:
    lines = [
        {"key": "header", "value": {"summary": "add stolen.bin"}},
        {
            "key": "lfsFile",
            "value": {"path": "stolen.bin", "algo": "sha256", "oid": oid, "size": size},
        },
    ]
    return requests.post(
        f"{hub.url}/api/models/{repo_id}/commit/main",
        data="\n".join(json.dumps(line) for line in lines),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=30,
    )


@pytest.fixture
def secret(api: HfApi) -> str:
    """A private repo of acme holding SECRET as an LFS file; carol knows its sha256 only."""
    api.create_repo("acme/secret", private=True)
    api.upload_file(path_or_fileobj=SECRET, path_in_repo="weights.bin", repo_id="acme/secret")
    return "acme/secret"


@pytest.fixture
def carol(hub: LocalHub, hub_tokens: HubTokens) -> HfApi:
    carol = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    carol.create_repo("carol/mine")
    return carol


def test_upload_ticket_of_own_repo_does_not_download_a_foreign_blob(
    hub: LocalHub, hub_tokens: HubTokens, secret: str, carol: HfApi
) -> None:
    token = hub_tokens.outsider.token
    answer = batch(hub, "carol/mine", token, [{"oid": SECRET_OID, "size": len(SECRET)}], "upload")
    (obj,) = answer["objects"]
    assert "upload" in obj["actions"]  # not "already stored": carol cannot read acme/secret
    href = obj["actions"]["upload"]["href"]
    stolen = requests.get(f"{href}/content", timeout=30)
    assert stolen.status_code == 403
    assert SECRET not in stolen.content
    # Nor does carol's repo own the object, so a download batch finds nothing.
    download = batch(
        hub, "carol/mine", token, [{"oid": SECRET_OID, "size": len(SECRET)}], "download"
    )
    assert download["objects"][0]["error"]["code"] == 404


def test_empty_put_neither_probes_nor_claims_a_stored_blob(
    hub: LocalHub, hub_tokens: HubTokens, secret: str, carol: HfApi
) -> None:
    token = hub_tokens.outsider.token
    unknown = hashlib.sha256(b"never stored").hexdigest()
    answer = batch(
        hub,
        "carol/mine",
        token,
        [{"oid": SECRET_OID, "size": len(SECRET)}, {"oid": unknown, "size": len(SECRET)}],
        "upload",
    )
    statuses = [
        requests.put(obj["actions"]["upload"]["href"], data=b"", timeout=30).status_code
        for obj in answer["objects"]
    ]
    assert statuses == [422, 422]  # the same answer whether or not the blob exists
    refused = commit_lfs(hub, "carol/mine", token, SECRET_OID, len(SECRET))
    assert refused.status_code == 400
    assert "never uploaded" in refused.json()["error"]
    assert [f.rfilename for f in carol.list_repo_tree("carol/mine")] == [".gitattributes"]


def test_declared_size_must_equal_the_content(
    hub: LocalHub, hub_tokens: HubTokens, api: HfApi, secret: str, carol: HfApi
) -> None:
    # Where the caller could read the object, a batch size that disagrees is refused at once.
    api.create_repo("acme/copy")
    answer = batch(
        hub, "acme/copy", hub_tokens.writer.token, [{"oid": SECRET_OID, "size": 10}], "upload"
    )
    (obj,) = answer["objects"]
    assert obj["error"]["code"] == 422
    assert f"has {len(SECRET)} bytes, not 10" in obj["error"]["message"]
    # Elsewhere the bytes must come, and they must be exactly the declared size.
    token = hub_tokens.outsider.token
    answer = batch(hub, "carol/mine", token, [{"oid": SECRET_OID, "size": 10}], "upload")
    put = requests.put(answer["objects"][0]["actions"]["upload"]["href"], data=SECRET, timeout=30)
    assert put.status_code == 413
    assert commit_lfs(hub, "carol/mine", token, SECRET_OID, 10).status_code == 400


def test_dedup_only_where_the_caller_could_read_the_object(
    hub: LocalHub,
    hub_tokens: HubTokens,
    api: HfApi,
    secret: str,
    carol: HfApi,
    tmp_path: Path,
    lfs_client: None,
) -> None:
    before = hub_stats(hub)["lfs_upload_bytes"]
    api.create_repo("acme/copy", private=True)
    api.upload_file(path_or_fileobj=SECRET, path_in_repo="w.bin", repo_id="acme/copy")
    assert hub_stats(hub)["lfs_upload_bytes"] == before  # alice reads acme/secret: no upload
    carol.upload_file(path_or_fileobj=SECRET, path_in_repo="w.bin", repo_id="carol/mine")
    assert hub_stats(hub)["lfs_upload_bytes"] == before + len(SECRET)  # carol sent the bytes
    for repo_id, token in (("acme/copy", hub_tokens.writer.token), ("carol/mine", None)):
        path = hf_hub_download(repo_id, "w.bin", endpoint=hub.url, token=token, cache_dir=tmp_path)
        assert Path(path).read_bytes() == SECRET


def test_malformed_multipart_completion_is_a_400(
    hub: LocalHub, hub_tokens: HubTokens, api: HfApi
) -> None:
    api.create_repo("acme/big")
    ticket_answer = requests.post(
        f"{hub.url}/acme/big.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["multipart"],
            "objects": [{"oid": hashlib.sha256(b"x").hexdigest(), "size": 7 * 1024 * 1024}],
        },
        headers={"Authorization": f"Bearer {hub_tokens.writer.token}"},
        timeout=30,
    ).json()
    href = ticket_answer["objects"][0]["actions"]["upload"]["href"]
    oid = ticket_answer["objects"][0]["oid"]
    for parts in ([{"partNumber": "one", "etag": "x"}], "nope", [7], []):
        response = requests.post(href, json={"oid": oid, "parts": parts}, timeout=30)
        assert response.status_code == 400, (parts, response.text)


# -- data loss ------------------------------------------------------------------------------


def test_deleting_a_repo_mid_commit_keeps_the_committed_blobs(
    hub: LocalHub, hub_tokens: HubTokens, api: HfApi, tmp_path: Path
) -> None:
    """The review's reproduction, made deterministic: the commit's inline file is stored while
    the commit streams in; a repo holding the same bytes is deleted (garbage collection runs)
    before the commit's last line arrives."""
    content = b"shared bytes\n"
    api.create_repo("acme/doomed")
    api.upload_file(path_or_fileobj=content, path_in_repo="a.txt", repo_id="acme/doomed")
    api.create_repo("acme/kept")
    file_sent = threading.Event()
    go_on = threading.Event()

    def body() -> Iterator[bytes]:
        yield json.dumps({"key": "header", "value": {"summary": "add"}}).encode() + b"\n"
        line = {
            "path": "b.txt",
            "encoding": "base64",
            "content": base64.b64encode(content).decode(),
        }
        yield json.dumps({"key": "file", "value": line}).encode() + b"\n"
        file_sent.set()
        assert go_on.wait(30)

    result: dict[str, Any] = {}

    def commit() -> None:
        result["response"] = requests.post(
            f"{hub.url}/api/models/acme/kept/commit/main",
            data=body(),
            headers={"Authorization": f"Bearer {hub_tokens.writer.token}"},
            timeout=60,
        )

    thread = threading.Thread(target=commit)
    thread.start()
    assert file_sent.wait(30)
    # The server has the file line once it asks for more; give it a moment to store it.
    threading.Event().wait(0.5)
    api.delete_repo("acme/doomed")
    go_on.set()
    thread.join(60)
    assert result["response"].status_code == 200, result["response"].text
    path = hf_hub_download(
        "acme/kept", "b.txt", endpoint=hub.url, token=hub_tokens.writer.token, cache_dir=tmp_path
    )
    assert Path(path).read_bytes() == content


def test_concurrent_deletes_lose_no_committed_file(
    hub: LocalHub, hub_tokens: HubTokens, api: HfApi, tmp_path: Path
) -> None:
    """Writers commit (inline and LFS) while others create and delete repos with the same bytes."""
    small = [f"file {i}\n".encode() for i in range(20)]
    large = [bytes([i]) * (1024 * 1024 + 1) for i in range(3)]  # LFS, binary-free but large
    writers = ["acme/w0", "acme/w1", "carol/w2"]
    clients = {
        "acme/w0": api,
        "acme/w1": api,
        "carol/w2": HfApi(endpoint=hub.url, token=hub_tokens.outsider.token),
    }
    for repo_id in writers:
        clients[repo_id].create_repo(repo_id)
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn(worker: int) -> None:
        n = 0
        while not stop.is_set():
            repo_id = f"acme/churn-{worker}-{n}"
            n += 1
            try:
                api.create_repo(repo_id)
                api.create_commit(
                    repo_id,
                    [CommitOperationAdd(f"s{i}.txt", data) for i, data in enumerate(small)]
                    + [CommitOperationAdd(f"l{i}.bin", data) for i, data in enumerate(large)],
                    commit_message="churn",
                )
                api.delete_repo(repo_id)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    def write(repo_id: str) -> None:
        try:
            for round_ in range(4):
                clients[repo_id].create_commit(
                    repo_id,
                    [CommitOperationAdd(f"{round_}/s{i}.txt", d) for i, d in enumerate(small)]
                    + [CommitOperationAdd(f"{round_}/l{i}.bin", d) for i, d in enumerate(large)],
                    commit_message=f"round {round_}",
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    churners = [threading.Thread(target=churn, args=(w,)) for w in range(2)]
    writer_threads = [threading.Thread(target=write, args=(r,)) for r in writers]
    for thread in churners + writer_threads:
        thread.start()
    for thread in writer_threads:
        thread.join(300)
    stop.set()
    for thread in churners:
        thread.join(120)
    assert not errors, errors
    token = hub_tokens.writer.token
    for repo_id in writers:
        for round_ in range(4):
            expected = {f"{round_}/s{i}.txt": d for i, d in enumerate(small)}
            expected |= {f"{round_}/l{i}.bin": d for i, d in enumerate(large)}
            for path_in_repo, data in expected.items():
                response = requests.get(
                    f"{hub.url}/{repo_id}/resolve/main/{path_in_repo}",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                assert response.status_code == 200, (repo_id, path_in_repo, response.text)
                assert response.content == data, (repo_id, path_in_repo)


# -- registry visibility --------------------------------------------------------------------

REGISTRY_WRITER = TokenSpec(token="trust-registry-write", user="acme", role=TokenRole.WRITE)


@pytest.fixture
def registry_hub(tmp_path: Path) -> Iterator[LocalHub]:
    settings = HubSettings(
        data_dir=tmp_path / "registry-hub",
        registries=(
            RegistrySpec(org="acme", name="vault", private=True, tokens=(REGISTRY_WRITER,)),
        ),
    )
    with LocalHub(settings) as running:
        yield running


@pytest.mark.parametrize("body", [{"private": False}, {"visibility": "public"}])
def test_a_private_registrys_package_cannot_be_made_public(
    registry_hub: LocalHub, body: dict[str, Any], tmp_path: Path
) -> None:
    endpoint = f"{registry_hub.url}/acme/vault/huggingface"
    writer = HfApi(endpoint=endpoint, token=REGISTRY_WRITER.token)
    writer.create_repo("acme/pkg", private=False)  # the registry's visibility wins
    writer.upload_file(path_or_fileobj=b"secret", path_in_repo="f.txt", repo_id="acme/pkg")
    with pytest.raises(HfHubHTTPError) as refused:
        writer.update_repo_settings("acme/pkg", private=False)
    assert refused.value.response.status_code == 403
    assert "Registry acme/vault is private and so are all of its repos" in str(refused.value)
    raw = requests.put(
        f"{endpoint}/api/models/acme/pkg/settings",
        json=body,
        headers={"Authorization": f"Bearer {REGISTRY_WRITER.token}"},
        timeout=30,
    )
    assert raw.status_code == 403
    assert writer.repo_info("acme/pkg").private is True
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("acme/pkg", "f.txt", endpoint=endpoint, token=False, cache_dir=tmp_path)
