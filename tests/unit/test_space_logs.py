"""Space logs as plain text: escape codes out, `--tail` as `docker logs`, the cause first."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console
from rich.traceback import Traceback

from zenml_hf_registry.deployer.logs import (
    check_tail,
    failure_cause,
    last_lines,
    plain_line,
    strip_ansi,
)

pytestmark = pytest.mark.unit


def rich_traceback_lines() -> list[str]:
    """What a Space's run log holds when its app dies with rich's traceback handler on a
    terminal: colours, box frames, and the exception line among ~30 others."""
    try:
        __import__("a_module_the_space_does_not_have")
    except ModuleNotFoundError:
        exc_type, exc_value, tb = sys.exc_info()
        assert exc_type is not None
        assert exc_value is not None
        trace = Traceback.from_exception(exc_type, exc_value, tb)
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=100).print(trace)
    return ["INFO: starting the app", *out.getvalue().splitlines(), "INFO: shutting down"]


def test_escape_codes_and_box_frames_go() -> None:
    assert strip_ansi("\x1b[1;31mError\x1b[0m \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == (
        "Error link"
    )
    assert (
        plain_line("│ \x1b[2m/app/main.py\x1b[0m:3 in <module>   │") == "/app/main.py:3 in <module>"
    )
    assert plain_line("╰──────────────╯") == ""


@pytest.mark.parametrize(
    ("tail", "expected"),
    [(None, ["a", "b", "c"]), (0, []), (2, ["b", "c"]), (5, ["a", "b", "c"])],
)
def test_tail_means_what_it_means_in_docker_logs(tail: int | None, expected: list[str]) -> None:
    assert last_lines(["a", "b", "c"], tail) == expected


def test_a_negative_tail_is_refused() -> None:
    with pytest.raises(ValueError, match=r"--tail must be 0 or more .* not -1"):
        check_tail(-1)
    with pytest.raises(ValueError, match="not -3"):
        last_lines(["a"], -3)


def test_the_cause_of_a_crash_is_its_exception_line_not_the_box() -> None:
    lines = rich_traceback_lines()
    assert any("\x1b[" in line for line in lines)
    assert any("╭" in line for line in lines)

    cause = failure_cause("RUNTIME_ERROR", "Exit code: 1. Reason: │ ❱ 3 │ ╰──╯", [], lines)

    expected = "ModuleNotFoundError: No module named 'a_module_the_space_does_not_have'"
    assert cause.summary == f"The app crashed: {expected}"
    assert cause.line_number is not None
    assert plain_line(lines[cause.line_number - 1]) == expected
    assert cause.line_count == len(lines)
    assert "│" not in str(cause)
    assert "\x1b" not in str(cause)


def test_a_chained_crash_names_the_first_exception_and_what_it_surfaced_as() -> None:
    lines = [
        "Traceback (most recent call last):",
        '  File "/app/service.py", line 3, in load',
        "    importlib.import_module(name)",
        "ModuleNotFoundError: No module named 'my_pipeline'",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/app/service.py", line 9, in input_model',
        "    raise RuntimeError(",
        "RuntimeError: Failed to load pipeline class from snapshot",
    ]
    cause = failure_cause("RUNTIME_ERROR", None, [], lines)
    assert str(cause) == (
        "The app crashed: ModuleNotFoundError: No module named 'my_pipeline' (log line 4 of 11)"
        ", which surfaced as RuntimeError: Failed to load pipeline class from snapshot"
    )


def test_unrelated_exceptions_earlier_in_the_log_are_not_the_cause() -> None:
    lines = [
        "ValueError: handled long ago",
        "INFO: all good",
        "Traceback (most recent call last):",
        "KeyError: 'MODEL_PATH'",
    ]
    assert failure_cause("RUNTIME_ERROR", None, [], lines).summary == (
        "The app crashed: KeyError: 'MODEL_PATH'"
    )


def test_a_failed_build_names_the_hubs_message_and_the_failing_step() -> None:
    build = [
        "Step 3/5 : RUN pip install nothing-like-this",
        "ERROR: No matching distribution found for nothing-like-this",
        "The command '/bin/sh -c pip install nothing-like-this' returned a non-zero code: 1",
    ]
    cause = failure_cause("BUILD_ERROR", "\x1b[31mBuild failed with exit code: 1\x1b[0m", build)
    assert str(cause) == (
        "The build failed: Build failed with exit code: 1; failing step: The command "
        "'/bin/sh -c pip install nothing-like-this' returned a non-zero code: 1 (log line 3 of 3)"
    )


def test_without_a_log_line_to_name_the_hubs_message_is_the_cause() -> None:
    assert str(failure_cause("RUNTIME_ERROR", "the app did not listen on port 7860", [], [])) == (
        "The app failed: the app did not listen on port 7860"
    )
    assert str(failure_cause("CONFIG_ERROR", "README.md has no sdk")) == (
        "The Space is CONFIG_ERROR: README.md has no sdk"
    )
