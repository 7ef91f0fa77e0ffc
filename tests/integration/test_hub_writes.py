"""Write side of the local Hub through the real client: pull request refs, card validation,
preupload rules, folder deletes, copies, history squash and LFS storage clean-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
)
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RevisionNotFoundError

from tests.conftest import HubTokens
from zenml_hf_registry.hub import LocalHub

pytestmark = pytest.mark.integration


def add(path: str, content: bytes) -> CommitOperationAdd:
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)


@pytest.fixture
def repo_id(api: HfApi) -> str:
    return api.create_repo("acme/writes").repo_id


def test_create_pr_opens_the_next_pull_request_ref(api: HfApi, repo_id: str) -> None:
    main_head = api.model_info(repo_id).sha

    first = api.create_commit(
        repo_id, [add("on-pr.txt", b"pr")], commit_message="one", create_pr=True
    )
    second = api.upload_file(
        path_or_fileobj=b"other", path_in_repo="other.txt", repo_id=repo_id, create_pr=True
    )

    assert first.pr_url == f"{api.endpoint}/{repo_id}/discussions/1"
    assert (first.pr_num, first.pr_revision) == (1, "refs/pr/1")
    assert second.pr_num == 2
    assert api.model_info(repo_id).sha == main_head  # main is untouched
    assert not api.file_exists(repo_id, "on-pr.txt")
    assert api.file_exists(repo_id, "on-pr.txt", revision="refs/pr/1")
    assert not api.file_exists(repo_id, "other.txt", revision="refs/pr/1")
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [(r.ref, r.target_commit) for r in refs.pull_requests or []] == [
        ("refs/pr/1", first.oid),
        ("refs/pr/2", second.oid),
    ]
    assert api.list_repo_refs(repo_id).pull_requests is None


def test_commits_to_a_pull_request_ref_append_to_it(api: HfApi, repo_id: str) -> None:
    opened = api.create_commit(repo_id, [add("a.txt", b"a")], commit_message="open", create_pr=True)

    more = api.create_commit(
        repo_id, [add("b.txt", b"b")], commit_message="more", revision="refs/pr/1"
    )

    commits = api.list_repo_commits(repo_id, revision="refs/pr/1")
    assert [c.commit_id for c in commits[:2]] == [more.oid, opened.oid]
    assert more.pr_url is None
    assert api.model_info(repo_id, revision="refs/pr/1").sha == more.oid
    assert {f.path for f in api.list_repo_tree(repo_id, revision="refs/pr/1")} >= {"a.txt", "b.txt"}
    assert api.hf_hub_download(repo_id, "b.txt", revision="refs/pr/1")


def test_a_pull_request_is_opened_against_a_branch_only(api: HfApi, repo_id: str) -> None:
    head = api.model_info(repo_id).sha or ""
    for revision in (head, "missing-branch"):
        with pytest.raises(RevisionNotFoundError):
            api.create_commit(
                repo_id, [add("x.txt", b"x")], commit_message="x", revision=revision, create_pr=True
            )
    assert api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests == []


def test_a_stale_parent_commit_is_refused_with_the_hubs_words(api: HfApi, repo_id: str) -> None:
    parent = api.model_info(repo_id).sha
    api.upload_file(path_or_fileobj=b"new", path_in_repo="new.txt", repo_id=repo_id)

    with pytest.raises(HfHubHTTPError) as caught:
        api.create_commit(
            repo_id, [add("late.txt", b"late")], commit_message="late", parent_commit=parent
        )

    assert caught.value.response.status_code == 412
    assert "The branch was updated since you opened this page" in str(caught.value)
    assert not api.file_exists(repo_id, "late.txt")


def test_invalid_card_metadata_is_refused_before_anything_is_uploaded(
    api: HfApi, repo_id: str
) -> None:
    head = api.model_info(repo_id).sha
    card = b"---\nmodel-index: foo\n---\n\nA card.\n"

    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md") as caught:
        api.create_commit(repo_id, [add("README.md", card)], commit_message="card")

    assert "model-index" in str(caught.value)
    assert api.model_info(repo_id).sha == head


def test_a_card_without_metadata_is_accepted_with_a_warning(api: HfApi, repo_id: str) -> None:
    with pytest.warns(UserWarning, match="Empty or missing yaml metadata"):
        api.create_commit(repo_id, [add("README.md", b"# Just text\n")], commit_message="card")
    assert api.file_exists(repo_id, "README.md")


def test_broken_space_yaml_is_refused(api: HfApi) -> None:
    api.create_repo("acme/space", repo_type="space", space_sdk="docker")
    with pytest.raises(ValueError, match="Invalid YAML"):
        api.create_commit(
            "acme/space",
            [add("README.md", b"---\nsdk: docker\napp_port: [1\n---\n")],
            commit_message="card",
            repo_type="space",
        )


def test_preupload_follows_the_repos_gitattributes(api: HfApi, repo_id: str) -> None:
    api.upload_file(
        path_or_fileobj=b"*.png filter=lfs diff=lfs merge=lfs -text\n",
        path_in_repo=".gitattributes",
        repo_id=repo_id,
    )
    api.create_commit(
        repo_id,
        [add("image.png", b"small text"), add("notes.txt", b"small text")],
        commit_message="files",
    )

    siblings = {s.rfilename: s for s in api.model_info(repo_id, files_metadata=True).siblings or []}
    assert siblings["image.png"].lfs is not None
    assert siblings["notes.txt"].lfs is None


@pytest.mark.parametrize("where", ["repo", "commit"])
def test_gitignored_files_are_not_committed(
    api: HfApi, repo_id: str, tmp_path: Path, where: str
) -> None:
    folder = tmp_path / "folder"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "skip.bin").write_bytes(b"\0" * 10)
    (folder / "keep.txt").write_text("keep")
    if where == "repo":
        api.upload_file(path_or_fileobj=b"nested/*\n", path_in_repo=".gitignore", repo_id=repo_id)
    else:
        (folder / ".gitignore").write_text("nested/*\n")

    api.upload_folder(folder_path=folder, repo_id=repo_id)

    files = set(api.list_repo_files(repo_id))
    assert "keep.txt" in files
    assert "nested/skip.bin" not in files


@pytest.mark.parametrize("path", ["1/", "1"])
def test_deleting_a_folder_with_or_without_its_slash(api: HfApi, repo_id: str, path: str) -> None:
    api.create_commit(
        repo_id,
        [add("1/a.md", b"a"), add("1/b.md", b"b"), add("2/c.md", b"c")],
        commit_message="init",
    )

    api.create_commit(repo_id, [CommitOperationDelete(path)], commit_message="delete")

    assert set(api.list_repo_files(repo_id)) == {".gitattributes", "2/c.md"}
    with pytest.raises(EntryNotFoundError):
        api.create_commit(repo_id, [CommitOperationDelete("missing")], commit_message="x")


def test_copies_reuse_content_and_report_last_commits(api: HfApi, repo_id: str) -> None:
    api.create_commit(
        repo_id, [add("file.txt", b"text"), add("model.bin", b"weights")], commit_message="init"
    )
    api.create_commit(
        repo_id,
        [
            CommitOperationCopy(src_path_in_repo="file.txt", path_in_repo="copy.txt"),
            CommitOperationCopy(src_path_in_repo="model.bin", path_in_repo="copy.bin"),
        ],
        commit_message="copies",
    )

    info = {
        i.path: i
        for i in api.get_paths_info(
            repo_id, ["file.txt", "copy.txt", "copy.bin", "missing"], expand=True
        )
    }
    assert set(info) == {"file.txt", "copy.txt", "copy.bin"}
    assert info["file.txt"].last_commit.title == "init"  # type: ignore[union-attr]
    assert info["copy.txt"].last_commit.title == "copies"  # type: ignore[union-attr]
    assert info["copy.bin"].lfs is not None  # type: ignore[union-attr]
    assert api.hf_hub_download(repo_id, "copy.bin")


def test_super_squash_keeps_the_tree_and_other_branches(api: HfApi, repo_id: str) -> None:
    for content in (b"1", b"2", b"3"):
        api.upload_file(path_or_fileobj=content, path_in_repo="f.txt", repo_id=repo_id)
    api.create_branch(repo_id, branch="keep")
    files = set(api.list_repo_files(repo_id))

    api.super_squash_history(repo_id=repo_id)

    commits = api.list_repo_commits(repo_id)
    assert [c.title for c in commits] == ["Super-squash branch 'main' using huggingface_hub"]
    assert set(api.list_repo_files(repo_id)) == files
    assert len(api.list_repo_commits(repo_id, revision="keep")) == 4
    api.create_tag(repo_id, tag="v1")
    with pytest.raises(HfHubHTTPError) as caught:
        api.super_squash_history(repo_id=repo_id, branch="v1")
    assert caught.value.response.status_code == 400


def test_permanently_deleted_lfs_files_leave_the_repo(api: HfApi, repo_id: str) -> None:
    api.upload_file(path_or_fileobj=b"lfs main", path_in_repo="main.bin", repo_id=repo_id)
    api.create_branch(repo_id, branch="side")
    api.upload_file(
        path_or_fileobj=b"lfs side", path_in_repo="side.bin", repo_id=repo_id, revision="side"
    )

    listed = {f.filename: f for f in api.list_lfs_files(repo_id)}
    assert set(listed) == {"main.bin", "side.bin"}
    assert (listed["main.bin"].ref, listed["side.bin"].ref) == ("main", "side")

    api.permanently_delete_lfs_files(repo_id, [listed["main.bin"]])

    assert [f.filename for f in api.list_lfs_files(repo_id)] == ["side.bin"]
    assert "main.bin" not in api.list_repo_files(repo_id)
    assert api.file_exists(repo_id, "side.bin", revision="side")


def test_an_escaping_path_is_unprocessable(api: HfApi, repo_id: str) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="..\\evil", repo_id=repo_id)
    assert caught.value.response.status_code == 422


def test_anyone_with_a_write_token_may_open_a_pull_request(
    api: HfApi, repo_id: str, hub: LocalHub, hub_tokens: HubTokens
) -> None:
    outsider = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    reader = HfApi(endpoint=hub.url, token=hub_tokens.reader.token)

    def files() -> list[CommitOperationAdd]:
        return [add("regular.txt", b"text"), add("weights.bin", b"\0weights")]

    opened = outsider.create_commit(repo_id, files(), commit_message="proposal", create_pr=True)

    assert opened.pr_revision == "refs/pr/1"
    assert api.file_exists(repo_id, "weights.bin", revision="refs/pr/1")
    with pytest.raises(HfHubHTTPError) as caught:
        outsider.create_commit(repo_id, files(), commit_message="direct")
    assert caught.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as caught:
        reader.create_commit(repo_id, files(), commit_message="proposal", create_pr=True)
    assert caught.value.response.status_code == 403
    assert not api.file_exists(repo_id, "weights.bin")


def test_a_path_cannot_be_a_file_and_a_folder_at_once(api: HfApi, repo_id: str) -> None:
    api.create_commit(repo_id, [add("a/b/c.txt", b"1"), add("x.txt", b"2")], commit_message="1")
    for clash, why in (("a/b", "is a folder"), ("x.txt/inner.txt", "would be inside 'x.txt'")):
        with pytest.raises(HfHubHTTPError, match=why):
            api.create_commit(repo_id, [add(clash, b"3")], commit_message="clash")
    # The same rule inside one commit, and replacing a file leaves the folder as it was.
    with pytest.raises(HfHubHTTPError, match="would be inside 'n'"):
        api.create_commit(repo_id, [add("n", b"4"), add("n/m.txt", b"5")], commit_message="c")
    api.create_commit(repo_id, [add("a/b/c.txt", b"6")], commit_message="replace")
    # Emptied folders stop being folders: their name can then hold a file, in the same commit.
    api.create_commit(
        repo_id,
        [CommitOperationDelete("a/b/c.txt"), add("a/b", b"now a file")],
        commit_message="folder becomes a file",
    )
    api.create_commit(
        repo_id,
        [CommitOperationDelete("a/"), add("a", b"a file too")],
        commit_message="and its parent",
    )
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "a", "x.txt"]
