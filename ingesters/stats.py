"""Delivery counts and send-latency percentiles of a sink."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MAX_LATENCY_SAMPLES = 200_000


@dataclass
class LatencyRecorder:
    """Send latencies in seconds; keeps a uniform sample when there are more than it can hold."""

    capacity: int = MAX_LATENCY_SAMPLES
    samples: list[float] = field(default_factory=list)
    seen: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def add(self, seconds: float) -> None:
        self.seen += 1
        if len(self.samples) < self.capacity:
            self.samples.append(seconds)
        else:  # reservoir sampling
            slot = self._rng.randrange(self.seen)
            if slot < self.capacity:
                self.samples[slot] = seconds

    def merge(self, other: LatencyRecorder) -> None:
        for value in other.samples:
            self.add(value)
        self.seen += max(0, other.seen - len(other.samples))

    def percentiles(self, *points: float) -> dict[str, float | None]:
        """{'p50': ms, …} by the nearest-rank method; None when there are no samples."""
        ordered = sorted(self.samples)
        out: dict[str, float | None] = {}
        for p in points:
            key = f"p{p:g}"
            if not ordered:
                out[key] = None
            else:
                rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
                out[key] = round(ordered[int(rank) - 1] * 1000, 3)
        return out


@dataclass
class DeliveryStats:
    sent: int = 0  # acknowledged by the transport (or written, for files)
    failed: int = 0  # could not be delivered
    dead_lettered: int = 0  # of the failed, written to the dead-letter file
    bytes: int = 0  # payload bytes of the sent events
    latency: LatencyRecorder = field(default_factory=LatencyRecorder)

    def merge(self, other: DeliveryStats) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead_lettered += other.dead_lettered
        self.bytes += other.bytes
        self.latency.merge(other.latency)
