"""Fault injection for tests: make the next N requests fail, hang or lose their answer.

Only reachable when the config sets ``testing.fault_injection: true`` (off by
default; the route does not even exist otherwise). An admin arms it with
``POST /admin/faults``; each later request to a path under ``path_prefix``
takes one fault until the count runs out. Modes (decision 0046):

* ``error``: answer 500 without doing the work,
* ``hang``: wait ``hang_seconds`` (past the client's timeout), then answer 503
  without doing the work,
* ``error_after``: do the work (and cache it), then answer 500 as if the
  answer was lost on the way back; the retry must get the cached answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultMode = Literal["error", "hang", "error_after"]


@dataclass(frozen=True)
class Fault:
    """One armed fault, as a request takes it."""

    mode: FaultMode
    hang_seconds: float


class FaultInjector:
    """Counts down armed faults; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._fault = Fault("error", 0.0)
        self._prefix = "/"
        self.injected = 0

    def arm(self, count: int, mode: FaultMode, hang_seconds: float, path_prefix: str) -> None:
        """Make the next ``count`` matching requests fail in ``mode`` (0 disarms)."""
        with self._lock:
            self._remaining = count
            self._fault = Fault(mode, hang_seconds)
            self._prefix = path_prefix

    def take(self, path: str) -> Fault | None:
        """The fault this request must suffer, if any (never for /health or /admin)."""
        if path == "/health" or path.startswith("/admin") or path.startswith("/audit"):
            return None
        with self._lock:
            if self._remaining <= 0 or not path.startswith(self._prefix):
                return None
            self._remaining -= 1
            self.injected += 1
            return self._fault

    @property
    def remaining(self) -> int:
        """Faults still armed."""
        with self._lock:
            return self._remaining
