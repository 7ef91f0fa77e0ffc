"""Run huggingface_hub's own tests against the local Hub and report what passes.

    python -m conformance.run [--workers N] [--update] [-k EXPR]

1. Downloads the sdist of the installed huggingface_hub from the package index (it ships
   `tests/`, without `conftest.py` and `__init__.py`) into a cache folder, and extracts it.
2. Adds `tests/__init__.py` and a `tests/conftest.py` that star-imports `conformance.plugin`.
3. Runs the modules in `MODULES` with pytest; each test process starts its own local Hub with the
   users and tokens of the upstream `testing_constants.py`.
4. Classifies every test: out of scope (`out_of_scope.toml` or the `production` marker), client
   only (sent no request to the Hub, so it does not judge the Hub), or in scope.
5. Writes `conformance/results.json` and fails when an in-scope test listed in
   `conformance/passing.txt` no longer passes (`--update` rewrites that list).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(os.environ.get("ZHR_CONFORMANCE_CACHE", ROOT / ".cache" / "conformance"))
RESULTS = HERE / "results.json"
PASSING = HERE / "passing.txt"

# The upstream modules whose tests exercise what the local Hub claims to serve: repos, files,
# LFS and Xet uploads, commits, refs, trees, downloads and Spaces, through the API, the file
# system interface and the `hf` CLI. `test_xet_download.py` reads fixed huggingface.co repos
# (all `production`), so it is collected and reported out of scope.
MODULES = (
    "test_hf_api.py",
    "test_file_download.py",
    "test_snapshot_download.py",
    "test_commit_scheduler.py",
    "test_hf_file_system.py",
    "test_cli.py",
    "test_xet_upload.py",
    "test_xet_download.py",
    "test_xet_utils.py",
)

# The fixtures and hooks come from `-p conformance.plugin`; the modules import this name.
CONFTEST = '''"""Fixtures for these tests: zenml-hf-registry's `conformance.plugin`."""
from conformance.plugin import RepoFactory  # noqa: F401
'''


def fetch_upstream_tests() -> Path:
    """The extracted sdist of the installed huggingface_hub, with our conftest in `tests/`."""
    pinned = version("huggingface_hub")
    root = CACHE / f"huggingface_hub-{pinned}"
    if not (root / "tests" / "testing_constants.py").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as download:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    f"huggingface_hub=={pinned}",
                    "-d",
                    download,
                ],
                check=True,
            )
            (sdist,) = Path(download).glob("huggingface_hub-*.tar.gz")
            with tarfile.open(sdist) as archive:
                archive.extractall(CACHE, filter="data")
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "conftest.py").write_text(CONFTEST)
    return root


def run_pytest(root: Path, record: Path, workers: int, extra: list[str]) -> int:
    """Run the upstream modules; returns pytest's exit code (failures are expected today)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "HUGGING")) and k != "PYTHONPATH"
    }
    env.update(
        {
            # What upstream's pytest-env settings give its CI.
            "HF_TOKEN": "",
            "HUGGING_FACE_HUB_TOKEN": "",
            "DISABLE_SYMLINKS_IN_WINDOWS_TESTS": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HOME": str(record.parent / "hf-home"),
            "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
            "ZHR_CONFORMANCE_TESTS_DIR": str(root / "tests"),
            "ZHR_CONFORMANCE_RECORD": str(record),
        }
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        *[f"tests/{m}" for m in MODULES],
        "-o",
        "addopts=",
        "-W",
        "error::FutureWarning",
        "--strict-markers",
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--timeout=180",
        "-q",
        "-rN",
        "--no-header",
        *(["-n", str(workers)] if workers > 1 else []),
        *extra,
    ]
    return subprocess.run(command, cwd=root, env=env, check=False).returncode


def summarise(record: Path) -> dict[str, Any]:
    """Classify every recorded test and count."""
    tests: dict[str, dict[str, Any]] = {}
    for line in record.read_text().splitlines():
        entry = json.loads(line)
        tests[entry["nodeid"]] = entry  # a test's run record replaces its collection record
    ran = {n: e for n, e in tests.items() if e["outcome"] in ("passed", "failed")}
    in_scope = {n: e for n, e in ran.items() if e["requests"] > 0 or e["uses_hub"]}
    out_of_scope = Counter(e["reason"] for e in tests.values() if e["outcome"] == "out_of_scope")
    client_only = [n for n in ran if n not in in_scope]
    passed = sorted(n for n, e in in_scope.items() if e["outcome"] == "passed")
    failed = sorted(n for n, e in in_scope.items() if e["outcome"] == "failed")
    return {
        "huggingface_hub": version("huggingface_hub"),
        "modules": list(MODULES),
        "collected": len(tests),
        "in_scope": len(in_scope),
        "in_scope_passed": len(passed),
        "in_scope_pass_rate": round(len(passed) / len(in_scope), 4) if in_scope else None,
        "client_only": len(client_only),
        "client_only_failed": sorted(n for n in client_only if ran[n]["outcome"] == "failed"),
        "skipped": sum(1 for e in tests.values() if e["outcome"] == "skipped"),
        "out_of_scope": dict(out_of_scope.most_common()),
        "failed": failed,
        "passed": passed,
    }


def main() -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--update", action="store_true", help="rewrite passing.txt")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()

    root = fetch_upstream_tests()
    with tempfile.TemporaryDirectory(prefix="zhr-conformance-") as work:
        record = Path(work) / "record.jsonl"
        record.touch()
        run_pytest(root, record, args.workers, args.pytest_args)
        summary = summarise(record)
    partial = bool(args.pytest_args)
    if not partial:
        RESULTS.write_text(
            json.dumps({k: v for k, v in summary.items() if k != "passed"}, indent=2) + "\n"
        )
    print(
        f"\nupstream conformance (huggingface_hub {summary['huggingface_hub']}): "
        f"{summary['in_scope_passed']} of {summary['in_scope']} in-scope tests pass "
        f"({summary['in_scope_pass_rate'] or 0:.1%}); {summary['client_only']} client-only "
        f"({len(summary['client_only_failed'])} failing), "
        f"{summary['skipped']} skipped, {sum(summary['out_of_scope'].values())} out of scope"
    )
    expected = set(PASSING.read_text().split()) if PASSING.exists() else set()
    passed = set(summary["passed"])
    if args.update and not partial:
        PASSING.write_text("".join(f"{n}\n" for n in sorted(passed)))
        return 0
    regressed = sorted(n for n in expected - passed if partial is False or n in summary["failed"])
    if regressed:
        print(f"{len(regressed)} test(s) in conformance/passing.txt no longer pass:")
        for nodeid in regressed:
            print(f"  {nodeid}")
        return 1
    newly = sorted(passed - expected)
    if newly and not partial:
        print(f"{len(newly)} more test(s) pass: run with --update to keep them passing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
