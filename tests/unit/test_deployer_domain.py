"""The deployer's plain parts: naming, settings, stage mapping, the Space plan, the override."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any
from uuid import UUID

import pytest
from huggingface_hub import SpaceHardware, SpaceStage, Volume
from pydantic import ValidationError
from zenml.enums import DeploymentStatus

from zenml_hf_registry.deployer.naming import (
    sanitize,
    space_id_for,
    storage_bucket_for,
    validate_space_id,
)
from zenml_hf_registry.deployer.space import (
    ObservedSpace,
    SpacePlan,
    SpaceSpec,
    check_write_access,
    plan_space,
    secret_digest,
)
from zenml_hf_registry.deployer.status import deployment_status
from zenml_hf_registry.errors import HubAccessError, InvalidSpaceIdError
from zenml_hf_registry.flavors import (
    SPACE_HARDWARE,
    HuggingFaceDeployerConfig,
    HuggingFaceDeployerSettings,
)

pytestmark = pytest.mark.unit

DEPLOYMENT_ID = UUID("12345678-9abc-def0-1234-56789abcdef0")
SALT = "hf-token-used-as-hmac-key"
COMMIT = "a" * 40
DATA = Volume(type="bucket", source="acme/zenml-x-12345678-data", mount_path="/data")
MODEL = Volume(
    type="model", source="acme/weights", mount_path="/model", revision=COMMIT, read_only=True
)


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [
        ("zenml", "my_pipeline", "acme/zenml-my_pipeline-12345678"),
        ("ZenML--Prod", "My Pipeline..v2", "acme/zenml-prod-my-pipeline.v2-12345678"),
        ("--", "??", "acme/deployment-12345678"),
        ("z", "a.-b", "acme/z-a-b-12345678"),
    ],
)
def test_space_ids_follow_the_hub_rules(prefix: str, name: str, expected: str) -> None:
    assert space_id_for("acme", prefix, name, DEPLOYMENT_ID) == expected


def test_long_names_are_shortened_but_keep_the_id_suffix() -> None:
    space_id = space_id_for("acme", "p" * 60, "n" * 60, DEPLOYMENT_ID)
    name = space_id.split("/", 1)[1]
    assert len(name) == 96
    assert name.endswith("-12345678")


@pytest.mark.parametrize(
    ("space_id", "reason"),
    [
        ("no-slash", "namespace/name"),
        ("acme/a--b", "'--'"),
        ("acme/a..b", "'--' or '..'"),
        ("acme/-a", "start and end"),
        ("acme/" + "x" * 97, "limit is 96"),
        ("ac me/x", "letters, digits"),
    ],
)
def test_invalid_space_ids_name_the_rule(space_id: str, reason: str) -> None:
    with pytest.raises(InvalidSpaceIdError, match="invalid Space id") as error:
        validate_space_id(space_id)
    assert reason in error.value.reason
    assert error.value.space_id == space_id


def test_sanitize_collapses_separators() -> None:
    assert sanitize("--A..b-.c__") == "a.b-c"


def test_hardware_names_match_huggingface_hub() -> None:
    assert tuple(h.value for h in SpaceHardware) == SPACE_HARDWARE


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("space_hardware", "gpu-huge", "space_hardware: 'gpu-huge' is not a Space hardware"),
        ("space_storage", "huge", "space_storage"),
        ("app_port", 70000, "app_port"),
        ("sleep_time", -5, "sleep_time"),
        ("environment", {"1BAD": "x"}, "environment: '1BAD' is not a valid"),
        ("space_secrets", {"ZENML_STORE_URL": "x"}, "reserved"),
    ],
)
def test_invalid_settings_name_field_value_and_choices(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as error:
        HuggingFaceDeployerSettings(**{field: value})
    if field == "space_hardware":
        assert "cpu-basic" in str(error.value)  # the allowed values are listed


def test_public_spaces_get_an_auth_key_unless_opted_out() -> None:
    def secured(**values: object) -> bool:
        return HuggingFaceDeployerSettings(**values).with_secure_default().generate_auth_key  # type: ignore[arg-type]

    assert secured() is True
    assert secured(private=True) is False
    assert secured(private=True, generate_auth_key=True) is False  # the gate is the auth
    assert secured(auth_key="k" * 32) is False
    assert secured(allow_unauthenticated=True) is False
    with pytest.raises(ValidationError, match="set private or auth_key, not both"):
        HuggingFaceDeployerSettings(private=True, auth_key="k" * 32)


def test_config_accepts_the_builtin_flavors_keys_and_checks_the_endpoint() -> None:
    config = HuggingFaceDeployerConfig(
        token="{{hf_token.token}}",
        organization="acme",
        space_prefix="zenml",
        space_hardware="t4-small",
        space_storage="small",
        private=True,
    )
    assert config.endpoint == "https://huggingface.co"
    with pytest.raises(ValidationError, match="endpoint: 'ftp://x' is not an http"):
        HuggingFaceDeployerConfig(endpoint="ftp://x")
    with pytest.raises(ValidationError, match="space_prefix"):
        HuggingFaceDeployerConfig(space_prefix="---")


@pytest.mark.parametrize("stage", [s.value for s in SpaceStage])
def test_every_stage_maps_to_a_status_and_none_to_absent(stage: str) -> None:
    status = deployment_status(stage)
    assert status is not DeploymentStatus.ABSENT
    expected = {
        "RUNNING": DeploymentStatus.RUNNING,
        "SLEEPING": DeploymentStatus.RUNNING,
        "BUILDING": DeploymentStatus.PENDING,
        "RUNNING_BUILDING": DeploymentStatus.PENDING,
        "APP_STARTING": DeploymentStatus.PENDING,
        "RUNNING_APP_STARTING": DeploymentStatus.PENDING,
        "NO_APP_FILE": DeploymentStatus.PENDING,
        "BUILD_ERROR": DeploymentStatus.ERROR,
        "RUNTIME_ERROR": DeploymentStatus.ERROR,
        "CONFIG_ERROR": DeploymentStatus.ERROR,
    }
    assert status is expected.get(stage, DeploymentStatus.UNKNOWN)


def spec(**changes: object) -> SpaceSpec:
    values: dict[str, object] = {
        "space_id": "acme/zenml-x-12345678",
        "private": False,
        "hardware": None,
        "sleep_time": None,
        "files": {"README.md": b"readme", "Dockerfile": b"FROM img@sha256:1\n"},
        "secrets": {"ZENML_STORE_URL": "http://zen", "ZENML_STORE_API_TOKEN": "token-1"},
        "variables": {"LOG_LEVEL": "info"},
    }
    values.update(changes)
    return SpaceSpec(**values)  # type: ignore[arg-type]


def observed_as(desired: SpaceSpec, **changes: object) -> ObservedSpace:
    from huggingface_hub.utils.sha import git_hash

    values: dict[str, object] = {
        "space_id": desired.space_id,
        "private": desired.private,
        "hardware": desired.hardware or "cpu-basic",
        "sleep_time": 172800,
        "file_oids": {p: git_hash(c) for p, c in desired.files.items()}
        | {".gitattributes": "0" * 40},
        "variables": dict(desired.variables),
        "secret_keys": frozenset(desired.secrets),
        "stage": "RUNNING",
        "host": "https://acme-zenml-x.hf.space",
    }
    values.update(changes)
    return ObservedSpace(**values)  # type: ignore[arg-type]


def digests(desired: SpaceSpec) -> dict[str, str]:
    return {k: secret_digest(k, v, SALT) for k, v in desired.secrets.items()}


def plan_for(
    desired: SpaceSpec, observed: ObservedSpace | None, managed: dict[str, str]
) -> SpacePlan:
    """Plan as the deployer does after a deploy of `spec()` (which set LOG_LEVEL)."""
    return plan_space(
        desired,
        observed,
        managed_secrets=managed,
        managed_variables=frozenset(spec().variables),
        salt=SALT,
    )


def test_a_new_space_is_one_create_with_everything_and_one_commit() -> None:
    plan = plan_for(spec(volumes=(DATA,), storage_bucket=DATA.source), None, {})
    assert plan.create
    assert set(plan.commit_files) == {"README.md", "Dockerfile"}
    assert plan.set_volumes is None  # they ride in create_repo, as secrets do
    assert not plan.set_secrets
    assert plan.create_bucket is None  # it exists
    plan = plan_space(
        spec(volumes=(DATA,), storage_bucket=DATA.source),
        None,
        managed_secrets={},
        managed_variables=frozenset(),
        salt=SALT,
        bucket_exists=False,
    )
    assert plan.create_bucket == DATA.source
    assert plan.summary().startswith(f"create the bucket {DATA.source}; create the Space")


def test_an_unchanged_redeploy_plans_nothing_even_with_a_fresh_api_token() -> None:
    before = spec()
    after = spec(secrets={**before.secrets, "ZENML_STORE_API_TOKEN": "token-2"})
    plan = plan_for(after, observed_as(before), digests(before))
    assert plan.is_empty, plan.summary()


def test_a_new_image_is_one_commit_and_refreshes_the_api_token_for_free() -> None:
    before = spec()
    after = spec(
        files={**before.files, "Dockerfile": b"FROM img@sha256:2\n"},
        secrets={**before.secrets, "ZENML_STORE_API_TOKEN": "token-2"},
    )
    plan = plan_for(after, observed_as(before), digests(before))
    assert list(plan.commit_files) == ["Dockerfile"]
    assert plan.set_secrets == {"ZENML_STORE_API_TOKEN": "token-2"}
    assert plan.hardware is None
    assert not plan.set_variables
    assert not plan.delete_secrets


def test_settings_changes_are_planned_one_by_one() -> None:
    before = spec()
    after = spec(
        hardware="t4-small",
        private=True,
        sleep_time=3600,
        secrets={**before.secrets, "EXTRA": "x"},
        variables={},
    )
    plan = plan_for(after, observed_as(before), digests(before))
    assert plan.hardware == "t4-small"
    assert plan.private is True
    assert plan.sleep_time == 3600
    assert plan.set_secrets == {"EXTRA": "x"}
    assert plan.delete_variables == ["LOG_LEVEL"]
    assert not plan.commit_files


def test_only_secrets_the_deployer_set_are_ever_deleted() -> None:
    before = spec(secrets={"ZENML_STORE_URL": "u", "OLD": "x"})
    observed = observed_as(before, secret_keys=frozenset({"ZENML_STORE_URL", "OLD", "MANUAL"}))
    plan = plan_for(spec(secrets={"ZENML_STORE_URL": "u"}), observed, digests(before))
    assert plan.delete_secrets == ["OLD"]  # MANUAL was added by hand: left alone


def test_a_changed_secret_value_is_detected_by_its_digest() -> None:
    before = spec()
    after = spec(secrets={**before.secrets, "ZENML_STORE_URL": "http://elsewhere"})
    plan = plan_for(after, observed_as(before), digests(before))
    # The API token's value did not change: it is not sent again.
    assert plan.set_secrets == {"ZENML_STORE_URL": "http://elsewhere"}


def test_a_paused_space_is_restarted() -> None:
    before = spec()
    plan = plan_for(before, observed_as(before, stage="PAUSED"), digests(before))
    assert plan.restart
    assert "restart" in plan.summary()


def test_plan_summaries_name_keys_never_values() -> None:
    before = spec()
    after = spec(secrets={**before.secrets, "API_KEY": "sentinel-secret-value"})
    summary = plan_for(after, observed_as(before), digests(before)).summary()
    assert "API_KEY" in summary
    assert "sentinel-secret-value" not in summary


def test_the_builtin_flavor_name_resolves_to_this_plugin_and_can_be_switched_off() -> None:
    code = (
        "from zenml.integrations.huggingface.flavors import HuggingFaceDeployerFlavor as F\n"
        "print(F.__module__, F().name)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ZENML_HF_REGISTRY_OVERRIDE_BUILTIN"}
    on = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert on.stdout.split() == ["zenml_hf_registry.flavors", "huggingface"]
    off = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "ZENML_HF_REGISTRY_OVERRIDE_BUILTIN": "false"},
    )
    assert off.stdout.split()[0].startswith("zenml.integrations.huggingface")


@pytest.mark.parametrize(
    "image",
    [
        "python:3.11-slim",
        "local/zenml-hf-registry:dev",
        "localhost/app",
        "ghcr.io/org/img:1.0",
        "127.0.0.1:5000/zenml/app@sha256:" + "a" * 64,
        "registry.hf.space/acme-app:latest",
    ],
)
def test_valid_image_references_pass(image: str) -> None:
    from zenml_hf_registry.images import validate_image_reference

    assert validate_image_reference(image) == image


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("UPPER/case", "lowercase repository"),
        ("a b", "lowercase repository"),
        ("img:", "the tag '' is invalid"),
        ("reg.io/img@sha256:xyz", "digest"),
        ("", "empty"),
        (" img", "whitespace"),
    ],
)
def test_invalid_image_references_say_why(image: str, message: str) -> None:
    from zenml_hf_registry.images import InvalidImageReferenceError, validate_image_reference

    with pytest.raises(InvalidImageReferenceError, match=message):
        validate_image_reference(image)


def identity(role: str, orgs: dict[str, str]) -> dict[str, Any]:
    return {
        "name": "alice",
        "orgs": [{"name": name, "roleInOrg": org_role} for name, org_role in orgs.items()],
        "auth": {"accessToken": {"role": role}},
    }


@pytest.mark.parametrize(
    ("role", "orgs", "namespace", "refused"),
    [
        ("write", {}, "alice", None),
        ("write", {"Acme": "contributor"}, "acme", None),
        ("fineGrained", {"acme": "write"}, "acme", None),  # the Hub decides per repo
        ("read", {"acme": "admin"}, "acme", "read-only"),
        ("write", {"acme": "read"}, "acme", "may only read"),
        ("write", {"acme": "admin"}, "other", "one of: acme, alice"),
    ],
)
def test_write_access_is_checked_from_whoami(
    role: str, orgs: dict[str, str], namespace: str, refused: str | None
) -> None:
    if refused is None:
        check_write_access(identity(role, orgs), namespace, endpoint="https://hub")
        return
    with pytest.raises(HubAccessError, match=refused):
        check_write_access(identity(role, orgs), namespace, endpoint="https://hub")


def test_a_plain_token_is_refused_without_being_echoed() -> None:
    with pytest.raises(ValidationError, match="zenml secret create hf_token") as refused:
        HuggingFaceDeployerConfig(token="hf_sentinel_plain_token")
    assert "hf_sentinel_plain_token" not in str(refused.value)
    assert HuggingFaceDeployerConfig(token="{{hf_token.token}}").secret_name is None


def test_plain_space_secrets_are_refused_with_the_reference_form() -> None:
    with pytest.raises(ValidationError) as refused:
        HuggingFaceDeployerSettings(space_secrets={"API_KEY": "sentinel-plain-value"})
    message = str(refused.value)
    assert "{API_KEY: '{{my_secret.api_key}}'}" in message
    assert "sentinel-plain-value" not in message
    settings = HuggingFaceDeployerSettings(space_secrets={"API_KEY": "{{my_secret.api_key}}"})
    assert settings.space_secrets == {"API_KEY": "{{my_secret.api_key}}"}


def test_one_restarting_change_is_made_as_is() -> None:
    before = spec()
    plan = plan_for(spec(hardware="t4-small"), observed_as(before), digests(before))
    assert (plan.pause, plan.restart) == (False, False)


def test_several_restarting_changes_of_a_running_space_cost_one_start() -> None:
    before = spec()
    after = spec(
        hardware="t4-small",
        secrets={**before.secrets, "EXTRA": "x"},
        variables={"LOG_LEVEL": "debug"},
    )
    plan = plan_for(after, observed_as(before), digests(before))
    assert plan.restarting_changes == 3
    assert (plan.pause, plan.restart) == (True, True)
    assert plan.summary().startswith("pause; ")
    assert plan.summary().endswith("; start")


def test_a_change_with_a_rebuild_pauses_and_lets_the_build_start_the_app() -> None:
    before = spec()
    after = spec(files={**before.files, "Dockerfile": b"FROM img@sha256:2\n"}, hardware="t4-small")
    plan = plan_for(after, observed_as(before), digests(before))
    assert (plan.pause, plan.restart) == (True, False)


def test_changes_to_a_paused_space_wait_for_its_one_restart() -> None:
    before = spec()
    after = spec(hardware="t4-small", variables={"LOG_LEVEL": "debug"})
    plan = plan_for(after, observed_as(before, stage="PAUSED"), digests(before))
    assert (plan.pause, plan.restart) == (False, True)


def test_the_deployment_secret_digest_ignores_the_api_token_but_not_the_auth_key() -> None:
    from zenml_hf_registry.deployer.deployer import deployment_secret

    def digest_input(token: str, auth_key: str | None) -> str:
        environment = {"ZENML_STORE_URL": "u", "ZENML_STORE_API_TOKEN": token}
        bundle, digest = deployment_secret(
            arguments=["--deployment_id", "1"], environment=environment, auth_key=auth_key
        )
        assert token in bundle  # the app gets the fresh token whenever the secret is written
        assert auth_key is None or auth_key not in digest
        return digest

    assert digest_input("token-1", "key-1") == digest_input("token-2", "key-1")
    assert digest_input("token-1", "key-1") != digest_input("token-1", "key-2")


def test_the_storage_bucket_is_named_after_the_space_and_keeps_the_id_suffix() -> None:
    assert storage_bucket_for("acme/zenml-hello-12345678") == "acme/zenml-hello-12345678-data"
    long_id = space_id_for("acme", "p" * 60, "n" * 60, DEPLOYMENT_ID)
    bucket = storage_bucket_for(long_id)
    assert len(bucket.split("/")[1]) == 96
    assert bucket.endswith("-12345678-data")


@pytest.mark.parametrize("value", ["small", "medium", "large", True, "true"])
def test_space_storage_takes_true_and_the_retired_tiers(value: object) -> None:
    assert HuggingFaceDeployerSettings(space_storage=value).wants_storage_bucket  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, False, "false"])
def test_space_storage_off(value: object) -> None:
    assert not HuggingFaceDeployerSettings(space_storage=value).wants_storage_bucket  # type: ignore[arg-type]


def volume(**values: object) -> dict[str, object]:
    return {"type": "model", "source": "acme/weights", "mount_path": "/model", **values}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"space_volumes": [volume(mount_path="model")]}, "must be an absolute path"),
        ({"space_volumes": [volume(mount_path="/model/../etc")]}, "'.' or '..'"),
        ({"space_volumes": [volume(mount_path="/usr/lib/x")]}, "would hide system files"),
        ({"space_volumes": [volume(mount_path="/app")]}, "would hide the app's code"),
        ({"space_volumes": [volume(mount_path="/home/user")]}, "would hide the app's code"),
        ({"space_volumes": [volume(source="weights")]}, "namespace/name"),
        ({"space_volumes": [volume(type="notebook")]}, "type"),
        ({"space_volumes": [volume(read_only=False)]}, "always mounted read-only"),
        (
            {"space_volumes": [volume(type="bucket", revision="main")]},
            "buckets have no history",
        ),
        ({"space_volumes": [volume(path="../x")]}, "without '.' or '..'"),
        ({"space_volumes": [volume(), volume(source="acme/other")]}, "overlap"),
        (
            {"space_volumes": [volume(), volume(source="acme/other", mount_path="/model/x")]},
            "overlap",
        ),
        (
            {"space_volumes": [volume(mount_path="/data")], "space_storage": True},
            "the space_storage bucket at /data overlap",
        ),
        ({"space_storage": "huge"}, "'small', 'medium' or 'large'"),
    ],
)
def test_bad_volumes_are_refused_with_what_to_do(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        HuggingFaceDeployerSettings(**settings)


def test_volume_settings_are_normalised() -> None:
    settings = HuggingFaceDeployerSettings(
        space_volumes=[volume(mount_path="/model/", path="/sub/dir/")]
    )
    (only,) = settings.space_volumes
    assert (only.mount_path, only.path) == ("/model", "sub/dir")


def test_unchanged_volumes_plan_nothing_whatever_the_hub_adds() -> None:
    before = spec(volumes=(MODEL, DATA), storage_bucket=DATA.source)
    # As the Hub reports them: in its own order, repos read-only.
    reported = (DATA, Volume(**{**MODEL.to_dict(), "readOnly": True}))
    plan = plan_space(
        before,
        observed_as(before, volumes=reported),
        managed_secrets=digests(before),
        managed_variables=frozenset({"LOG_LEVEL"}),
        salt=SALT,
        managed_volumes=frozenset({"/model", "/data"}),
    )
    assert plan.is_empty, plan.summary()


def test_a_new_commit_of_a_model_volume_is_one_restarting_change() -> None:
    before = spec(volumes=(MODEL,))
    moved = Volume(**{**MODEL.to_dict(), "revision": "b" * 40})
    plan = plan_for(spec(volumes=(moved,)), observed_as(before, volumes=(MODEL,)), digests(before))
    assert plan.set_volumes == [moved]
    assert plan.restarting_changes == 1
    assert (plan.pause, plan.restart) == (False, False)
    assert f"/model (model acme/weights@{'b' * 40})" in plan.summary()


def test_a_volume_change_is_batched_with_the_other_restarting_changes() -> None:
    before = spec(volumes=(MODEL,))
    moved = Volume(**{**MODEL.to_dict(), "revision": "b" * 40})
    plan = plan_for(
        spec(volumes=(moved,), hardware="t4-small"),
        observed_as(before, volumes=(MODEL,)),
        digests(before),
    )
    assert plan.restarting_changes == 2
    assert (plan.pause, plan.restart) == (True, True)


def test_volumes_added_by_hand_stay_and_ours_are_removed() -> None:
    mine = Volume(type="dataset", source="alice/extra", mount_path="/extra", read_only=True)
    before = spec(volumes=(MODEL,))
    observed = observed_as(before, volumes=(MODEL, mine))
    plan = plan_space(
        spec(),
        observed,
        managed_secrets=digests(before),
        managed_variables=frozenset({"LOG_LEVEL"}),
        salt=SALT,
        managed_volumes=frozenset({"/model"}),
    )
    assert plan.set_volumes == [mine]
    plan = plan_space(
        spec(),
        observed_as(before, volumes=(MODEL,)),
        managed_secrets=digests(before),
        managed_variables=frozenset({"LOG_LEVEL"}),
        salt=SALT,
        managed_volumes=frozenset({"/model"}),
    )
    assert (plan.set_volumes, plan.remove_volumes) == (None, True)
    assert "remove volumes" in plan.summary()
