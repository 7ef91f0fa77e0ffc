"""`pull_snapshot_at_start` is a valid ZenML init hook: its arguments are JSON-safe and checked
when a pipeline is configured, before anything is deployed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from zenml.exceptions import HookValidationException
from zenml.hooks.validation import resolve_and_validate_hook
from zenml.utils import source_utils

from zenml_hf_registry.registry import pull_snapshot_at_start

pytestmark = pytest.mark.unit

PIN = {
    "repo_id": "acme/iris-classifier",
    "registry": "acme/models",
    "revision": "a" * 40,
    "sha256": "b" * 64,
    "registry_endpoint": "http://127.0.0.1:8077/acme/models/huggingface",
}


@pytest.fixture(autouse=True)
def source_root(tmp_path: Path) -> Iterator[None]:
    # ZenML derives the source root from __main__'s file, which xdist workers do not have.
    source_utils.set_custom_source_root(str(tmp_path))
    try:
        yield
    finally:
        source_utils.set_custom_source_root(None)


def test_zenml_accepts_it_as_an_init_hook_with_a_pin() -> None:
    source, kwargs = resolve_and_validate_hook(pull_snapshot_at_start, kwargs=PIN)
    assert source.import_path == "zenml_hf_registry.registry.serving.pull_snapshot_at_start"
    assert kwargs == {
        **PIN,
        "registry_api_url": None,
        "token_env": "REGISTRY_READ_TOKEN",
        "local_dir": None,
    }


def test_a_pin_with_an_unknown_or_missing_key_is_refused_when_configured() -> None:
    with pytest.raises(HookValidationException, match="revison"):
        resolve_and_validate_hook(pull_snapshot_at_start, kwargs={**PIN, "revison": "x"})
    missing = {key: value for key, value in PIN.items() if key != "revision"}
    with pytest.raises(HookValidationException, match="revision"):
        resolve_and_validate_hook(pull_snapshot_at_start, kwargs=missing)
