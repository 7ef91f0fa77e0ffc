"""Xet against the local Hub's main realm: the real huggingface_hub + hf_xet, default config."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import (
    HfApi,
    RepoFile,
    constants,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import HfHubHTTPError

from tests.conftest import HubTokens, hub_stats
from zenml_hf_registry.hub import LocalHub

pytestmark = pytest.mark.integration

HF = Path(sys.executable).with_name("hf")
BIG = 11 * 1024 * 1024  # LFS-sized: over 10 MB


@pytest.fixture(autouse=True)
def _xet_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the Xet path: on, whatever the run's environment says."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)


def _folder(root: Path, big: int = BIG) -> Path:
    folder = root / "src"
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text("# tiny\n")
    (folder / "sub" / "config.json").write_text('{"a": 1}\n')
    (folder / "model.bin").write_bytes(os.urandom(big))
    return folder


def _xet_requests(hub: LocalHub, route: str) -> int:
    return int(hub_stats(hub)["requests"].get(route, 0))


def test_default_client_round_trip_is_byte_exact(hub: LocalHub, api: HfApi, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    api.create_repo("acme/xet-model")
    api.upload_folder(repo_id="acme/xet-model", folder_path=folder)
    assert _xet_requests(hub, "POST /_xet/v1/xorbs/{prefix}/{xorb}") >= 1
    assert _xet_requests(hub, "POST /_xet/v1/shards") >= 1
    info = api.model_info("acme/xet-model", files_metadata=True)
    (big,) = [s for s in info.siblings or [] if s.rfilename == "model.bin"]
    assert big.lfs is not None
    assert big.lfs.sha256 == hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()

    out = snapshot_download(
        "acme/xet-model", endpoint=hub.url, token=api.token, local_dir=tmp_path / "out"
    )
    for path in ("README.md", "sub/config.json", "model.bin"):
        assert (Path(out) / path).read_bytes() == (folder / path).read_bytes(), path
    # The big file came through the CAS (reconstruction + presigned xorb ranges).
    assert _xet_requests(hub, "GET /_xet/fetch/{xorb}") >= 1


def test_plain_resolve_serves_a_xet_file_with_ranges(
    hub: LocalHub, api: HfApi, tmp_path: Path, hub_tokens: HubTokens
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    api.create_repo("acme/ranged")
    api.upload_file(repo_id="acme/ranged", path_or_fileobj=data, path_in_repo="w.bin")
    url = f"{hub.url}/acme/ranged/resolve/main/w.bin"
    auth = {"Authorization": f"Bearer {hub_tokens.reader.token}"}
    head = httpx2.head(url, headers=auth)
    assert head.headers["x-xet-hash"]
    assert head.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert 'rel="xet-auth"' in head.headers["link"]
    whole = httpx2.get(url, headers=auth, timeout=60)
    assert whole.status_code == 200
    assert whole.content == data
    for first, last in ((0, 0), (65530, 200000), (len(data) - 10, len(data) - 1)):
        part = httpx2.get(url, headers={**auth, "Range": f"bytes={first}-{last}"})
        assert part.status_code == 206
        assert part.content == data[first : last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"
    tail = httpx2.get(url, headers={**auth, "Range": "bytes=-5"})
    assert tail.content == data[-5:]
    beyond = httpx2.get(url, headers={**auth, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416


def test_an_lfs_uploaded_file_downloads_with_a_default_client(
    hub: LocalHub, api: HfApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(BIG)
    api.create_repo("acme/lfs-first")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    api.upload_file(repo_id="acme/lfs-first", path_or_fileobj=data, path_in_repo="w.bin")
    assert _xet_requests(hub, "POST /_xet/v1/shards") == 0
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    path = hf_hub_download(
        "acme/lfs-first", "w.bin", endpoint=hub.url, token=api.token, cache_dir=tmp_path / "c"
    )
    assert Path(path).read_bytes() == data


def test_tree_listings_name_the_xet_hash_of_xet_backed_files(
    hub: LocalHub, api: HfApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.create_repo("acme/listed")
    api.upload_file(repo_id="acme/listed", path_or_fileobj=os.urandom(BIG), path_in_repo="x.bin")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    api.upload_file(repo_id="acme/listed", path_or_fileobj=os.urandom(BIG), path_in_repo="l.bin")
    api.upload_file(repo_id="acme/listed", path_or_fileobj=b"tiny", path_in_repo="s.txt")
    url = hf_hub_url("acme/listed", "x.bin", endpoint=hub.url)
    xet_file = api.get_hf_file_metadata(url=url).xet_file_data
    assert xet_file is not None

    tree = {f.path: f for f in api.list_repo_tree("acme/listed") if isinstance(f, RepoFile)}
    infos = {
        f.path: f
        for f in api.get_paths_info("acme/listed", ["x.bin", "l.bin", "s.txt"])
        if isinstance(f, RepoFile)
    }
    for listing in (tree, infos):
        assert listing["x.bin"].xet_hash == xet_file.file_hash
        assert listing["l.bin"].xet_hash is None  # uploaded over LFS: not stored as Xet
        assert listing["s.txt"].xet_hash is None


def test_hf_cli_round_trip_without_any_xet_setting(
    hub: LocalHub, api: HfApi, tmp_path: Path, hub_tokens: HubTokens
) -> None:
    folder = _folder(tmp_path, big=2 * 1024 * 1024)
    api.create_repo("acme/cli-xet")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_XET", "HF_TOKEN")}
    env.update(HF_ENDPOINT=hub.url, HF_TOKEN=hub_tokens.writer.token, HF_HOME=str(tmp_path / "hf"))
    subprocess.run(
        [str(HF), "upload", "acme/cli-xet", str(folder), "."],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert _xet_requests(hub, "POST /_xet/v1/shards") >= 1
    subprocess.run(
        [str(HF), "download", "acme/cli-xet", "--local-dir", str(tmp_path / "copy")],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    for path in ("README.md", "sub/config.json", "model.bin"):
        assert (tmp_path / "copy" / path).read_bytes() == (folder / path).read_bytes()


def test_reupload_after_a_small_change_sends_little(
    hub: LocalHub, api: HfApi, tmp_path: Path
) -> None:
    data = bytearray(os.urandom(16 * 1024 * 1024))
    api.create_repo("acme/dedup")
    api.upload_file(repo_id="acme/dedup", path_or_fileobj=bytes(data), path_in_repo="w.bin")
    route = "POST /_xet/v1/xorbs/{prefix}/{xorb}"
    first = int(hub_stats(hub)["request_bytes"].get(route, 0))
    assert first >= len(data)
    data[8 * 1024 * 1024 : 8 * 1024 * 1024 + 4096] = os.urandom(4096)
    api.upload_file(repo_id="acme/dedup", path_or_fileobj=bytes(data), path_in_repo="w.bin")
    second = int(hub_stats(hub)["request_bytes"].get(route, 0)) - first
    assert second < len(data) // 20  # a few chunks, not the file
    path = hf_hub_download(
        "acme/dedup", "w.bin", endpoint=hub.url, token=api.token, cache_dir=tmp_path / "c"
    )
    assert Path(path).read_bytes() == bytes(data)


def test_a_client_with_an_empty_cache_dedups_against_what_the_hub_holds(
    hub: LocalHub, api: HfApi, tmp_path: Path, hub_tokens: HubTokens
) -> None:
    # Three xorbs (hf_xet cuts them at 64 MiB): one known chunk must lead to all of them.
    data = bytearray(os.urandom(136 * 1024 * 1024))
    api.create_repo("acme/global-dedup")
    api.upload_file(repo_id="acme/global-dedup", path_or_fileobj=bytes(data), path_in_repo="w.bin")
    xorbs, queries = "POST /_xet/v1/xorbs/{prefix}/{xorb}", "GET /_xet/v1/chunks/{prefix}/{chunk}"
    first = int(hub_stats(hub)["request_bytes"].get(xorbs, 0))
    data[100 * 1024 * 1024 : 100 * 1024 * 1024 + 4096] = os.urandom(4096)
    changed = tmp_path / "w.bin"
    changed.write_bytes(bytes(data))
    # Another machine: a fresh HF_HOME, so only the Hub's global de-duplication can help.
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_XET", "HF_TOKEN")}
    env.update(HF_ENDPOINT=hub.url, HF_TOKEN=hub_tokens.writer.token, HF_HOME=str(tmp_path / "h"))
    subprocess.run(
        [str(HF), "upload", "acme/global-dedup", str(changed), "w.bin"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert _xet_requests(hub, queries) >= 1
    assert int(hub_stats(hub)["request_bytes"].get(xorbs, 0)) - first < len(data) // 20
    path = hf_hub_download(
        "acme/global-dedup", "w.bin", endpoint=hub.url, token=api.token, cache_dir=tmp_path / "c"
    )
    assert Path(path).read_bytes() == bytes(data)


def test_upload_folder_with_create_pr_opens_a_pull_request_that_its_author_fills(
    hub: LocalHub,
    api: HfApi,
    tmp_path: Path,
    hub_tokens: HubTokens,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Xet upload pipeline opens the pull request first (`create_pull_request`), then
    # commits to its ref: here by a user with no write access to the repo.
    api.create_repo("acme/proposals")
    api.upload_file(repo_id="acme/proposals", path_or_fileobj=b"v1", path_in_repo="a.txt")
    carol = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    folder = _folder(tmp_path, big=2 * 1024 * 1024)
    info = carol.upload_folder(repo_id="acme/proposals", folder_path=folder, create_pr=True)
    assert info.pr_num == 1
    assert info.pr_revision == "refs/pr/1"
    details = api.get_discussion_details("acme/proposals", 1)
    assert (details.is_pull_request, details.author, details.target_branch) == (
        True,
        "carol",
        "refs/heads/main",
    )
    assert sorted(api.list_repo_files("acme/proposals", revision="refs/pr/1")) == [
        ".gitattributes",
        "README.md",
        "a.txt",
        "model.bin",
        "sub/config.json",
    ]
    assert "model.bin" not in api.list_repo_files("acme/proposals")  # main is unchanged
    path = hf_hub_download(
        "acme/proposals", "model.bin", revision="refs/pr/1", endpoint=hub.url, token=api.token
    )
    assert Path(path).read_bytes() == (folder / "model.bin").read_bytes()
    # Only the pull request's author may push to it; nobody opens one with a read token.
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=hub.url, token=hub_tokens.reader.token).create_pull_request(
            "acme/proposals", title="no"
        )
    assert refused.value.response.status_code == 403
    carol.create_repo("carol/mine")
    opened = api.create_pull_request("carol/mine", title="from alice")
    api.upload_file(
        repo_id="carol/mine", path_or_fileobj=b"x", path_in_repo="x", revision="refs/pr/1"
    )
    assert opened.git_reference == "refs/pr/1"
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # and over LFS (a ref'd batch)
    big = os.urandom(2 * 1024 * 1024)
    api.upload_file(
        repo_id="carol/mine", path_or_fileobj=big, path_in_repo="big.bin", revision="refs/pr/1"
    )
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    assert carol.list_repo_files("carol/mine", revision="refs/pr/1") == [
        ".gitattributes",
        "big.bin",
        "x",
    ]
    with pytest.raises(HfHubHTTPError) as refused:  # alice's pull request, not carol's main
        api.upload_file(repo_id="carol/mine", path_or_fileobj=b"x", path_in_repo="x")
    assert refused.value.response.status_code == 403


def _token(hub: LocalHub, token: str, repo: str, kind: str) -> dict[str, str]:
    response = httpx2.get(
        f"{hub.url}/api/models/{repo}/xet-{kind}-token/main",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    assert response.headers["x-xet-access-token"] == body["accessToken"]
    assert response.headers["x-xet-cas-url"] == body["casUrl"]
    return body


def test_xet_tokens_are_scoped_to_one_repo_and_one_access(
    hub: LocalHub, api: HfApi, hub_tokens: HubTokens
) -> None:
    api.create_repo("acme/secret", private=True)
    # Under the LFS threshold, a file is LFS (so Xet) when its sample holds a NUL byte: one in
    # seven runs of 512 random bytes holds none, so the NUL is put there.
    data = b"\0" + os.urandom(69999)
    api.upload_file(repo_id="acme/secret", path_or_fileobj=data, path_in_repo="s")
    head = httpx2.head(
        f"{hub.url}/acme/secret/resolve/main/s",
        headers={"Authorization": f"Bearer {hub_tokens.writer.token}"},
    )
    file_id = head.headers["x-xet-hash"]
    outsider = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    outsider.create_repo("carol/mine")
    theirs = _token(hub, hub_tokens.outsider.token, "carol/mine", "write")
    cas, auth = theirs["casUrl"], {"Authorization": f"Bearer {theirs['accessToken']}"}
    # Another repo's token cannot learn about or read the file, even knowing its hash.
    assert httpx2.get(f"{cas}/v1/reconstructions/{file_id}", headers=auth).status_code == 404
    assert httpx2.head(f"{cas}/v1/files/{file_id}", headers=auth).status_code == 404
    # The outsider cannot get a token for the private repo at all.
    denied = httpx2.get(
        f"{hub.url}/api/models/acme/secret/xet-read-token/main",
        headers={"Authorization": f"Bearer {hub_tokens.outsider.token}"},
    )
    assert denied.status_code in (401, 404)
    # A reader gets a read token, which cannot write.
    mine = _token(hub, hub_tokens.reader.token, "acme/secret", "read")
    read_auth = {"Authorization": f"Bearer {mine['accessToken']}"}
    assert httpx2.get(f"{cas}/v1/reconstructions/{file_id}", headers=read_auth).status_code == 200
    assert httpx2.post(f"{cas}/v1/shards", headers=read_auth, content=b"x").status_code == 403
    assert httpx2.get(f"{cas}/v1/reconstructions/{file_id}").status_code == 401
    writer = httpx2.get(
        f"{hub.url}/api/models/acme/secret/xet-write-token/main",
        headers={"Authorization": f"Bearer {hub_tokens.reader.token}"},
    )
    assert writer.status_code == 403


def test_hostile_cas_bodies_get_400s(hub: LocalHub, api: HfApi) -> None:
    api.create_repo("acme/hostile")
    grant = _token(hub, api.token or "", "acme/hostile", "write")
    cas, auth = grant["casUrl"], {"Authorization": f"Bearer {grant['accessToken']}"}
    fake = "ab" * 32
    for body in (b"", b"garbage", bytes(8) + b"x" * 100):
        answer = httpx2.post(f"{cas}/v1/xorbs/default/{fake}", headers=auth, content=body)
        assert answer.status_code == 400, answer.text
    payload = b"\x00" + (5).to_bytes(3, "little") + b"\x00" + (5).to_bytes(3, "little") + b"hello"
    mismatch = httpx2.post(f"{cas}/v1/xorbs/default/{fake}", headers=auth, content=payload)
    assert mismatch.status_code == 400
    assert "do not hash to the xorb hash" in mismatch.json()["error"]
    assert httpx2.post(f"{cas}/v1/xorbs/default/nothex", headers=auth).status_code == 400
    for body in (b"", b"\x00" * 48, os.urandom(4096)):
        answer = httpx2.post(f"{cas}/v1/shards", headers=auth, content=body)
        assert answer.status_code == 400, answer.text
    assert httpx2.get(f"{cas}/v1/chunks/default-merkledb/{fake}", headers=auth).status_code == 404
    forged = httpx2.get(f"{cas}/fetch/{fake}?range=0-10&expires=9999999999&sig=00")
    assert forged.status_code == 403


def test_registry_realms_keep_refusing_xet(hub: LocalHub, hub_tokens: HubTokens) -> None:
    base = f"{hub.url}/acme/models/huggingface"
    HfApi(endpoint=base, token=hub_tokens.writer.token).create_repo("acme/reg")
    answer = httpx2.get(
        f"{base}/api/models/acme/reg/xet-write-token/main",
        headers={"Authorization": f"Bearer {hub_tokens.writer.token}"},
    )
    assert answer.status_code == 501
    assert "HF_HUB_DISABLE_XET=1" in answer.json()["error"]
    info = httpx2.get(
        f"{base}/api/models/acme/reg",
        headers={"Authorization": f"Bearer {hub_tokens.writer.token}"},
    ).json()
    assert info["xetEnabled"] is False
