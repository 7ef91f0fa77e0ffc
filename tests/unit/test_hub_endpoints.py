"""Raw Hub requests live in one module, and none duplicates a request an `HfApi` method makes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from huggingface_hub import HfApi

import zenml_hf_registry
from zenml_hf_registry.hub_endpoints import RAW_ENDPOINTS

pytestmark = pytest.mark.unit

PACKAGE = Path(zenml_hf_registry.__file__).parent
# The emulator serves the protocol rather than calling it; everything else is a Hub client.
CLIENT_MODULES = sorted(
    p for p in PACKAGE.rglob("*.py") if "hub" not in p.relative_to(PACKAGE).parts
)

_URL_IN_SOURCE = re.compile(r"""f["']\{(?:self\.)?endpoint\}(/[^"'?]*)""")
_VARIABLE = re.compile(r"\{[^}]*\}")


def _normalise(path: str) -> str:
    """`/api/spaces/{repo_id}/secrets` -> `/api/{}/{}/secrets`: variables and repo types alike."""
    path = _VARIABLE.sub("{}", path)
    return re.sub(r"^/api/(models|datasets|spaces|\{\}s|\{\})/", "/api/{}/", path)


def hf_api_paths() -> set[str]:
    """Every URL path template an `HfApi` method builds from its endpoint."""
    paths: set[str] = set()
    for _, method in inspect.getmembers(HfApi, inspect.isfunction):
        for match in _URL_IN_SOURCE.finditer(inspect.getsource(method)):
            paths.add(_normalise(match[1]))
    return paths


def test_the_extractor_sees_the_methods_it_judges_against() -> None:
    paths = hf_api_paths()
    # If these vanished, the check below would pass vacuously.
    assert "/api/{}/{}/secrets" in paths  # get_space_secrets, add/delete_space_secret
    assert "/api/{}/{}/runtime" in paths  # get_space_runtime
    assert len(paths) > 50


@pytest.mark.parametrize("endpoint", RAW_ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_no_raw_endpoint_duplicates_an_hfapi_method(endpoint: object) -> None:
    path = _normalise(endpoint.path)  # type: ignore[attr-defined]
    assert path not in hf_api_paths(), (
        f"{endpoint} has an HfApi method in huggingface_hub: call it instead of a raw request"
    )
    assert endpoint.defined_by  # type: ignore[attr-defined]


def test_raw_requests_are_made_in_one_module_only() -> None:
    raw_tools = re.compile(
        r"\b(get_session|hf_raise_for_status|build_hf_headers|httpx2\.(Client|request|get|post))\b"
    )
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in CLIENT_MODULES
        if p.name != "hub_endpoints.py" and raw_tools.search(p.read_text())
    ]
    assert offenders == []


def test_a_duplicate_would_be_caught() -> None:
    """The secrets listing the deployer once read by hand is exactly what the check refuses."""
    assert _normalise("/api/spaces/{space_id}/secrets") in hf_api_paths()
