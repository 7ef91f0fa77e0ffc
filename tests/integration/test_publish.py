"""Publishing snapshots from a source Hub to a registry facade: two local Hubs, the real client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, snapshot_download

from tests.conftest import HubTokens, hub_faults, hub_stats
from zenml_hf_registry.errors import (
    ChecksumMismatchError,
    ConfigurationError,
    HubAccessError,
    HubUnavailableError,
    SnapshotNotFoundError,
)
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec
from zenml_hf_registry.registry import (
    HubTarget,
    PackageRecord,
    RegistryTarget,
    list_packages,
    publish_snapshot,
    pull_snapshot,
    snapshot_checksums,
)

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
HF = Path(sys.executable).with_name("hf")
REGISTRY_WRITE = TokenSpec(token="bk-registry-write-token", user="acme", role=TokenRole.WRITE)
REGISTRY_READ = TokenSpec(token="bk-registry-read-token", user="acme", role=TokenRole.READ)


@dataclass
class Setup:
    source: LocalHub
    registry_hub: LocalHub
    source_target: HubTarget
    registry: RegistryTarget
    sha: str

    def publish(self, cache_dir: Path) -> PackageRecord:
        """Publish acme/tiny-model at its pinned commit to the test registry."""
        return publish_snapshot(
            "acme/tiny-model",
            revision=self.sha,
            source=self.source_target,
            registry=self.registry,
            cache_dir=cache_dir,
        )


@pytest.fixture
def setup(tmp_path: Path, hub_tokens: HubTokens, hub_settings: HubSettings) -> Iterator[Setup]:
    registry_settings = HubSettings(
        data_dir=tmp_path / "registry-data",
        registries=(
            RegistrySpec(
                org="acme", name="models", private=True, tokens=(REGISTRY_WRITE, REGISTRY_READ)
            ),
        ),
        lfs_threshold=1 * MiB,
    )
    with LocalHub(hub_settings) as source, LocalHub(registry_settings) as registry_hub:
        api = HfApi(endpoint=source.url, token=hub_tokens.writer.token)
        api.create_repo("acme/tiny-model", private=True)
        folder = tmp_path / "model"
        (folder / "tokenizer").mkdir(parents=True)
        (folder / "config.json").write_text('{"hidden": 8}\n')
        (folder / "tokenizer" / "vocab.txt").write_text("a\nb\n")
        (folder / "model.safetensors").write_bytes(os.urandom(3 * MiB))
        commit = api.upload_folder(repo_id="acme/tiny-model", folder_path=folder)
        yield Setup(
            source=source,
            registry_hub=registry_hub,
            source_target=HubTarget(endpoint=source.url, token=hub_tokens.writer.token),
            registry=RegistryTarget(
                org="acme",
                registry="models",
                token=REGISTRY_WRITE.token,
                endpoint=f"{registry_hub.url}/acme/models/huggingface",
            ),
            sha=commit.oid,
        )


def test_publish_from_the_default_cache_under_dot_cache_sends_every_file(
    setup: Setup, tmp_path: Path
) -> None:
    # The default cache is ~/.cache/huggingface/hub: a `.cache` above the snapshot folder is
    # not huggingface_hub's `local_dir` bookkeeping and must not hide the files.
    record = setup.publish(tmp_path / "home" / ".cache" / "huggingface" / "hub")
    assert {f.path for f in record.files} >= {"config.json", "model.safetensors"}
    assert record.uploaded_bytes >= 3 * MiB


def test_publish_pins_the_commit_and_verifies_checksums(setup: Setup, tmp_path: Path) -> None:
    # A later commit on main must not change what a pinned publish sends.
    HfApi(endpoint=setup.source.url, token=setup.source_target.token).upload_file(
        path_or_fileobj=b"later", path_in_repo="later.txt", repo_id="acme/tiny-model"
    )
    record = setup.publish(tmp_path / "cache")

    assert record.name == f"acme/tiny-model@{setup.sha}"
    assert record.revision == setup.sha
    assert record.registry == "acme/models"
    assert {f.path for f in record.files} == {
        ".gitattributes",
        "config.json",
        "tokenizer/vocab.txt",
        "model.safetensors",
    }
    snapshot = tmp_path / "cache" / "models--acme--tiny-model" / "snapshots" / setup.sha
    assert snapshot.is_dir()  # the standard cache folder the Buildkite docs name
    local = snapshot_checksums(snapshot)
    assert (record.md5, record.sha1, record.sha256, record.sha512, record.size) == (
        local.md5,
        local.sha1,
        local.sha256,
        local.sha512,
        local.size,
    )
    assert record.registry_revision in record.file_name
    assert "hf download acme/tiny-model --revision" in record.install_command
    assert record.uploaded_bytes >= 3 * MiB
    assert record.visibility == "private"

    # Each token went only to its own host.
    source, registry = setup.source.control, setup.registry_hub.control
    source_seen = source.stats()["token_fingerprints"]
    registry_seen = registry.stats()["token_fingerprints"]
    assert source.fingerprint(setup.source_target.token or "") in source_seen
    assert registry.fingerprint(REGISTRY_WRITE.token) in registry_seen
    assert registry.fingerprint(setup.source_target.token or "") not in registry_seen
    assert source.fingerprint(REGISTRY_WRITE.token) not in source_seen


def api_requests(stats: dict[str, Any]) -> Counter[str]:
    """Requests per route, without the emulator's own endpoints (the stats calls included)."""
    return Counter(
        {route: n for route, n in stats["requests"].items() if "/_emulator/" not in route}
    )


