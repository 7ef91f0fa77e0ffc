"""Volumes and `space_storage` through the deployer, on a real local ZenML store and local Hub.

The app cannot start here (no ZenML server for it to reach), so these tests look at what the
Hub holds and what each deploy sends; tests/e2e/test_deploy_volumes.py serves a pipeline that
reads its volumes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BucketNotFoundError
from zenml.deployers.exceptions import DeployerError

from tests.conftest import HubTokens, space_counters
from tests.integration.test_deployer_bad_input import hub_writes
from tests.integration.zenml_stacks import LOCAL_HUB_SETTINGS, register_hf_stack
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration


@pytest.fixture
def hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    with LocalHub(hub_settings.model_copy(update={"space_startup_timeout": 10.0})) as running:
        yield running


@pytest.fixture
def api(hub: LocalHub, hub_tokens: HubTokens) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub_tokens.writer.token)


@pytest.fixture
def stack(clean_zenml: Any, hub: LocalHub, hub_tokens: HubTokens) -> Any:
    register_hf_stack(
        clean_zenml,
        {"token": hub_tokens.writer.token, "endpoint": hub.url, "organization": "acme"},
    )
    return clean_zenml


def settings(**deployer: Any) -> dict[str, dict[str, Any]]:
    return {
        "docker": LOCAL_HUB_SETTINGS["docker"],
        "deployer": {**LOCAL_HUB_SETTINGS["deployer"], **deployer},
    }


def deploy(name: str, **deployer: Any) -> None:
    from examples.hello_pipeline.pipeline import hello_pipeline

    # The app has no ZenML server to reach: whether it starts is beside the point here.
    with contextlib.suppress(DeployerError):
        hello_pipeline.with_options(settings=settings(**deployer)).deploy(
            deployment_name=name, timeout=3
        )


def settle(hub: LocalHub, space_id: str) -> None:
    """Wait until the Space's app has had its try, then report it RUNNING, as a served app
    would be: a redeploy then has nothing to bring back."""
    deadline = time.monotonic() + 30
    while space_counters(hub, space_id)["stage"] not in ("RUNTIME_ERROR", "RUNNING"):
        assert time.monotonic() < deadline, space_counters(hub, space_id)
        time.sleep(0.2)
    hub.control.force_stage(space_id, "RUNNING")


MODEL = {"type": "model", "source": "acme/weights", "mount_path": "/model"}


def test_volumes_are_pinned_mounted_and_cost_nothing_when_unchanged(
    stack: Any, hub: LocalHub, api: HfApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.create_repo("acme/weights")
    v1 = api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="acme/weights").oid

    with caplog.at_level(logging.INFO):
        deploy("vols", space_volumes=[MODEL], space_storage="small")
    metadata = stack.get_deployment("vols").deployment_metadata
    space_id = metadata["space_id"]
    bucket = f"{space_id}-data"
    assert metadata["storage_bucket"] == bucket
    # The default branch was pinned to its commit at deploy time, and the log says so.
    assert f"the default branch is commit {v1}" in caplog.text
    # The retired tier is accepted, with one warning that says what it means now.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    tier_warnings = [w for w in warnings if "storage tiers no longer exist" in w]
    assert len(tier_warnings) == 1
    assert bucket in tier_warnings[0]

    info = api.bucket_info(bucket)
    assert info.private is True
    mounted = api.get_space_runtime(space_id).volumes or []
    assert sorted((v.mount_path, v.type, v.source, v.revision, v.read_only) for v in mounted) == [
        ("/data", "bucket", bucket, None, None),
        ("/model", "model", "acme/weights", v1, True),
    ]

    # The same settings again: reads only, no write, no restart.
    settle(hub, space_id)
    before = space_counters(hub, space_id)
    hub.control.reset_stats()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        deploy("vols", space_volumes=[MODEL], space_storage="small")
    assert hub_writes(hub) == {}
    assert space_counters(hub, space_id)["restarts"] == before["restarts"]
    assert "storage tiers" not in caplog.text  # once per process

    # The model moves on: a redeploy pins the new commit (one volume change) and, with a
    # hardware change in the same deploy, the Space starts once.
    v2 = api.upload_file(path_or_fileobj=b"v2", path_in_repo="w.txt", repo_id="acme/weights").oid
    hub.control.reset_stats()
    with caplog.at_level(logging.INFO):
        deploy("vols", space_volumes=[MODEL], space_storage=True, space_hardware="t4-small")
    assert f"is commit {v2}" in caplog.text
    writes = hub_writes(hub)
    assert writes.get("PUT /api/spaces/{namespace}/{name}/volumes") == 1, writes
    after = space_counters(hub, space_id)
    assert after["restarts"] - before["restarts"] == 1, after
    (model,) = [v for v in api.get_space_runtime(space_id).volumes or [] if v.type == "model"]
    assert model.revision == v2

    # Deleting the deployment deletes the Space, never the bucket by default.
    stack.delete_deployment("vols")
    assert not api.repo_exists(space_id, repo_type="space")
    assert api.bucket_info(bucket).id == bucket


def test_the_storage_bucket_is_deleted_with_the_space_only_when_asked(
    stack: Any, hub: LocalHub, api: HfApi
) -> None:
    deploy("kept", space_storage=True)
    kept = stack.get_deployment("kept").deployment_metadata["storage_bucket"]
    deploy("dropped", space_storage=True)
    dropped = stack.get_deployment("dropped").deployment_metadata["storage_bucket"]
    assert api.bucket_info(kept).private is True
    assert api.bucket_info(dropped).private is True

    # The opt-in changes nothing on the Hub: no write, until the delete.
    space_id = stack.get_deployment("dropped").deployment_metadata["space_id"]
    settle(hub, space_id)
    hub.control.reset_stats()
    deploy("dropped", space_storage=True, delete_storage_bucket_on_delete=True)
    assert hub_writes(hub) == {}

    stack.delete_deployment("kept")
    stack.delete_deployment("dropped")
    assert api.bucket_info(kept).id == kept
    with pytest.raises(BucketNotFoundError):
        api.bucket_info(dropped)
    assert list(api.list_spaces(author="acme")) == []


def test_an_existing_bucket_is_mounted_as_is_and_volumes_removed_from_the_settings_go(
    stack: Any, hub: LocalHub, api: HfApi
) -> None:
    api.create_repo("acme/weights")
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="acme/weights")
    api.create_bucket("acme/shared")
    shared = {"type": "bucket", "source": "acme/shared", "mount_path": "/shared"}
    deploy("vols", space_volumes=[MODEL, shared])
    space_id = stack.get_deployment("vols").deployment_metadata["space_id"]
    assert sorted(v.mount_path for v in api.get_space_runtime(space_id).volumes or []) == [
        "/model",
        "/shared",
    ]
    assert stack.get_deployment("vols").deployment_metadata["storage_bucket"] is None

    deploy("vols", space_volumes=[shared])
    assert [v.source for v in api.get_space_runtime(space_id).volumes or []] == ["acme/shared"]
    deploy("vols")
    assert api.get_space_runtime(space_id).volumes is None
    stack.delete_deployment("vols")
    assert api.bucket_info("acme/shared").id == "acme/shared"  # not ours to delete


@pytest.mark.parametrize(
    ("volume", "expect"),
    [
        ({**MODEL, "source": "acme/nothing"}, "does not exist"),
        ({**MODEL, "revision": "no-such-branch"}, "has no revision 'no-such-branch'"),
        ({**MODEL, "source": "carol/secret-model"}, "cannot read it"),
    ],
)
def test_a_volume_the_hub_cannot_mount_is_refused_before_any_write(
    stack: Any,
    hub: LocalHub,
    api: HfApi,
    hub_tokens: HubTokens,
    volume: dict[str, Any],
    expect: str,
) -> None:
    from examples.hello_pipeline.pipeline import hello_pipeline

    api.create_repo("acme/weights")
    HfApi(endpoint=hub.url, token=hub_tokens.outsider.token).create_repo(
        "carol/secret-model", private=True
    )
    hub.control.reset_stats()
    with pytest.raises(DeployerError) as refused:
        hello_pipeline.with_options(
            settings=settings(space_volumes=[volume], space_storage=True)
        ).deploy(deployment_name="bad-volume", timeout=3)
    message = str(refused.value)
    assert expect in message
    assert f"at {volume['mount_path']}" in message
    assert hub_tokens.writer.token not in message
    assert hub_writes(hub) == {}
    assert list(api.list_spaces(author="acme")) == []
    assert list(api.list_buckets("acme")) == []
    # Checked before ZenML records the deployment: nothing to clean up by hand.
    assert [d.name for d in stack.list_deployments()] == []
