"""The conftest that huggingface_hub's sdist leaves out, pointed at a local Hub.

`run.py` loads it with `-p conformance.plugin` (the extracted `tests/conftest.py` only re-exports
`RepoFactory`, which the modules import from there). It provides the
fixtures the upstream test modules expect (`api`, `repo_factory`, the autouse fixtures that give
every test its own cache and a deterministic CLI environment), written here from what the tests
use, and three things of its own:

- a local Hub per test process, started in a child process (tests patch sockets and
  huggingface_hub's constants, which must not reach the server), with `ENDPOINT_STAGING` of the
  upstream `testing_constants` pointed at it before any test module imports it;
- the out-of-scope list (`out_of_scope.toml`) applied at collection, each with its reason;
- a record per test of its outcome and of how many requests it sent to the Hub, so the report
  can tell tests of the Hub from tests of the client alone.
"""

from __future__ import annotations

import atexit
import contextlib
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

import huggingface_hub
import pytest
from huggingface_hub import HfApi, RepoUrl, constants

from zenml_hf_registry.hub.control import ControlClient

HERE = Path(__file__).resolve().parent
# `production` tests that upstream runs by replaying recorded huggingface.co answers (VCR): the
# Space API cannot be tested on hub-ci. Here they run live against the local Hub, as the user
# and token they were recorded with, which is how the recordings judge the local Hub's Spaces.
LIVE_PRODUCTION_TESTS = ("test_hf_api.py::TestSpaceAPIProduction::*",)
OUT_OF_SCOPE_FILE = HERE / "out_of_scope.toml"


# -- the local Hub this process talks to ---------------------------------------------------