def test_republish_sends_no_bytes_and_returns_the_same_record(setup: Setup, tmp_path: Path) -> None:
    first = setup.publish(tmp_path / "cache")
    before = hub_stats(setup.registry_hub)
    source_before = hub_stats(setup.source)

    again = setup.publish(tmp_path / "other-cache")

    after = hub_stats(setup.registry_hub)
    assert again.uploaded_bytes == 0
    assert again.registry_revision == first.registry_revision
    assert again.sha256 == first.sha256
    assert after["lfs_upload_bytes"] == before["lfs_upload_bytes"]
    made = api_requests(after) - api_requests(before)
    made += api_requests(hub_stats(setup.source)) - api_requests(source_before)
    # Source info, registry info, package listing, package details: four reads, no write.
    assert sum(made.values()) == 4, made
    assert all(route.startswith("GET ") for route in +made), made
    assert not (tmp_path / "other-cache").exists()  # nothing was downloaded


def test_pull_into_a_fresh_cache_is_byte_identical_and_counts_downloads(
    setup: Setup, tmp_path: Path
) -> None:
    record = setup.publish(tmp_path / "cache")
    reader = setup.registry.model_copy(update={"token": REGISTRY_READ.token})

    pulled, folder = pull_snapshot(
        "acme/tiny-model", registry=reader, local_dir=tmp_path / "pulled"
    )

    original = tmp_path / "cache" / "models--acme--tiny-model" / "snapshots" / setup.sha
    for entry in record.files:
        assert (folder / entry.path).read_bytes() == (original / entry.path).read_bytes()
    assert pulled.revision == setup.sha  # recovered from the registry's commit
    assert pulled.sha512 == record.sha512
    items = list_packages(reader, name="acme/tiny-model")
    assert [item["version"] for item in items] == [record.registry_revision]
    details = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                f"{setup.registry_hub.url}/v2/packages/organizations/acme/registries/models/packages/"
                f"{items[0]['id']}",
                headers={"Authorization": f"Bearer {REGISTRY_READ.token}"},
            ),
            timeout=10,
        ).read()
    )
    assert details["downloads"] == len(record.files)
    assert details["checksums"]["sha256"] == record.sha256


def test_private_registry_refuses_anonymous_and_read_only_publishing(
    setup: Setup, tmp_path: Path
) -> None:
    anonymous = setup.registry.model_copy(update={"token": None})
    with pytest.raises(HubAccessError):
        list_packages(anonymous)
    read_only = setup.registry.model_copy(update={"token": REGISTRY_READ.token})
    with pytest.raises(HubAccessError, match="refused the token"):
        publish_snapshot(
            "acme/tiny-model",
            revision=setup.sha,
            source=setup.source_target,
            registry=read_only,
            cache_dir=tmp_path / "cache",
        )
    assert not (tmp_path / "cache").exists()  # refused before a byte moved
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(
            f"{setup.registry_hub.url}/acme/models/huggingface/api/models/acme/tiny-model",
            timeout=10,
        )
    assert refused.value.code == 404


