"""Fault injection: make the next N requests matching a method and a path pattern misbehave.

Rules are set over HTTP (`POST /_emulator/faults`) so tests and benchmarks of any process can
use them. A rule answers with a chosen status (and `X-Error-Message`) instead of carrying the
request out (`status`) or after carrying it out (`status_after`: a gateway timing out on a
change that happened), waits before answering normally, or drops the connection half-way
through a response.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["FaultRule", "Faults"]


class FaultRule(BaseModel):
    """One rule; `times` requests are affected, then it is spent."""

    method: str = Field(default="*", description="HTTP method, or * for any.")
    path: str = Field(
        max_length=500,
        description="A glob (`*`, `?`, `[...]`) matching the whole request path, or without "
        "wildcards a literal text found in it. Never a regular expression: matching is linear.",
    )
    times: int = Field(default=1, ge=1, le=10_000)
    action: Literal["status", "status_after", "delay", "drop"] = "status"
    status: int = Field(default=503, ge=400, le=599)
    delay: float = Field(default=0.0, ge=0, le=120, description="Seconds to wait first.")

    def matches(self, path: str) -> bool:
        """Whether this rule's pattern matches the request path."""
        if any(c in self.path for c in "*?["):
            return fnmatch.fnmatchcase(path, self.path)
        return self.path in path


@dataclass
class _Armed:
    rule: FaultRule
    left: int


class Faults:
    """The armed rules of one server; thread-safe."""

    def __init__(self) -> None:
        self._rules: list[_Armed] = []
        self._lock = threading.Lock()
        self.fired = 0

    def add(self, rule: FaultRule) -> None:
        """Arm a rule."""
        with self._lock:
            self._rules.append(_Armed(rule, rule.times))

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first live rule matching this request, spending one of its uses."""
        if path.startswith("/_emulator/faults"):
            return None
        with self._lock:
            for armed in self._rules:
                if (
                    armed.left > 0
                    and armed.rule.method in ("*", method.upper())
                    and armed.rule.matches(path)
                ):
                    armed.left -= 1
                    self.fired += 1
                    return armed.rule
            self._rules = [a for a in self._rules if a.left > 0]
        return None

    def pending(self) -> list[dict[str, object]]:
        """Rules with uses left."""
        with self._lock:
            return [{**a.rule.model_dump(), "left": a.left} for a in self._rules if a.left > 0]
