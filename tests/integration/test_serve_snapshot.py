"""The init hook that serves an exact published snapshot: it pulls and verifies the pinned
package once, or refuses (before any download when the pin itself is wrong), and its errors
say what to change without ever holding the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import hub_stats
from tests.integration.test_publish import REGISTRY_READ, Setup, setup  # noqa: F401
from zenml_hf_registry.errors import (
    ChecksumMismatchError,
    ConfigurationError,
    RefusedToServeError,
)
from zenml_hf_registry.registry import (
    DEFAULT_TOKEN_ENV,
    PackageRecord,
    ServedSnapshot,
    pull_snapshot_at_start,
)

pytestmark = pytest.mark.integration

REPO = "acme/tiny-model"


def _pin(setup: Setup, record: PackageRecord, **changes: str | None) -> dict[str, str | None]:  # noqa: F811
    pin: dict[str, str | None] = {
        "repo_id": REPO,
        "registry": "acme/models",
        "revision": record.registry_revision,
        "sha256": record.sha256,
        "registry_endpoint": setup.registry.hub_endpoint,
    }
    pin.update(changes)
    return pin


def _hub_requests(setup: Setup) -> dict[str, int]:  # noqa: F811
    routes = hub_stats(setup.registry_hub)["requests"]
    return {route: n for route, n in routes.items() if "/_emulator/" not in route}


def _downloads(setup: Setup) -> int:  # noqa: F811
    routes = hub_stats(setup.registry_hub)["requests"]
    return sum(count for route, count in routes.items() if "/resolve/" in route)


def test_the_pinned_package_is_pulled_verified_and_handed_to_the_steps(
    setup: Setup,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = setup.publish(tmp_path / "publish-cache")
    monkeypatch.setenv(DEFAULT_TOKEN_ENV, REGISTRY_READ.token)

    served = pull_snapshot_at_start(**_pin(setup, record), local_dir=str(tmp_path / "served"))  # type: ignore[arg-type]

    assert isinstance(served, ServedSnapshot)
    assert served.record.registry_revision == record.registry_revision
    assert served.record.revision == setup.sha  # the source commit it was published from
    assert served.record.sha256 == record.sha256
    assert served.file("config.json").read_text() == '{"hidden": 8}\n'
    assert served.file("model.safetensors").stat().st_size == 3 * 1024 * 1024
    with pytest.raises(KeyError, match="no file"):
        served.file("other.bin")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"revision": "main"}, "is not a commit id"),
        ({"sha256": "ABC"}, "is not a sha256 digest"),
        ({"registry": "acme"}, "is not ORG/REGISTRY"),
        ({"registry": "Acme/models"}, "slug"),
        ({"token_env": "REGISTRY TOKEN"}, "not an environment variable name"),
    ],
)
def test_a_malformed_pin_is_refused_before_any_request(
    setup: Setup,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, str],
    message: str,
) -> None:
    record = setup.publish(tmp_path / "publish-cache")
    monkeypatch.setenv(DEFAULT_TOKEN_ENV, REGISTRY_READ.token)
    before = _hub_requests(setup)

    with pytest.raises(RefusedToServeError, match=message) as refused:
        pull_snapshot_at_start(**_pin(setup, record, **changes), local_dir=str(tmp_path / "s"))  # type: ignore[arg-type]

    assert isinstance(refused.value.__cause__, ConfigurationError)
    assert "snapshot pin is invalid" in str(refused.value)
    assert _hub_requests(setup) == before
    assert not (tmp_path / "s").exists()


def test_a_pin_that_is_not_the_published_package_is_refused(
    setup: Setup,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = setup.publish(tmp_path / "publish-cache")
    monkeypatch.setenv(DEFAULT_TOKEN_ENV, REGISTRY_READ.token)

    with pytest.raises(RefusedToServeError, match="the deployment pins 0000") as wrong_sum:
        pull_snapshot_at_start(**_pin(setup, record, sha256="0" * 64))  # type: ignore[arg-type]
    assert record.sha256 in str(wrong_sum.value)

    with pytest.raises(RefusedToServeError, match="has no package acme/tiny-model at"):
        pull_snapshot_at_start(**_pin(setup, record, revision="f" * 40))  # type: ignore[arg-type]


def test_without_the_token_secret_the_error_says_how_to_set_it(
    setup: Setup,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = setup.publish(tmp_path / "publish-cache")
    monkeypatch.delenv(DEFAULT_TOKEN_ENV, raising=False)
    with pytest.raises(RefusedToServeError) as refused:
        pull_snapshot_at_start(**_pin(setup, record))  # type: ignore[arg-type]
    message = str(refused.value)
    assert "No registry token was set in $REGISTRY_READ_TOKEN" in message
    assert "space_secrets: {REGISTRY_READ_TOKEN: '{{registry_read.token}}'}" in message
    assert _downloads(setup) == 0

    # A token the registry refuses: refused, and the token is nowhere in the error.
    monkeypatch.setenv(DEFAULT_TOKEN_ENV, "bk-not-a-registry-token")
    with pytest.raises(RefusedToServeError) as bad_token:
        pull_snapshot_at_start(**_pin(setup, record))  # type: ignore[arg-type]
    assert "bk-not-a-registry-token" not in str(bad_token.value)
    assert _downloads(setup) == 0


def test_a_tampered_package_is_refused_and_nothing_is_left_to_load(
    setup: Setup,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = setup.publish(tmp_path / "publish-cache")
    weights = next(f for f in record.files if f.path == "model.safetensors")
    assert weights.sha256 is not None
    blob = setup.registry_hub.app.state.hub.blobs.path(weights.sha256)
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF  # same size, other bytes: what a compromised store would serve
    blob.write_bytes(bytes(data))
    monkeypatch.setenv(DEFAULT_TOKEN_ENV, REGISTRY_READ.token)
    served = tmp_path / "served"

    with pytest.raises(RefusedToServeError, match=r"content of model\.safetensors") as refused:
        pull_snapshot_at_start(**_pin(setup, record), local_dir=str(served))  # type: ignore[arg-type]

    assert isinstance(refused.value.__cause__, ChecksumMismatchError)
    assert str(refused.value).startswith(f"Refusing to serve {REPO} at {record.registry_revision}")
    assert not (served / "model.safetensors").exists()