@pytest.mark.parametrize(
    ("repo_id", "revision", "error", "message"),
    [
        ("acme/no-such-model", "main", SnapshotNotFoundError, "does not exist"),
        ("acme/tiny-model", "no-such-branch", SnapshotNotFoundError, "no revision"),
        ("not a repo id", "main", ConfigurationError, "invalid repo id"),
    ],
)
def test_bad_input_fails_before_any_byte_moves(
    setup: Setup,
    tmp_path: Path,
    repo_id: str,
    revision: str,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        publish_snapshot(
            repo_id,
            revision=revision,
            source=setup.source_target,
            registry=setup.registry,
            cache_dir=tmp_path / "cache",
        )
    assert not (tmp_path / "cache").exists()
    assert list_packages(setup.registry) == []


def test_invalid_registry_slugs_are_refused() -> None:
    with pytest.raises(ValueError, match="slug"):
        RegistryTarget(org="Acme Corp", registry="models")


def test_documented_hf_upload_of_the_cached_snapshot_folder(setup: Setup, tmp_path: Path) -> None:
    from huggingface_hub import snapshot_download

    folder = snapshot_download(
        "acme/tiny-model",
        revision=setup.sha,
        endpoint=setup.source.url,
        token=setup.source_target.token,
        cache_dir=tmp_path / "hub-cache",
    )
    env = {
        **os.environ,
        "HF_ENDPOINT": setup.registry.hub_endpoint,
        "HF_TOKEN": REGISTRY_WRITE.token,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
    }
    result = subprocess.run(
        [HF, "upload", "acme/tiny-model", folder],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    items: list[dict[str, Any]] = list_packages(setup.registry, name="acme/tiny-model")
    assert len(items) == 1


def test_cli_publish_pull_and_list(setup: Setup, tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("zenml-hf-registry")
    env = {
        **os.environ,
        "HF_TOKEN": setup.source_target.token or "",
        "ZENML_HF_REGISTRY_TOKEN": REGISTRY_WRITE.token,
        "COLUMNS": "200",
    }
    common = ["--registry", "acme/models", "--registry-endpoint", setup.registry.hub_endpoint]

    published = subprocess.run(
        [
            cli,
            "publish",
            "acme/tiny-model",
            "--revision",
            setup.sha,
            *common,
            "--source-endpoint",
            setup.source.url,
            "--cache-dir",
            str(tmp_path / "c"),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert published.returncode == 0, published.stderr
    record = json.loads(published.stdout)
    assert record["name"] == f"acme/tiny-model@{setup.sha}"
    assert REGISTRY_WRITE.token not in published.stdout + published.stderr
    assert (setup.source_target.token or "") not in published.stdout + published.stderr

    listed = subprocess.run(
        [cli, "packages", "list", *common], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert record["registry_revision"] in listed.stdout

    pulled = subprocess.run(
        [cli, "pull", "acme/tiny-model", *common, "--local-dir", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert record["sha256"] in pulled.stdout
    assert (tmp_path / "out" / "config.json").read_text() == '{"hidden": 8}\n'

    refused = subprocess.run(
        [cli, "publish", "acme/tiny-model", *common, "--source-endpoint", setup.source.url],
        env={**env, "ZENML_HF_REGISTRY_TOKEN": "wrong-token"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 3  # the documented code of a refused token
    assert "refused the token" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_failed_commit_publishes_nothing_and_the_retry_resumes(
    setup: Setup, tmp_path: Path
) -> None:
    # The LFS objects go up, then the Hub fails every commit for a while.
    hub_faults(setup.registry_hub, "POST", method="POST", path=r"/commit/", status=503, times=20)
    with pytest.raises(HubUnavailableError) as failed:
        setup.publish(tmp_path / "cache")
    assert setup.registry_hub.url in str(failed.value)
    assert REGISTRY_WRITE.token not in str(failed.value)
    assert list_packages(setup.registry) == []  # no record of a partial upload
    sent = hub_stats(setup.registry_hub)["lfs_upload_bytes"]
    assert sent >= 3 * MiB

    hub_faults(setup.registry_hub, "DELETE")
    record = setup.publish(tmp_path / "cache")
    # The objects already on the registry are not sent again.
    assert hub_stats(setup.registry_hub)["lfs_upload_bytes"] == sent
    assert [p["version"] for p in list_packages(setup.registry)] == [record.registry_revision]


def test_a_connection_dropped_during_an_lfs_upload_is_retried(setup: Setup, tmp_path: Path) -> None:
    hub_faults(setup.registry_hub, "POST", method="PUT", path="/_lfs/", action="drop", times=1)
    record = setup.publish(tmp_path / "cache")
    assert record.size > 3 * MiB
    assert len(list_packages(setup.registry)) == 1
    assert hub_faults(setup.registry_hub) == {"pending": [], "fired": 1}  # the drop did happen


def test_slow_responses_only_slow_a_publish_down(setup: Setup, tmp_path: Path) -> None:
    hub_faults(
        setup.registry_hub, "POST", method="GET", path=r"/api/models/", action="delay", delay=1.5
    )
    record = setup.publish(tmp_path / "cache")
    assert record.revision == setup.sha
    assert hub_faults(setup.registry_hub)["fired"] == 1


@pytest.mark.parametrize("name", ["model.safetensors", "config.json"])
def test_a_damaged_cached_file_stops_the_publish_before_any_byte_is_sent(
    setup: Setup, tmp_path: Path, name: str
) -> None:
    folder = Path(
        snapshot_download(
            "acme/tiny-model",
            revision=setup.sha,
            endpoint=setup.source.url,
            token=setup.source_target.token,
            cache_dir=tmp_path / "cache",
        )
    )
    damaged = (folder / name).resolve()
    content = bytearray(damaged.read_bytes())
    content[0] ^= 0xFF  # same size, different bytes
    damaged.write_bytes(bytes(content))

    with pytest.raises(ChecksumMismatchError) as refused:
        setup.publish(tmp_path / "cache")
    message = str(refused.value)
    assert f"of {name} mismatch" in message
    assert "the cache has" in message
    assert "delete it and publish again" in message
    assert hub_stats(setup.registry_hub)["lfs_upload_bytes"] == 0
    commits = HfApi(
        endpoint=setup.registry.hub_endpoint, token=REGISTRY_WRITE.token
    ).list_repo_commits("acme/tiny-model")
    assert [c.title for c in commits if c.title.startswith("Publish")] == []
    assert list_packages(setup.registry) == []


def test_cli_failures_are_one_line_with_documented_exit_codes(setup: Setup, tmp_path: Path) -> None:
    cli = str(Path(sys.executable).with_name("zenml-hf-registry"))
    common = ["--registry", "acme/models", "--registry-endpoint", setup.registry.hub_endpoint]
    env = {**os.environ, "HF_TOKEN": setup.source_target.token or "", "COLUMNS": "200"}

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cli, *args],
            env={**env, **extra_env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
        assert "Traceback" not in result.stdout + result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, result.stderr
        return errors[0]

    # A read-only registry token: refused (3) before anything is downloaded.
    read_only = run(
        *("publish", "acme/tiny-model", "--revision", setup.sha, *common),
        *("--source-endpoint", setup.source.url, "--cache-dir", str(tmp_path / "c")),
        ZENML_HF_REGISTRY_TOKEN=REGISTRY_READ.token,
    )
    assert read_only.returncode == 3, read_only.stderr
    assert "refused the token" in one_error_line(read_only)
    assert REGISTRY_READ.token not in read_only.stdout + read_only.stderr

    # HF_ENDPOINT is the default source; an unknown repo there is "not found" (4).
    missing = run(
        *("publish", "acme/no-such-model", *common),
        HF_ENDPOINT=setup.source.url,
        ZENML_HF_REGISTRY_TOKEN=REGISTRY_WRITE.token,
    )
    assert missing.returncode == 4, missing.stderr
    assert f"acme/no-such-model does not exist at {setup.source.url}" in one_error_line(missing)

    # A token the local Hub refuses is named by its option, never echoed (2).
    short = run("hub", "serve", "--port", "0", "--token", "shh", "--data-dir", str(tmp_path / "h"))
    assert short.returncode == 2
    assert "at least 8 characters" in one_error_line(short)
    assert "shh" not in short.stdout + short.stderr

    # A port in use (5).
    port = setup.source.url.rsplit(":", 1)[1]
    busy = run("hub", "serve", "--port", port, "--data-dir", str(tmp_path / "h"))
    assert busy.returncode == 5
    assert "Address already in use" in one_error_line(busy)
