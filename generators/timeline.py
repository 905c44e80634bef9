"""The plan of a run: which report or fault goes at which simulated instant.

Background reports are spread evenly over the scenario's timeline; injected reports (overdose
clusters, spikes) and data faults are spread evenly over their own windows. Every planned slot
has a number: background slot i is number i, injected slot j (in time order) is number
background_reports + j. The number gives the safetyreportid and the vigil_event_seq, so both
are the same whatever the number of workers.

The plan is cut into chunks of consecutive background slots, with the injected slots that fall in
their time window. A worker takes every workers-th chunk; each chunk draws from its own seeded
random generator, so content never depends on how chunks are shared out.
"""

from __future__ import annotations

import bisect
import math
from typing import NamedTuple

from generators.scenario import DataFaults, OverdoseCluster, Scenario, Spike

CHUNK_SIZE = 1024

OVERDOSE, SPIKE, FAULT = 1, 2, 3


class Injection(NamedTuple):
    time: float
    kind: int  # OVERDOSE, SPIKE or FAULT
    anomaly_index: int  # position in scenario.anomalies (also orders ties)
    index: int  # position among the anomaly's own slots
    fault_kind: str | None = None
    fault_rotation: int = 0  # position among this fault kind's slots: picks the field to break


class Chunk(NamedTuple):
    number: int
    background: range
    injections: range


def _even_times(start: float, duration: float, count: int) -> list[float]:
    step = duration / count
    return [start + (k + 0.5) * step for k in range(count)]


class Plan:
    def __init__(self, scenario: Scenario, chunk_size: int = CHUNK_SIZE):
        self.scenario = scenario
        self.chunk_size = chunk_size
        self.background = scenario.background_reports
        self.start = scenario.start
        self.step = scenario.span / self.background if self.background else 0.0
        rate_per_second = self.background / scenario.span if scenario.span else 0.0

        injections: list[Injection] = []
        for a_i, anomaly in enumerate(scenario.anomalies):
            if isinstance(anomaly, OverdoseCluster):
                times = _even_times(anomaly.start, anomaly.duration, anomaly.count)
                injections += [Injection(t, OVERDOSE, a_i, k) for k, t in enumerate(times)]
            elif isinstance(anomaly, Spike):
                extra = round((anomaly.multiplier - 1) * rate_per_second * anomaly.duration)
                times = _even_times(anomaly.start, anomaly.duration, extra) if extra else []
                injections += [Injection(t, SPIKE, a_i, k) for k, t in enumerate(times)]
            elif isinstance(anomaly, DataFaults):
                # interleave the kinds: first of each kind, then second of each kind, ...
                order = sorted(
                    ((r, kind) for kind, n in anomaly.counts.items() for r in range(n)),
                    key=lambda pair: pair[0])
                if order:
                    times = _even_times(anomaly.start, anomaly.duration, len(order))
                    injections += [Injection(t, FAULT, a_i, k, kind, r)
                                   for k, (t, (r, kind)) in enumerate(zip(times, order, strict=True))]
        injections.sort(key=lambda x: (x.time, x.anomaly_index, x.index))
        self.injections = injections
        self._times = [x.time for x in injections]

        if self.background:
            self.chunks = math.ceil(self.background / chunk_size)
        else:
            self.chunks = max(1, math.ceil(len(injections) / chunk_size))

    @property
    def slots(self) -> int:
        return self.background + len(self.injections)

    def background_time(self, i: int) -> float:
        return self.start + (i + 0.5) * self.step

    def injection_number(self, j: int) -> int:
        return self.background + j

    def chunk(self, c: int) -> Chunk:
        if not self.background:
            lo = c * self.chunk_size
            return Chunk(c, range(0), range(lo, min(lo + self.chunk_size, len(self.injections))))
        lo = c * self.chunk_size
        hi = min(lo + self.chunk_size, self.background)
        # injections in [boundary(c), boundary(c+1)); the first and last chunks are open-ended
        t_lo = -math.inf if c == 0 else self.start + lo * self.step
        t_hi = math.inf if c == self.chunks - 1 else self.start + hi * self.step
        j_lo = bisect.bisect_left(self._times, t_lo)
        j_hi = bisect.bisect_left(self._times, t_hi)
        return Chunk(c, range(lo, hi), range(j_lo, j_hi))
