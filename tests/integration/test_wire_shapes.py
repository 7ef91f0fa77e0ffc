"""The local Hub's answers have the shapes the Hub answers with, read by the client's own types.

The expected key sets are those of huggingface.co's answers as huggingface_hub recorded them for
its Space API tests (`tests/cassettes/TestSpaceAPIProduction.*.yaml` in its repository), e.g.
`{"stage":"BUILDING","hardware":{"current":null,"requested":"cpu-basic"},"storage":null,
"gcTimeout":172800,"replicas":{"requested":1},"devMode":false,"domains":[{"domain":
"user-tmp-test-space.hf.space","stage":"READY"}]}`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from huggingface_hub import HfApi, SpaceRuntime, SpaceStage
from huggingface_hub.hf_api import SpaceInfo

from tests.conftest import HubTokens
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration

RUNTIME_KEYS = {"stage", "hardware", "storage", "gcTimeout", "replicas", "devMode", "domains"}
STATIC_RUNTIME_KEYS = {"stage", "hardware", "storage", "replicas"}


@pytest.fixture
def slow_hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    """Builds that take a moment, as on the Hub, so BUILDING can be observed."""
    settings = hub_settings.model_copy(
        update={"space_build_delay": 2.0, "space_startup_timeout": 20.0}
    )
    with LocalHub(settings) as hub:
        yield hub


@pytest.fixture
def api(slow_hub: LocalHub, hub_tokens: HubTokens) -> HfApi:
    return HfApi(endpoint=slow_hub.url, token=hub_tokens.writer.token)


def _stage(api: HfApi, repo_id: str, stage: str, timeout: float = 30) -> SpaceRuntime:
    deadline = time.monotonic() + timeout
    while (runtime := api.get_space_runtime(repo_id)).stage != stage:
        assert time.monotonic() < deadline, runtime.raw
        time.sleep(0.1)
    return runtime


def test_a_building_space_answers_the_recorded_runtime_shape(api: HfApi) -> None:
    api.create_repo("acme/shape", repo_type="space", space_sdk="static")
    api.upload_file(
        path_or_fileobj=b"<p>hi</p>", path_in_repo="index.html", repo_id="acme/shape",
        repo_type="space",
    )  # fmt: skip
    building = api.get_space_runtime("acme/shape")
    assert building.stage == SpaceStage.BUILDING
    assert set(building.raw) == STATIC_RUNTIME_KEYS
    running = _stage(api, "acme/shape", "RUNNING")
    assert running.raw["replicas"] == {"requested": 1, "current": 1}
    assert running.hardware is None
    assert running.requested_hardware is None


def test_docker_space_runtime_secrets_and_variables_parse_in_the_clients_types(
    api: HfApi,
) -> None:
    api.create_repo(
        "acme/typed",
        repo_type="space",
        space_sdk="docker",
        space_secrets=[{"key": "TOKEN_A", "value": "s1", "description": "first"}],
        space_variables=[{"key": "MODE", "value": "fast"}],
    )
    runtime = api.get_space_runtime("acme/typed")
    assert set(runtime.raw) == RUNTIME_KEYS  # no errorMessage when there is no error
    assert runtime.stage == SpaceStage.NO_APP_FILE
    assert runtime.hardware is None
    assert runtime.requested_hardware == "cpu-basic"
    assert runtime.sleep_time == 172800
    assert runtime.storage is None
    assert "storage" in runtime.raw
    assert runtime.dev_mode is False
    assert runtime.raw["replicas"] == {"requested": 1}
    assert runtime.raw["domains"][0]["stage"] == "READY"

    # The same runtime, embedded in the Space's info.
    info = api.space_info("acme/typed")
    assert isinstance(info, SpaceInfo)
    assert info.runtime is not None
    assert info.runtime.stage == runtime.stage
    assert info.sdk == "docker"
    assert info.subdomain == "acme-typed"
    assert info.host is not None
    assert info.private is False
    assert info.sha is not None
    assert info.last_modified is not None

    secrets = api.get_space_secrets("acme/typed")
    assert list(secrets) == ["TOKEN_A"]
    assert secrets["TOKEN_A"].description == "first"
    assert secrets["TOKEN_A"].updated_at is not None

    variables = api.get_space_variables("acme/typed")
    assert variables["MODE"].value == "fast"
    assert variables["MODE"].description is None
    assert variables["MODE"].updated_at is not None
    # POST answers the whole dict, as recorded: `{key: {value, description?, updatedAt}}`.
    after_add = api.add_space_variable("acme/typed", "OTHER", "x", description="why")
    assert set(after_add) == {"MODE", "OTHER"}
    assert after_add["OTHER"].description == "why"
    after_delete = api.delete_space_variable("acme/typed", "OTHER")
    assert set(after_delete) == {"MODE"}

    # Hardware, sleep time, pause and restart answer the runtime too.
    assert api.set_space_sleep_time("acme/typed", 3600).sleep_time == 3600
    paused = api.pause_space("acme/typed")
    assert paused.stage == SpaceStage.PAUSED
    assert set(paused.raw) == RUNTIME_KEYS


def test_repo_answers_parse_in_the_clients_types(hub: LocalHub, hub_tokens: HubTokens) -> None:
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.hf_api import (
        CommitInfo,
        GitCommitInfo,
        GitRefs,
        ModelInfo,
        RepoFile,
        RepoFolder,
    )

    api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
    api.create_repo("acme/typed-model")
    info: CommitInfo = api.create_commit(
        "acme/typed-model",
        [
            CommitOperationAdd(path_in_repo="config.json", path_or_fileobj=b'{"a": 1}'),
            CommitOperationAdd(path_in_repo="weights/model.bin", path_or_fileobj=b"\0" * 2048),
        ],
        commit_message="Add model",
        commit_description="with <weights>",
    )
    assert isinstance(info, CommitInfo)
    assert len(info.oid) == 40
    assert info.commit_url.startswith(hub.url)
    assert info.pr_url is None
    pr = api.upload_file(
        path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="acme/typed-model", create_pr=True
    )
    assert pr.pr_num == 1
    assert pr.pr_revision == "refs/pr/1"
    api.create_branch("acme/typed-model", branch="dev")
    api.create_tag("acme/typed-model", tag="v1")

    model = api.model_info("acme/typed-model", files_metadata=True)
    assert isinstance(model, ModelInfo)
    assert model.sha == info.oid
    siblings = {s.rfilename: s for s in model.siblings or []}
    assert siblings["weights/model.bin"].lfs is not None
    assert siblings["weights/model.bin"].lfs.size == 2048
    assert siblings["config.json"].lfs is None
    assert siblings["config.json"].blob_id is not None

    tree = list(api.list_repo_tree("acme/typed-model", recursive=True, expand=True))
    by_path = {entry.path: entry for entry in tree}
    assert isinstance(by_path["weights"], RepoFolder)
    weights = by_path["weights/model.bin"]
    assert isinstance(weights, RepoFile)
    assert weights.lfs is not None
    assert weights.lfs.sha256
    assert weights.lfs.pointer_size > 0
    assert weights.last_commit is not None
    assert weights.last_commit.oid == info.oid
    assert weights.last_commit.title == "Add model"

    paths = api.get_paths_info("acme/typed-model", ["config.json", "weights", "missing"])
    assert sorted(type(p).__name__ for p in paths) == ["RepoFile", "RepoFolder"]

    refs = api.list_repo_refs("acme/typed-model", include_pull_requests=True)
    assert isinstance(refs, GitRefs)
    assert {b.name for b in refs.branches} == {"main", "dev"}
    assert [t.name for t in refs.tags] == ["v1"]
    assert refs.pull_requests is not None
    assert [p.ref for p in refs.pull_requests] == ["refs/pr/1"]
    assert refs.branches[0].target_commit

    commits = api.list_repo_commits("acme/typed-model", formatted=True)
    assert all(isinstance(c, GitCommitInfo) for c in commits)
    assert commits[0].title == "Add model"
    assert commits[0].authors == ["alice"]
    assert commits[0].formatted_message is not None
    assert "&lt;weights&gt;" in commits[0].formatted_message


def test_the_retired_storage_tiers_are_gone_as_on_the_hub(
    hub: LocalHub, hub_tokens: HubTokens
) -> None:
    """huggingface_hub 2.x dropped `request_space_storage`; the Hub replaced tiers with bucket
    volumes. The old route is an unknown route now, and the runtime's `storage` stays null."""
    from huggingface_hub import Volume, get_session, hf_raise_for_status
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
    api.create_bucket("acme/typed-data")
    api.create_repo(
        "acme/tiers",
        repo_type="space",
        space_sdk="docker",
        space_volumes=[Volume(type="bucket", source="acme/typed-data", mount_path="/data")],
    )
    headers = {"Authorization": f"Bearer {hub_tokens.writer.token}"}
    for method in ("POST", "DELETE"):
        response = get_session().request(
            method, f"{hub.url}/api/spaces/acme/tiers/storage", headers=headers,
            json={"tier": "small"},
        )  # fmt: skip
        with pytest.raises(HfHubHTTPError) as refused:
            hf_raise_for_status(response)
        assert refused.value.response.status_code == 404
    runtime = api.get_space_runtime("acme/tiers")
    assert runtime.storage is None
    assert "storage" in runtime.raw
    assert [v.source for v in runtime.volumes or []] == ["acme/typed-data"]