def _start_hub() -> tuple[str, str, subprocess.Popen[str]]:
    tests_dir = Path(os.environ["ZHR_CONFORMANCE_TESTS_DIR"])
    constants_file = tests_dir / "testing_constants.py"
    data_dir = Path(tempfile.mkdtemp(prefix="zhr-conformance-hub-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.serve", str(data_dir), str(constants_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=HERE.parent,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    admin_token = process.stdout.readline().strip()
    if not url.startswith("http") or not admin_token:
        process.kill()
        raise RuntimeError("the local Hub for the conformance run did not start")
    atexit.register(_stop_hub, process)
    return url, admin_token, process


def _stop_hub(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _point_constants_at(url: str) -> None:
    # The test modules import these names from `tests.testing_constants` at import time, after
    # this conftest: patching the module now is what they see.
    from tests import testing_constants

    testing_constants.ENDPOINT_STAGING = url
    # Only the tests in LIVE_PRODUCTION_TESTS run with this endpoint (the other `production`
    # tests are deselected): they replay huggingface.co recordings upstream, here they talk to
    # the local Hub live.
    testing_constants.ENDPOINT_PRODUCTION = url
    # Upstream runs with HUGGINGFACE_CO_STAGING=1, which sets these at import, for the whole
    # process: class-scoped fixtures build `HfApi(endpoint=constants.ENDPOINT)` before any
    # function-scoped patch applies, so they must point at the local Hub from the start too.
    constants.ENDPOINT = url
    constants.HUGGINGFACE_CO_URL_TEMPLATE = url + "/{repo_id}/resolve/{revision}/{filename}"


ENDPOINT, _ADMIN_TOKEN, _HUB_PROCESS = _start_hub()
_point_constants_at(ENDPOINT)
from tests.testing_constants import TOKEN  # noqa: E402
from tests.testing_utils import repo_name  # noqa: E402


def _hub_requests() -> int:
    """Requests the Hub has answered, the control plane's own excluded."""
    stats = ControlClient(ENDPOINT, _ADMIN_TOKEN).stats()
    return sum(n for route, n in stats["requests"].items() if "/_emulator" not in route)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Upstream's pytest-env settings: `run.py` sets that environment itself."""
    parser.addini("env", "environment set by run.py (upstream uses pytest-env)", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    """Markers of upstream plugins not installed here (their tests replay recordings)."""
    config.addinivalue_line("markers", "vcr: replays recorded huggingface.co responses")


# -- scope and the per-test record ----------------------------------------------------------


def _out_of_scope() -> list[tuple[str, str]]:
    data = tomllib.loads(OUT_OF_SCOPE_FILE.read_text())
    return [(pattern, group["reason"]) for group in data["group"] for pattern in group["tests"]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect out-of-scope tests, each with its recorded reason."""
    rules = _out_of_scope()
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        nodeid = item.nodeid.removeprefix("tests/")
        reason = None
        live = any(fnmatch.fnmatchcase(nodeid, p) for p in LIVE_PRODUCTION_TESTS)
        if item.get_closest_marker("production") is not None and not live:
            reason = "talks to huggingface.co itself (`production` marker)"
        else:
            reason = next((r for p, r in rules if fnmatch.fnmatchcase(nodeid, p)), None)
        if reason is None:
            keep.append(item)
        else:
            dropped.append(item)
            _record({"nodeid": nodeid, "outcome": "out_of_scope", "reason": reason})
    items[:] = keep
    config.hook.pytest_deselected(items=dropped)


def _record(entry: dict[str, Any]) -> None:
    path = os.environ.get("ZHR_CONFORMANCE_RECORD")
    if path:
        with Path(path).open("a") as out:
            out.write(json.dumps(entry) + "\n")


_OUTCOMES = pytest.StashKey[list[str]]()
_HUB_FIXTURES = {"api", "repo_factory"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    """Record each test's outcome and the requests it sent to the Hub, setup and teardown too."""
    before = _hub_requests()
    item.stash[_OUTCOMES] = []
    try:
        return (yield)
    finally:
        outcomes = item.stash[_OUTCOMES]
        outcome = (
            "failed" if "failed" in outcomes else "skipped" if "skipped" in outcomes else "passed"
        )
        _record(
            {
                "nodeid": item.nodeid.removeprefix("tests/"),
                "outcome": outcome,
                "requests": _hub_requests() - before,
                # A class fixture that failed once fails its other tests with no request sent:
                # they judge the Hub all the same.
                "uses_hub": bool(_HUB_FIXTURES & set(getattr(item, "fixturenames", ())))
                or outcomes[:1] == ["failed"],
            }
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Keep the outcome of each phase (setup, call, teardown)."""
    report: pytest.TestReport = yield
    item.stash[_OUTCOMES].append(report.outcome)
    return report


# -- fixtures the upstream modules use -----------------------------------------------------


@pytest.fixture(autouse=True)
def patch_constants(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test gets its own HF cache, token file and assets folder."""
    home = tmp_path / "hf-home"
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HUGGINGFACE_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_XET_CACHE", str(home / "xet"))
    monkeypatch.setattr(constants, "HF_ASSETS_CACHE", str(home / "assets"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    # Bare `HfApi()` objects and download URLs in the tests mean "the staging Hub".
    monkeypatch.setattr(constants, "ENDPOINT", ENDPOINT)
    template = ENDPOINT + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)


@pytest.fixture(autouse=True)
def xet_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """`xet`-marked tests force Xet on, `no_xet` ones need hf_xet absent; others run as set up."""
    from huggingface_hub.utils._runtime import is_package_available

    if request.node.get_closest_marker("xet") is not None:
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
        monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)
    elif request.node.get_closest_marker("no_xet") is not None and is_package_available("hf_xet"):
        pytest.skip("needs hf_xet not installed (`no_xet` marker)")


@pytest.fixture(autouse=True)
def clean_cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's output as the tests expect it: no agent detection, no colours, 200 columns."""
    from huggingface_hub.cli._output import out
    from huggingface_hub.utils import _detect_agent

    monkeypatch.setattr(_detect_agent, "_registry", _detect_agent._EMPTY_REGISTRY)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    out.set_mode()
    out.set_no_truncate(False)


@pytest.fixture(autouse=True)
def reset_oauth_refresh_state() -> None:
    """`get_token()` caches an OAuth decision per process: start each test without it."""
    from huggingface_hub.utils import _auth

    _auth._OAUTH_REFRESH_CACHE = None  # type: ignore[attr-defined]
    _auth._OAUTH_REFRESH_WARNED = False  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def disable_experimental_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Experimental-API warnings are noise here."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_EXPERIMENTAL_WARNING", True)


@pytest.fixture(autouse=True)
def expect_deprecation_marker(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    """`@pytest.mark.deprecated("name", ...)`: the test must warn (FutureWarning) about each."""
    from _pytest.skipping import evaluate_skip_marks

    names = [n for marker in request.node.iter_markers("deprecated") for n in marker.args]
    if not names or evaluate_skip_marks(request.node):
        yield
        return
    with ExitStack() as stack:
        for name in names:
            stack.enter_context(pytest.warns(FutureWarning, match=rf".*'{name}'.*"))
        yield


@pytest.fixture(autouse=True)
def skip_git_lfs_unless_enabled(request: pytest.FixtureRequest) -> None:
    """`git_lfs` tests need git-lfs and run only with RUN_GIT_LFS_TESTS=1."""
    if request.node.get_closest_marker("git_lfs") and os.environ.get("RUN_GIT_LFS_TESTS") != "1":
        pytest.skip("git-lfs test (set RUN_GIT_LFS_TESTS=1 to run)")


@pytest.fixture(scope="session")
def api() -> HfApi:
    """The client as the staging test user."""
    return HfApi(endpoint=ENDPOINT, token=TOKEN)


class RepoFactory(Protocol):
    """`repo_factory(repo_type="model", **create_repo_kwargs) -> RepoUrl`, deleted after."""

    def __call__(self, repo_type: str = "model", **kwargs: Any) -> RepoUrl: ...


@pytest.fixture
def repo_factory(api: HfApi) -> Iterator[RepoFactory]:
    """Create repos (Spaces default to the gradio SDK, as upstream) and delete them after."""
    created: list[tuple[str, str]] = []

    def factory(repo_type: str = "model", **kwargs: Any) -> RepoUrl:
        if repo_type == "space":
            kwargs.setdefault("space_sdk", "gradio")
        kwargs.setdefault("repo_id", repo_name(prefix=repo_type))
        url = api.create_repo(repo_type=repo_type, **kwargs)
        created.append((url.repo_id, repo_type))
        return url

    yield factory
    for repo_id, repo_type in created:
        # The test may have deleted or moved it itself.
        with contextlib.suppress(huggingface_hub.errors.HfHubHTTPError):
            api.delete_repo(repo_id=repo_id, repo_type=repo_type)
