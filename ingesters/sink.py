"""What every sink does: deliver events, count them, dead-letter what it cannot deliver."""

from __future__ import annotations

import time
from collections.abc import Sequence

from generators.contract import H_EVENT_SEQ
from generators.event import Event
from ingesters.dead_letter import DeadLetterFile
from ingesters.stats import DeliveryStats

LATENCY_SAMPLE_EVERY = 16  # time one event in this many: enough for percentiles, cheap


class Sink:
    """Base class. `send` may deliver asynchronously; `flush` waits until everything handed over
    is acknowledged or dead-lettered; `poll` lets a sink do housekeeping while the caller waits."""

    name = "sink"

    def __init__(self, dead_letter: DeadLetterFile | None = None):
        self.stats = DeliveryStats()
        self.dead_letter = dead_letter

    def send(self, events: Sequence[Event], starts: Sequence[float] | None = None) -> None:
        """Hand events over. `starts[i]` is when event i was due (time.perf_counter()); latency
        counts from there, so a run that falls behind its schedule shows it."""
        raise NotImplementedError

    def poll(self) -> None:
        """Serve callbacks and time-based flushes; call while waiting between sends."""

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every event handed over is delivered or dead-lettered."""

    def close(self) -> None:
        if self.dead_letter is not None:
            self.dead_letter.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.flush()
        finally:
            self.close()

    # --- helpers for subclasses
    def fail(self, reason: str, *, key, headers, payload: bytes | None, seq: int | None) -> None:
        """Count one undeliverable event and write it to the dead-letter file."""
        self.stats.failed += 1
        if self.dead_letter is not None and self.dead_letter.write(
                reason=reason, key=key, headers=headers, payload=payload, seq=seq):
            self.stats.dead_lettered += 1

    def fail_event(self, event: Event, reason: str) -> None:
        self.fail(reason, key=event.key, headers=event.headers, payload=event.payload,
                  seq=event.seq)

    @staticmethod
    def now() -> float:
        return time.perf_counter()


def seq_of(headers) -> int | None:
    """vigil_event_seq from headers given as a dict or as (name, value) pairs."""
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    for name, value in items:
        if name == H_EVENT_SEQ:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None
