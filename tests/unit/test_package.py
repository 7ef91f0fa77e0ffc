"""The installable package: its public surface, its weight at import, its console script."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import zenml_hf_registry

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("zenml-hf-registry")


def test_public_api_is_pinned() -> None:
    assert sorted(zenml_hf_registry.__all__) == ["__version__"]


def test_import_stays_light() -> None:
    code = (
        "import sys, zenml_hf_registry\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'uvicorn', 'starlette'} or m.startswith('zenml_hf_registry.hub'))\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_console_script_help_and_version() -> None:
    help_result = subprocess.run([CLI, "--help"], capture_output=True, text=True, check=True)
    assert "Hugging Face" in help_result.stdout
    assert "hub" in help_result.stdout
    version = subprocess.run([CLI, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"zenml-hf-registry, version {zenml_hf_registry.__version__}"


def test_wheel_holds_the_package_and_no_tests(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("zenml_hf_registry-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "zenml_hf_registry/__init__.py" in names
    assert "zenml_hf_registry/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "examples/"))]


@pytest.mark.parametrize("override", ["true", "false"])
def test_zenml_invoke_is_wrapped_with_or_without_the_flavor_override(override: str) -> None:
    # `zenml deployment invoke` reaches private Spaces through this wrapper (tests/e2e test
    # it end to end); it must be in place in a fresh process whatever the flavor setting.
    code = (
        "import zenml.deployers.utils as u\n"
        "f = u.invoke_deployment\n"
        "print(f.__code__.co_filename.rsplit('/', 2)[-2:], f.__wrapped__.__code__.co_filename)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "ZENML_HF_REGISTRY_OVERRIDE_BUILTIN": override},
    )
    assert result.stdout.startswith("['zenml_hf_registry', '_override.py']")
    assert result.stdout.strip().endswith("zenml/deployers/utils.py")
