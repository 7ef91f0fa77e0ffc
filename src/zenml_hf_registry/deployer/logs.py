"""Space logs as plain text: ANSI codes out, `--tail` as `docker logs` means it, the cause first.

Plain functions, no ZenML and no Hub: the deployer feeds them the lines it read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FailureCause",
    "check_tail",
    "failure_cause",
    "last_lines",
    "plain_line",
    "strip_ansi",
]

# CSI (colours, cursor moves), OSC (hyperlinks, titles; ended by BEL or ST) and lone escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Box drawing and block elements: the frames of rich tracebacks and panels.
_BOX = re.compile(r"[\u2500-\u259f]+")
# `ModuleNotFoundError: No module named 'x'`, `zenml.exceptions.DeployerError: ...`,
# `KeyboardInterrupt`, `SystemExit: 2`: a dotted name ending like an exception, at line start.
_EXCEPTION = re.compile(
    r"^(?P<name>(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Failure))"
    r"(?::\s*(?P<message>.*))?$"
)
# What Python prints between the exceptions of a chain.
_CHAINED = re.compile(
    r"^The above exception was the direct cause of the following exception|"
    r"^During handling of the above exception, another exception occurred"
)
# Build steps that failed: docker's and pip's own ways of saying so.
_BUILD_FAILURE = re.compile(
    r"returned a non-zero code|did not complete successfully|^error\b|^ERROR\b|"
    r"^fatal\b|No matching distribution|Could not find a version",
)


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences."""
    return _ANSI.sub("", text)


def plain_line(text: str) -> str:
    """A log line reduced to its words: no escape codes, no box frames, no outer spaces."""
    return " ".join(_BOX.sub(" ", strip_ansi(text)).split())


def check_tail(tail: int | None) -> None:
    """Refuse a negative `--tail` (0 means no lines, None all of them).

    Raises:
        ValueError: `tail` is negative.
    """
    if tail is not None and tail < 0:
        raise ValueError(f"--tail must be 0 or more (the number of lines to show), not {tail}")


def last_lines(lines: Sequence[str], tail: int | None) -> list[str]:
    """The last `tail` lines (all of them when `tail` is None, none when it is 0)."""
    check_tail(tail)
    if tail is None:
        return list(lines)
    return list(lines[max(0, len(lines) - tail) :]) if tail else []


@dataclass(frozen=True)
class FailureCause:
    """Why a Space failed, in one line, and where that line was found."""

    summary: str
    line_number: int | None = None  # 1-based, in the log it came from
    line_count: int | None = None
    surfaced_as: str | None = None  # the last exception of the chain, when not the cause

    def __str__(self) -> str:
        text = self.summary
        if self.line_number is not None:
            text += f" (log line {self.line_number} of {self.line_count})"
        if self.surfaced_as:
            text += f", which surfaced as {self.surfaced_as}"
        return text


def _last_match(
    lines: Sequence[str], pattern: re.Pattern[str], before: int | None = None
) -> tuple[int, str] | None:
    for index in range(len(lines) - 1 if before is None else before - 1, -1, -1):
        line = plain_line(lines[index])
        if line and pattern.search(line):
            return index, line
    return None


def _root_exception(lines: Sequence[str]) -> tuple[int, str, str | None] | None:
    """The first exception of the last chain (`raise ... from`, or raised while handling
    another): its index and line, and the line of the exception it ended as, if another."""
    last = _last_match(lines, _EXCEPTION)
    if last is None:
        return None
    index, line = last
    while (marker := _last_match(lines, _CHAINED, before=index)) is not None:
        # Only frames lie between a chain marker and the exception it leads to.
        if (earlier := _last_match(lines, _EXCEPTION, before=index)) and earlier[0] > marker[0]:
            break
        cause = _last_match(lines, _EXCEPTION, before=marker[0])
        if cause is None:
            break
        index, line = cause
    return index, line, None if line == last[1] else last[1]


def failure_cause(
    stage: str,
    hub_message: str | None,
    build_lines: Sequence[str] = (),
    run_lines: Sequence[str] = (),
) -> FailureCause:
    """The root cause of a failed Space, for a deploy's error and `describe`.

    A crashed app (RUNTIME_ERROR): the last exception of its run log, followed back along its
    chain to the first one (`ModuleNotFoundError: No module named 'x'`, which surfaced as a
    `RuntimeError`), with a rich traceback's frames and colours removed.
    A failed build: the Hub's message and the build step that failed. Otherwise, or when the
    logs name nothing, the Hub's own message.
    """
    message = plain_line(hub_message) if hub_message else ""
    if stage == "RUNTIME_ERROR":
        root = _root_exception(run_lines)
        if root:
            index, line, surfaced_as = root
            return FailureCause(f"The app crashed: {line}", index + 1, len(run_lines), surfaced_as)
        return FailureCause(f"The app failed: {message or 'see its run log'}")
    if stage == "BUILD_ERROR":
        found = _last_match(build_lines, _BUILD_FAILURE) or _last_match(build_lines, _EXCEPTION)
        summary = f"The build failed: {message or 'see its build log'}"
        if found:
            index, line = found
            if line not in summary:
                summary += f"; failing step: {line}"
            return FailureCause(summary, index + 1, len(build_lines))
        return FailureCause(summary)
    return FailureCause(f"The Space is {stage}: {message or 'no message from the Hub'}")
