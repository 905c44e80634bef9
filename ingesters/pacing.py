"""Open-loop pacing: event k is due at start + k / rate, whatever happened to earlier sends.

A closed loop (send, wait for the answer, send the next) slows down when the system under test
slows down and so hides its latency. Open loop keeps the schedule; when the sender falls behind,
events go out at once and their latency, measured from when they were due, shows the backlog.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence


class OpenLoopPacer:
    def __init__(self, rate: float | None, clock=time.perf_counter, sleep=time.sleep):
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of events per second, got {rate!r}")
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self.started = clock()

    def restart(self) -> None:
        self.started = self.clock()

    def due(self, k: int) -> float:
        """When event k (0-based) is due; unpaced events are due at once."""
        return self.started + k / self.rate if self.rate else self.started

    def released(self, now: float | None = None) -> int:
        """How many events are due by `now` (all of them when unpaced)."""
        if not self.rate:
            return math.inf
        now = self.clock() if now is None else now
        return int((now - self.started) * self.rate) + 1

    def wait_for(self, k: int, idle, until: float = math.inf, slice_seconds: float = 0.005) -> None:
        """Sleep until event k is due, or the clock reads `until` (a run's deadline) if that
        comes first, calling `idle()` every slice (sink housekeeping)."""
        while True:
            remaining = min(self.due(k), until) - self.clock()
            if remaining <= 0:
                return
            idle()
            self.sleep(min(slice_seconds, max(0.0, remaining)))


class DueTimes(Sequence):
    """When events first, first + 1, … were due, computed on access: sinks time only a sample
    of events, so a list of every due time would be built for nothing."""

    def __init__(self, pacer: OpenLoopPacer, first: int, count: int):
        self._pacer, self._first, self._count = pacer, first, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int) -> float:
        if not 0 <= i < self._count:
            raise IndexError(i)
        return self._pacer.due(self._first + i)
