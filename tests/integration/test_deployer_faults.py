"""The deployer against a failing Hub: a clear error, a record, and never an orphan Space."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from huggingface_hub import HfApi
from zenml.deployers.exceptions import DeployerError

from tests.conftest import HubTokens, hub_faults, space_counters
from tests.integration.zenml_stacks import LOCAL_HUB_SETTINGS, register_hf_stack
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration


@pytest.fixture
def hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    with LocalHub(hub_settings) as running:
        yield running


@pytest.mark.parametrize(
    ("route", "status"),
    [(r"/api/repos/create", 429), (r"/commit/", 503), (r"/commit/", 500)],
)
def test_a_failing_hub_leaves_a_record_that_redeploy_and_delete_can_use(
    clean_zenml: Any, hub: LocalHub, hub_tokens: HubTokens, route: str, status: int
) -> None:
    from examples.hello_pipeline.pipeline import hello_pipeline

    token = hub_tokens.writer.token
    register_hf_stack(clean_zenml, {"token": token, "endpoint": hub.url, "organization": "acme"})
    api = HfApi(endpoint=hub.url, token=token)
    pipeline = hello_pipeline.with_options(settings=LOCAL_HUB_SETTINGS)

    hub_faults(hub, "POST", method="POST", path=route, status=status, times=100)
    with pytest.raises(DeployerError) as failed:
        pipeline.deploy(deployment_name="flaky", timeout=20)
    message = str(failed.value)
    assert hub.url in message
    assert str(status) in message
    assert token not in message
    # The Space id was recorded before anything was attempted.
    space_id = clean_zenml.get_deployment("flaky").deployment_metadata["space_id"]
    assert space_id.startswith("acme/zenml-flaky-")

    # The Hub recovers: a redeploy completes the same Space; delete leaves nothing behind.
    hub_faults(hub, "DELETE")
    with contextlib.suppress(DeployerError):
        # The Space builds; whether its app starts here (it has no ZenML server to reach)
        # is beside the point.
        pipeline.deploy(deployment_name="flaky", timeout=5)
    files = {s.rfilename for s in api.space_info(space_id).siblings or []}
    assert {"README.md", "Dockerfile"} <= files
    clean_zenml.delete_deployment("flaky")
    assert not api.repo_exists(space_id, repo_type="space")
    assert list(api.list_spaces(author="acme")) == []


@pytest.mark.parametrize(
    "rules",
    [
        # Rate limits: the Hub did nothing, the same request goes again.
        [{"method": "POST", "path": r"/api/repos/create", "status": 429, "times": 2}],
        # An outage on the commit itself: nothing landed, so it is sent again.
        [{"method": "POST", "path": r"/commit/", "status": 503, "times": 2}],
        # The commit landed but its answer was lost: it must not be sent twice.
        [{"method": "POST", "path": r"/commit/", "action": "status_after", "status": 504}],
        # The repo was created but the answer was lost: found, not created twice.
        [
            {
                "method": "POST",
                "path": r"/api/repos/create",
                "action": "status_after",
                "status": 502,
            }
        ],
    ],
    ids=["429-create", "503-commit", "504-after-commit", "502-after-create"],
)
def test_a_short_outage_is_ridden_out_without_doing_anything_twice(
    clean_zenml: Any, hub: LocalHub, hub_tokens: HubTokens, rules: list[dict[str, Any]]
) -> None:
    from examples.hello_pipeline.pipeline import hello_pipeline

    token = hub_tokens.writer.token
    register_hf_stack(clean_zenml, {"token": token, "endpoint": hub.url, "organization": "acme"})
    for rule in rules:
        hub_faults(hub, "POST", **rule)
    with contextlib.suppress(DeployerError):
        # The Space builds; whether its app starts here is beside the point.
        hello_pipeline.with_options(settings=LOCAL_HUB_SETTINGS).deploy(
            deployment_name="bumpy", timeout=3
        )
    assert hub_faults(hub)["fired"] == sum(rule.get("times", 1) for rule in rules)
    space_id = clean_zenml.get_deployment("bumpy").deployment_metadata["space_id"]
    api = HfApi(endpoint=hub.url, token=token)
    files = {s.rfilename for s in api.space_info(space_id).siblings or []}
    assert {"README.md", "Dockerfile"} <= files
    # One creation commit (.gitattributes) and one deploy commit: one build.
    assert len(api.list_repo_commits(space_id, repo_type="space")) == 2
    assert space_counters(hub, space_id)["builds"] == 1
    clean_zenml.delete_deployment("bumpy")
    assert not api.repo_exists(space_id, repo_type="space")
