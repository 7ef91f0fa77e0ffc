"""The read side and repo management of the local Hub, through the real huggingface_hub client.

Paths info, expanded trees, downloads to a local dir, namespace-less ids, auth checks, gating,
repo moves, ref rules and commit listings: each judged by the typed result or exception the
client gives, as against huggingface.co.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    RepoFile,
    RepoFolder,
    hf_hub_download,
)
from huggingface_hub.errors import (
    BadRequestError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.conftest import HubTokens
from zenml_hf_registry.hub import LocalHub

pytestmark = pytest.mark.integration


def _commit(api: HfApi, repo_id: str, files: dict[str, bytes], message: str) -> str:
    operations = [CommitOperationAdd(path, data) for path, data in files.items()]
    return api.create_commit(repo_id, operations, commit_message=message).oid


def test_paths_info_answers_files_and_folders_and_leaves_out_missing_paths(api: HfApi) -> None:
    api.create_repo("acme/paths")
    first = _commit(api, "acme/paths", {"data/a.txt": b"a", "data/sub/b.txt": b"b"}, "data")
    second = _commit(api, "acme/paths", {"top.txt": b"top"}, "top")

    items = api.get_paths_info("acme/paths", ["top.txt", "data", "missing.txt"], expand=True)

    assert [type(item) for item in items] == [RepoFile, RepoFolder]
    top, folder = items
    assert isinstance(top, RepoFile)
    assert isinstance(folder, RepoFolder)
    assert (top.path, top.size) == ("top.txt", 3)
    assert folder.path == "data"
    # The last commit is the one that changed the path, not the head.
    assert top.last_commit is not None
    assert top.last_commit.oid == second
    assert folder.last_commit is not None
    assert folder.last_commit.oid == first
    assert folder.last_commit.title == "data"
    # Without expand, no commit information.
    (plain,) = api.get_paths_info("acme/paths", "top.txt")
    assert isinstance(plain, RepoFile)
    assert plain.last_commit is None


def test_paths_info_takes_a_json_body_and_a_revision(api: HfApi, hub: LocalHub) -> None:
    api.create_repo("acme/paths-json")
    api.create_branch("acme/paths-json", branch="dev")
    api.upload_file(
        path_or_fileobj=b"x", path_in_repo="dev.txt", repo_id="acme/paths-json", revision="dev"
    )
    request = urllib.request.Request(
        f"{hub.url}/api/models/acme/paths-json/paths-info/dev",
        data=b'{"paths": ["dev.txt"]}',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api.token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        body = reply.read()
    assert b'"path":"dev.txt"' in body
    assert api.get_paths_info("acme/paths-json", ["dev.txt"]) == []  # not on main


def test_list_repo_tree_expand_gives_each_entry_its_last_commit(api: HfApi) -> None:
    api.create_repo("acme/tree-expand")
    first = _commit(api, "acme/tree-expand", {"a/x.txt": b"x"}, "add a")
    second = _commit(api, "acme/tree-expand", {"b.txt": b"b"}, "add b")

    entries = {e.path: e for e in api.list_repo_tree("acme/tree-expand", expand=True)}

    assert entries["a"].last_commit is not None
    assert entries["a"].last_commit.oid == first
    assert entries["b.txt"].last_commit is not None
    assert entries["b.txt"].last_commit.oid == second


def test_download_to_local_dir_uses_paths_info(api: HfApi, tmp_path: Path) -> None:
    api.create_repo("acme/local-dir")
    api.upload_file(path_or_fileobj=b"content", path_in_repo="file.txt", repo_id="acme/local-dir")

    path = api.hf_hub_download("acme/local-dir", "file.txt", local_dir=tmp_path / "out")

    assert Path(path).read_bytes() == b"content"
    assert Path(path) == tmp_path / "out" / "file.txt"


def test_odd_file_names_round_trip(api: HfApi, tmp_path: Path) -> None:
    api.create_repo("acme/awful")
    name = "sub folder/to?/awful?filename%you:should,never.give #1"
    api.upload_file(path_or_fileobj=b"odd", path_in_repo=name, repo_id="acme/awful")

    path = api.hf_hub_download("acme/awful", name, cache_dir=tmp_path)

    assert path.endswith(name)
    assert Path(path).read_bytes() == b"odd"
    assert [i.path for i in api.get_paths_info("acme/awful", [name])] == [name]
    assert [e.path for e in api.list_repo_tree("acme/awful", path_in_repo="sub folder/to?")] == [
        name
    ]


def test_ids_without_a_namespace_are_typed_not_found(api: HfApi, tmp_path: Path) -> None:
    assert not api.repo_exists("repo-that-does-not-exist")
    assert not api.revision_exists("repo-that-does-not-exist", "main")
    assert not api.file_exists("repo-that-does-not-exist", "file.txt")
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_commits("missing_repo_id")
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_refs("gpt2", repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("gpt2", "config.json", endpoint=api.endpoint, cache_dir=tmp_path)


def test_revisions_resolve_by_short_sha_and_full_ref_name(api: HfApi) -> None:
    api.create_repo("acme/revs")
    oid = _commit(api, "acme/revs", {"a.txt": b"a"}, "a")
    _commit(api, "acme/revs", {"b.txt": b"b"}, "b")

    assert api.model_info("acme/revs", revision=oid[:7]).sha == oid
    assert api.revision_exists("acme/revs", "refs/heads/main")
    assert not api.revision_exists("acme/revs", "revision-that-does-not-exist")
    api.create_tag("acme/revs", tag="v1", revision=oid[:10])
    assert api.model_info("acme/revs", revision="v1").sha == oid


def test_auth_check_follows_visibility_and_gating(
    api: HfApi, hub: LocalHub, hub_tokens: HubTokens, tmp_path: Path
) -> None:
    outsider = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    anonymous = HfApi(endpoint=hub.url, token=False)
    api.create_repo("acme/gated", repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"secret",
        path_in_repo="data.txt",
        repo_id="acme/gated",
        repo_type="dataset",
    )
    api.auth_check("acme/gated", repo_type="dataset")
    outsider.auth_check("acme/gated", repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check("acme/missing")

    api.update_repo_settings("acme/gated", repo_type="dataset", gated="manual")

    assert api.dataset_info("acme/gated").gated == "manual"
    assert outsider.repo_exists("acme/gated", repo_type="dataset")  # listed, not downloadable
    assert [f.path for f in outsider.list_repo_tree("acme/gated", repo_type="dataset")] == [
        ".gitattributes",
        "data.txt",
    ]
    api.auth_check("acme/gated", repo_type="dataset")  # the owner's org is authorized
    with pytest.raises(GatedRepoError, match="not in the authorized list") as refused:
        outsider.auth_check("acme/gated", repo_type="dataset")
    assert refused.value.response.status_code == 403
    with pytest.raises(GatedRepoError) as anonymous_refused:
        anonymous.hf_hub_download(
            "acme/gated", "data.txt", repo_type="dataset", cache_dir=tmp_path / "a"
        )
    assert anonymous_refused.value.response.status_code == 401
    with pytest.raises(GatedRepoError, match="Access to dataset acme/gated is restricted"):
        outsider.hf_hub_download(
            "acme/gated", "data.txt", repo_type="dataset", cache_dir=tmp_path / "o"
        )
    owner_copy = api.hf_hub_download(
        "acme/gated", "data.txt", repo_type="dataset", cache_dir=tmp_path / "w"
    )
    assert Path(owner_copy).read_bytes() == b"secret"

    api.update_repo_settings("acme/gated", repo_type="dataset", gated=False, private=True)
    info = api.dataset_info("acme/gated")
    assert (info.gated, info.private) == (False, True)
    with pytest.raises(RepositoryNotFoundError):
        outsider.auth_check("acme/gated", repo_type="dataset")


def test_gating_takes_only_the_hub_values(api: HfApi, hub: LocalHub) -> None:
    api.create_repo("acme/gate-values")
    request = urllib.request.Request(
        f"{hub.url}/api/models/acme/gate-values/settings",
        data=b'{"gated": "sometimes"}',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api.token}"},
        method="PUT",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert api.model_info("acme/gate-values").gated is False


def test_moved_repo_answers_under_its_old_name(api: HfApi, tmp_path: Path) -> None:
    api.create_repo("acme/before", private=True)
    api.upload_file(path_or_fileobj=b"content", path_in_repo="file.txt", repo_id="acme/before")

    api.move_repo("acme/before", "alice/after")

    assert api.model_info("alice/after").id == "alice/after"
    assert api.model_info("acme/before").id == "alice/after"  # redirected
    path = api.hf_hub_download("acme/before", "file.txt", cache_dir=tmp_path)
    assert Path(path).read_bytes() == b"content"
    # The redirect is no way around privacy.
    anonymous = HfApi(endpoint=api.endpoint, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("acme/before")

    api.move_repo("alice/after", "acme/before")  # the name is the repo's again
    assert api.model_info("acme/before").id == "acme/before"
    assert api.model_info("alice/after").id == "acme/before"
    api.create_repo("alice/after")  # a new repo under an old name takes it over
    assert api.model_info("alice/after").id == "alice/after"


def test_move_onto_an_existing_repo_is_refused(api: HfApi) -> None:
    api.create_repo("acme/one")
    api.create_repo("acme/two")

    with pytest.raises(HfHubHTTPError, match="A model repository called acme/two already exists"):
        api.move_repo("acme/one", "acme/two")

    assert api.repo_exists("acme/one")


def test_ref_rules_speak_the_hubs_messages(api: HfApi) -> None:
    api.create_repo("acme/refs")
    api.create_branch("acme/refs", branch="cool-branch")

    with pytest.raises(HfHubHTTPError, match="Reference refs/heads/cool-branch already exists"):
        api.create_branch("acme/refs", branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match="Reference refs/heads/main already exists") as c:
        api.create_branch("acme/refs", branch="main")
    assert c.value.response.status_code == 409
    api.create_branch("acme/refs", branch="main", exist_ok=True)
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch("acme/refs", branch="main")
    # The revision is checked before the name.
    with pytest.raises(RevisionNotFoundError):
        api.create_tag("acme/refs", tag="invalid tag", revision="foobar")


@pytest.mark.parametrize(
    "name",
    [
        "invalid tag",
        "a..b",
        "ends.lock",
        ".hidden",
        "a/.b",
        "trailing/",
        "x~1",
        "a^b",
        "a:b",
        "what?",
        "star*",
        "br[ack",
        "back\\slash",
        "at@{1}",
        "@",
        "dot.",
    ],
)
def test_tag_names_follow_git_check_ref_format(api: HfApi, name: str) -> None:
    api.create_repo("acme/tags", exist_ok=True)
    with pytest.raises(BadRequestError):
        api.create_tag("acme/tags", tag=name)
    assert api.list_repo_refs("acme/tags").tags == []


def test_list_repo_commits_formatted_and_errors(api: HfApi) -> None:
    api.create_repo("acme/history")
    _commit(api, "acme/history", {"a.txt": b"a"}, "Add <a> & more")

    plain = api.list_repo_commits("acme/history")
    formatted = api.list_repo_commits("acme/history", formatted=True)

    assert all(c.formatted_title is None for c in plain)
    assert formatted[0].formatted_title == "Add &lt;a&gt; &amp; more"
    assert all(c.formatted_message is not None for c in formatted)
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits("acme/history", revision="missing_revision")


def test_repo_info_expand_returns_only_what_was_asked(api: HfApi) -> None:
    api.create_repo("acme/expand", private=True)

    info = api.model_info("acme/expand", expand=["private", "author"])

    assert info.private is True
    assert info.author == "acme"
    assert info.sha is None
    assert info.siblings is None
    assert info.last_modified is None
    with pytest.raises(HfHubHTTPError) as refused:
        api.model_info("acme/expand", expand=["foo"])  # type: ignore[list-item]
    assert refused.value.response.status_code == 400


def test_backslashes_are_plain_characters_but_cannot_lead_out(api: HfApi) -> None:
    api.create_repo("acme/backslash")
    api.upload_file(
        path_or_fileobj=b"content", path_in_repo="folder/..\\..\\file", repo_id="acme/backslash"
    )
    assert "folder/..\\..\\file" in api.list_repo_files("acme/backslash")
    # The client refuses to write that name outside its target folder.
    with pytest.raises(ValueError, match="Invalid filename"):
        api.hf_hub_download("acme/backslash", "folder/..\\..\\file")

    with pytest.raises(HfHubHTTPError) as refused:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="..\\ddd", repo_id="acme/backslash")
    assert refused.value.response.status_code == 422


def test_list_user_repos_gives_a_namespaces_repos_with_storage(
    api: HfApi, hub: LocalHub, hub_tokens: HubTokens
) -> None:
    api.create_repo("alice/mine")
    api.upload_file(path_or_fileobj=b"x" * 1024, path_in_repo="data.bin", repo_id="alice/mine")
    api.create_repo("alice/mine", repo_type="dataset", private=True)
    api.create_repo("acme/theirs")

    own = {(r.id, r.type): r for r in api.list_user_repos()}
    org = [(r.id, r.type) for r in api.list_user_repos(namespace="acme")]

    assert set(own) == {("alice/mine", "model"), ("alice/mine", "dataset")}
    assert own["alice/mine", "dataset"].visibility == "private"
    assert own["alice/mine", "model"].storage > 1024
    assert org == [("acme/theirs", "model")]
    outsider = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    with pytest.raises(HfHubHTTPError) as refused:
        list(outsider.list_user_repos(namespace="acme"))
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("sdk", ["gradio", "streamlit", "static", "docker"])
def test_spaces_of_every_hub_sdk_can_be_created(api: HfApi, sdk: str) -> None:
    api.create_repo(f"acme/space-{sdk}", repo_type="space", space_sdk=sdk)

    assert api.space_info(f"acme/space-{sdk}").sdk == sdk


def test_an_unknown_space_sdk_is_refused(api: HfApi, hub: LocalHub) -> None:
    request = urllib.request.Request(
        f"{hub.url}/api/repos/create",
        data=b'{"name": "acme/odd", "type": "space", "sdk": "flask"}',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api.token}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert not api.repo_exists("acme/odd", repo_type="space")
