"""Build and run logs of a Space: a bounded, thread-safe buffer that followers can tail."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["LogBuffer", "LogLine"]


@dataclass(frozen=True)
class LogLine:
    """One line with the time it was written (the SSE event's `timestamp`)."""

    seq: int
    timestamp: str
    text: str


class LogBuffer:
    """Lines of the current build or run; `open` while that phase goes on.

    A new phase (`restart`) clears the buffer, as the Hub shows the latest build and run only.
    Sequence numbers keep growing across phases so followers never see a line twice.
    """

    def __init__(self, max_lines: int = 10_000) -> None:
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._seq = 0
        self._open = False
        self._phase = 0
        self._lock = threading.Condition()

    def restart(self) -> None:
        """Start a new phase: clear old lines and open the buffer."""
        with self._lock:
            self._lines.clear()
            self._open = True
            self._phase += 1
            self._lock.notify_all()

    def write(self, text: str) -> None:
        """Append a line (a trailing newline is added if missing)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        with self._lock:
            self._seq += 1
            self._lines.append(
                LogLine(self._seq, stamp, text if text.endswith("\n") else text + "\n")
            )
            self._lock.notify_all()

    def close(self) -> None:
        """End the phase: followers drain what is left and stop."""
        with self._lock:
            self._open = False
            self._lock.notify_all()

    @property
    def is_open(self) -> bool:
        """Whether the phase is still producing lines."""
        with self._lock:
            return self._open

    @property
    def phase(self) -> int:
        """Counter of phases; changes when a new build or run starts."""
        with self._lock:
            return self._phase

    def since(self, seq: int, tail: int | None = None) -> list[LogLine]:
        """Lines after `seq` (the last `tail` of them when given; 0 means none)."""
        with self._lock:
            lines = [line for line in self._lines if line.seq > seq]
        if tail is None:
            return lines
        return lines[max(0, len(lines) - tail) :] if tail else []

    def text(self) -> str:
        """All current lines, joined (for tests and error messages)."""
        return "".join(line.text for line in self.since(0))

    def wait(self, seq: int, timeout: float) -> None:
        """Block until a line after `seq` exists, the phase ends, or the timeout passes."""
        with self._lock:
            self._lock.wait_for(
                lambda: not self._open or (self._lines and self._lines[-1].seq > seq), timeout
            )
