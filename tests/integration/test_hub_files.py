"""Repos and files through the real huggingface_hub client against the local Hub."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.conftest import HubTokens, hub_stats
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def make_folder(root: Path) -> Path:
    """Small text files, nested folders, a non-ASCII name, a >1 MiB binary (LFS at the test
    Hub's threshold), and a 12 MiB file above the test Hub's multipart threshold."""
    folder = root / "model"
    (folder / "nested" / "deeper").mkdir(parents=True)
    (folder / "config.json").write_text('{"a": 1}\n')
    (folder / "nested" / "notes.md").write_text("# notes\n")
    (folder / "nested" / "deeper" / "données-é.txt").write_text("non-ascii name\n")
    (folder / "weights.bin").write_bytes(os.urandom(2 * MiB))
    (folder / "big.safetensors").write_bytes(os.urandom(12 * MiB))
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and ".cache" not in p.parts
    }


def test_upload_then_snapshot_download_is_byte_identical(
    api: HfApi, hub: LocalHub, tmp_path: Path, hub_tokens: HubTokens, lfs_client: None
) -> None:
    folder = make_folder(tmp_path)
    repo = api.create_repo("acme/roundtrip")
    assert repo.repo_id == "acme/roundtrip"
    assert repo.startswith(hub.url)

    commit = api.upload_folder(repo_id="acme/roundtrip", folder_path=folder)

    assert len(commit.oid) == 40
    assert commit.commit_url.startswith(hub.url)
    stats = hub_stats(hub)["requests"]
    assert stats.get("PUT /_lfs/{ticket}/part/{number}", 0) >= 3  # multipart used
    assert stats.get("PUT /_lfs/{ticket}", 0) >= 1  # basic transfer used

    tree = {e.path: e for e in api.list_repo_tree("acme/roundtrip", recursive=True)}
    assert tree["big.safetensors"].lfs is not None
    assert (
        tree["big.safetensors"].lfs.sha256
        == hashlib.sha256((folder / "big.safetensors").read_bytes()).hexdigest()
    )
    assert tree["config.json"].lfs is None
    assert "nested/deeper" in tree

    target = snapshot_download(
        "acme/roundtrip",
        endpoint=hub.url,
        token=hub_tokens.writer.token,
        cache_dir=tmp_path / "fresh-cache",
    )
    downloaded = files_of(Path(target))
    assert downloaded.pop(".gitattributes")  # the Hub's initial commit holds one
    assert downloaded == files_of(folder)
    assert Path(target).name == commit.oid


def test_unchanged_reupload_makes_no_commit_and_sends_no_lfs_bytes(
    api: HfApi, hub: LocalHub, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path)
    api.create_repo("acme/idempotent")
    first = api.upload_folder(repo_id="acme/idempotent", folder_path=folder)
    commits_before = len(api.list_repo_commits("acme/idempotent"))
    before = hub_stats(hub)

    again = api.upload_folder(repo_id="acme/idempotent", folder_path=folder)

    after = hub_stats(hub)
    assert again.oid == first.oid
    assert len(api.list_repo_commits("acme/idempotent")) == commits_before
    assert after["lfs_upload_bytes"] == before["lfs_upload_bytes"]
    commit_route = "POST /api/{repo_type}/{namespace}/{name}/commit/{revision:path}"
    assert after["requests"].get(commit_route) == before["requests"].get(commit_route)


def test_delete_makes_a_new_commit_and_old_revisions_stay_pinned(
    api: HfApi, hub: LocalHub, tmp_path: Path, hub_tokens: HubTokens
) -> None:
    api.create_repo("acme/history")
    v1 = api.upload_file(
        path_or_fileobj=b"version one", path_in_repo="a.txt", repo_id="acme/history"
    )
    v2 = api.upload_file(
        path_or_fileobj=b"version two", path_in_repo="a.txt", repo_id="acme/history"
    )
    v3 = api.delete_file("a.txt", repo_id="acme/history")

    assert len({v1.oid, v2.oid, v3.oid}) == 3
    titles = [c.title for c in api.list_repo_commits("acme/history")]
    assert titles[0] == "Delete a.txt with huggingface_hub"
    assert "a.txt" not in api.list_repo_files("acme/history")

    old = hf_hub_download(
        "acme/history",
        "a.txt",
        revision=v1.oid,
        endpoint=hub.url,
        token=hub_tokens.writer.token,
        cache_dir=tmp_path / "c",
    )
    assert Path(old).read_bytes() == b"version one"
    assert api.model_info("acme/history", revision=v2.oid).sha == v2.oid


def test_typed_errors_for_missing_repo_revision_and_entry(
    api: HfApi, hub: LocalHub, tmp_path: Path, hub_tokens: HubTokens
) -> None:
    api.create_repo("acme/errors")
    api.upload_file(path_or_fileobj=b"x", path_in_repo="present.txt", repo_id="acme/errors")
    kwargs = {"endpoint": hub.url, "token": hub_tokens.writer.token, "cache_dir": tmp_path / "c"}

    with pytest.raises(RepositoryNotFoundError) as missing_repo:
        api.model_info("acme/does-not-exist")
    assert missing_repo.value.response.status_code == 404
    with pytest.raises(RevisionNotFoundError):
        api.model_info("acme/errors", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("acme/errors", "present.txt", revision="no-such-branch", **kwargs)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("acme/errors", "absent.txt", **kwargs)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("acme/does-not-exist", "present.txt", **kwargs)


def test_private_repo_rules(hub: LocalHub, hub_tokens: HubTokens, tmp_path: Path) -> None:
    alice = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
    bob = HfApi(endpoint=hub.url, token=hub_tokens.reader.token)
    carol = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    anonymous = HfApi(endpoint=hub.url, token=False)
    alice.create_repo("acme/secret-model", private=True)
    alice.upload_file(path_or_fileobj=b"weights", path_in_repo="w.txt", repo_id="acme/secret-model")

    # Those who may not read it are told it does not exist, never that it is forbidden.
    for outsider in (anonymous, carol):
        with pytest.raises(RepositoryNotFoundError):
            outsider.model_info("acme/secret-model")
    assert bob.model_info("acme/secret-model").private is True

    # A read-only token reads but cannot write; nothing is created.
    with pytest.raises(HfHubHTTPError) as refused:
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="acme/secret-model")
    assert refused.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as refused_create:
        carol.create_repo("acme/not-carols")
    assert refused_create.value.response.status_code == 403
    assert alice.list_repo_files("acme/secret-model") == [".gitattributes", "w.txt"]
    with pytest.raises(RepositoryNotFoundError):
        alice.model_info("acme/not-carols")

    # Making it public opens reads to everyone.
    alice.update_repo_settings("acme/secret-model", private=False)
    assert anonymous.model_info("acme/secret-model").private is False


def test_existing_repo_conflict_and_exist_ok(api: HfApi, hub: LocalHub) -> None:
    url = api.create_repo("acme/twice")
    assert api.create_repo("acme/twice", exist_ok=True) == url
    with pytest.raises(HfHubHTTPError) as conflict:
        api.create_repo("acme/twice")
    assert conflict.value.response.status_code == 409
    api.delete_repo("acme/twice")
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo("acme/twice")
    api.delete_repo("acme/twice", missing_ok=True)


def test_data_survives_a_restart(
    hub_settings: HubSettings, hub_tokens: HubTokens, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path)
    with LocalHub(hub_settings) as first:
        api = HfApi(endpoint=first.url, token=hub_tokens.writer.token)
        api.create_repo("acme/durable", private=True)
        commit = api.upload_folder(repo_id="acme/durable", folder_path=folder)
    with LocalHub(hub_settings) as second:
        api = HfApi(endpoint=second.url, token=hub_tokens.writer.token)
        assert api.model_info("acme/durable").sha == commit.oid
        target = snapshot_download(
            "acme/durable",
            endpoint=second.url,
            token=hub_tokens.writer.token,
            cache_dir=tmp_path / "after-restart",
        )
        downloaded = files_of(Path(target))
        downloaded.pop(".gitattributes")
        assert downloaded == files_of(folder)


def test_parallel_commits_lose_nothing(api: HfApi) -> None:
    api.create_repo("acme/parallel")
    errors: list[BaseException] = []

    def commit(i: int) -> None:
        try:
            api.create_commit(
                "acme/parallel",
                [CommitOperationAdd(path_in_repo=f"file-{i}.txt", path_or_fileobj=f"{i}".encode())],
                commit_message=f"add {i}",
            )
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    files = set(api.list_repo_files("acme/parallel"))
    assert {f"file-{i}.txt" for i in range(16)} <= files
    assert len(api.list_repo_commits("acme/parallel")) == 17  # 16 + the initial commit


def test_stale_parent_commit_is_refused(api: HfApi) -> None:
    api.create_repo("acme/stale")
    base = api.model_info("acme/stale").sha
    api.upload_file(path_or_fileobj=b"first", path_in_repo="a.txt", repo_id="acme/stale")
    head = api.model_info("acme/stale").sha

    with pytest.raises(HfHubHTTPError) as refused:
        api.create_commit(
            "acme/stale",
            [CommitOperationDelete(path_in_repo="a.txt")],
            commit_message="based on an old head",
            parent_commit=base,
        )
    assert refused.value.response.status_code == 412
    assert api.model_info("acme/stale").sha == head
    assert "a.txt" in api.list_repo_files("acme/stale")


def test_branches_tags_refs_and_paginated_tree(api: HfApi, hub_settings: HubSettings) -> None:
    api.create_repo("acme/refs")
    many = [
        CommitOperationAdd(path_in_repo=f"dir/f{i:04d}.txt", path_or_fileobj=b"x")
        for i in range(hub_settings.tree_page_size + 5)
    ]
    commit = api.create_commit("acme/refs", many, commit_message="many files")
    api.create_branch("acme/refs", branch="dev")
    api.create_tag("acme/refs", tag="v1.0", revision=commit.oid)

    refs = api.list_repo_refs("acme/refs")
    assert {b.name for b in refs.branches} == {"main", "dev"}
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0", commit.oid)]
    assert api.model_info("acme/refs", revision="v1.0").sha == commit.oid
    tree = list(api.list_repo_tree("acme/refs", path_in_repo="dir", revision="dev"))
    assert len(tree) == hub_settings.tree_page_size + 5  # followed the Link header

    api.delete_tag("acme/refs", tag="v1.0")
    api.delete_branch("acme/refs", branch="dev")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("acme/refs", revision="dev")


def test_datasets_and_spaces_repo_types(api: HfApi, hub: LocalHub, tmp_path: Path) -> None:
    api.create_repo("acme/data", repo_type="dataset")
    api.upload_file(
        path_or_fileobj=os.urandom(2 * MiB),
        path_in_repo="train.bin",
        repo_id="acme/data",
        repo_type="dataset",
    )
    api.create_repo("acme/app", repo_type="space", space_sdk="docker")
    api.upload_file(
        path_or_fileobj=b"FROM scratch\n",
        path_in_repo="Dockerfile",
        repo_id="acme/app",
        repo_type="space",
    )
    assert "train.bin" in api.list_repo_files("acme/data", repo_type="dataset")
    assert "Dockerfile" in api.list_repo_files("acme/app", repo_type="space")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/data")  # a dataset is not a model
