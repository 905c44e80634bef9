"""A one-line progress display on a terminal: sent, failed, rate, elapsed."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, enabled: bool, stream=sys.stderr, every: float = 0.5):
        self.enabled = enabled
        self.stream = stream
        self.every = every
        self.started = time.monotonic()
        self._last = 0.0
        self._shown = False

    def update(self, sent: int, failed: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        self.stream.write(f"\r  sent {sent:,}  failed {failed:,}  {sent / elapsed:,.0f} events/s"
                          f"  {elapsed:,.1f} s   ")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()
