"""The publish and pull steps in a real ZenML pipeline on a local store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi
from zenml import Model, pipeline

from tests.conftest import HubTokens
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec
from zenml_hf_registry.registry import PackageRecord
from zenml_hf_registry.registry.steps import publish_model_snapshot, pull_model_snapshot

pytestmark = pytest.mark.integration

REGISTRY_TOKEN = TokenSpec(token="steps-registry-token", user="acme", role=TokenRole.WRITE)


def test_publish_and_pull_steps_record_an_artifact_with_metadata(
    clean_zenml: Any, hub_settings: HubSettings, hub_tokens: HubTokens, tmp_path: Path
) -> None:
    settings = hub_settings.model_copy(
        update={"registries": (RegistrySpec(org="acme", name="models", tokens=(REGISTRY_TOKEN,)),)}
    )
    with LocalHub(settings) as hub:
        api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
        api.create_repo("acme/step-model")
        sha = api.upload_file(
            path_or_fileobj=os.urandom(2 * 1024 * 1024),
            path_in_repo="weights.bin",
            repo_id="acme/step-model",
        ).oid
        clean_zenml.create_secret("registry_token", values={"token": REGISTRY_TOKEN.token})
        clean_zenml.create_secret("source_token", values={"token": hub_tokens.writer.token})
        endpoint = f"{hub.url}/acme/models/huggingface"

        @pipeline(enable_cache=False, model=Model(name="step-model-snapshots"))
        def publish_and_pull() -> None:
            publish_model_snapshot(
                repo_id="acme/step-model",
                registry="acme/models",
                revision=sha,
                registry_endpoint=endpoint,
                source_endpoint=hub.url,
                source_secret="source_token",
            )
            pull_model_snapshot(
                repo_id="acme/step-model",
                registry="acme/models",
                local_dir=str(tmp_path / "pulled"),
                registry_endpoint=endpoint,
                after="publish_model_snapshot",
            )

        run = publish_and_pull()

    run = clean_zenml.get_pipeline_run(run.id)
    assert run.status == "completed"
    artifact = run.steps["publish_model_snapshot"].outputs["package_record"][0]
    record = artifact.load()
    assert isinstance(record, PackageRecord)
    assert record.name == f"acme/step-model@{sha}"
    metadata = artifact.run_metadata
    assert metadata["sha256"] == record.sha256
    assert metadata["package"] == record.name
    assert REGISTRY_TOKEN.token not in str(metadata)
    assert hub_tokens.writer.token not in str(metadata)
    # The run's Model version carries the record too, and links the artifact.
    version = clean_zenml.get_model_version("step-model-snapshots")
    assert version.run_metadata["package_record"]["sha256"] == record.sha256
    assert REGISTRY_TOKEN.token not in str(version.run_metadata)
    assert "package_record" in version.data_artifact_ids
    path = run.steps["pull_model_snapshot"].outputs["snapshot_path"][0].load()
    assert Path(path, "weights.bin").stat().st_size == 2 * 1024 * 1024
