"""Open-loop pacing and the delivery figures a run reports."""

from __future__ import annotations

import random

import pytest

from generators import run
from generators.runner import _drive
from generators.scenario import load_scenario
from generators.stream import generate
from ingesters.pacing import OpenLoopPacer
from ingesters.sink import Sink
from ingesters.stats import DeliveryStats, LatencyRecorder


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_due_times_follow_the_rate():
    clock = FakeClock()
    pacer = OpenLoopPacer(200.0, clock=clock, sleep=clock.sleep)
    assert pacer.due(0) == 100.0 and pacer.due(200) == pytest.approx(101.0)
    assert pacer.released(100.0) == 1
    assert pacer.released(100.5) == 101
    idle_calls = []
    pacer.wait_for(50, lambda: idle_calls.append(clock.now))
    assert clock.now == pytest.approx(100.25) and idle_calls


def test_unpaced_releases_everything():
    pacer = OpenLoopPacer(None)
    assert pacer.released() == float("inf")
    with pytest.raises(ValueError):
        OpenLoopPacer(0)


class SlowSink(Sink):
    """Each send takes 20 ms of (fake) time: a sink that cannot keep up with 1,000 events/s."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock
        self.starts: list[float] = []

    def send(self, events, starts=None):
        self.starts.extend(starts)
        self.clock.now += 0.02
        self.stats.sent += len(events)


def test_open_loop_keeps_the_schedule_when_the_sink_falls_behind():
    clock = FakeClock()
    pacer = OpenLoopPacer(1000.0, clock=clock, sleep=clock.sleep)
    stream = generate(load_scenario("load_test").with_overrides(reports=400), seed=11)
    sink = SlowSink(clock)
    handed, interrupted, elapsed = _drive(stream, sink, rate=1000.0, deadline=None, pacer=pacer)
    assert handed == len(sink.starts) >= 400 and not interrupted
    # every event was due at start + k / rate, however late the sink was
    assert sink.starts == [pytest.approx(100.0 + k / 1000.0) for k in range(handed)]
    assert elapsed > handed / 1000.0


def test_a_slow_rate_still_stops_at_the_deadline():
    """At 0.01 events/s the second event is due after 100 s; a 2 s run must not wait for it."""
    clock = FakeClock()
    pacer = OpenLoopPacer(0.01, clock=clock, sleep=clock.sleep)
    stream = generate(load_scenario("load_test").with_overrides(reports=10), seed=11)
    sink = SlowSink(clock)
    handed, interrupted, elapsed = _drive(stream, sink, rate=0.01, deadline=2.0, pacer=pacer)
    assert handed == 1 and not interrupted
    assert elapsed == pytest.approx(2.0, abs=0.03)


def test_a_paced_run_is_never_faster_than_its_schedule(tmp_path):
    summary = run(load_scenario("load_test").with_overrides(reports=150), sink="null",
                  dry_run=True, seed=11, rate=500.0, manifest=str(tmp_path / "m.jsonl"))
    assert summary.sent >= 150
    assert summary.elapsed_seconds >= (summary.sent - 1) / 500.0
    assert summary.achieved_rate <= 500.0 * 1.01


def test_latency_percentiles_nearest_rank():
    recorder = LatencyRecorder()
    values = [i / 1000 for i in range(1, 101)]
    random.Random(1).shuffle(values)
    for v in values:
        recorder.add(v)
    assert recorder.percentiles(50, 95, 99) == {"p50": 50.0, "p95": 95.0, "p99": 99.0}
    assert LatencyRecorder().percentiles(50) == {"p50": None}


def test_latency_reservoir_stays_bounded_and_merges():
    a, b = LatencyRecorder(capacity=100), LatencyRecorder(capacity=100)
    for _ in range(10_000):
        a.add(0.001)
        b.add(0.002)
    assert len(a.samples) == 100 and a.seen == 10_000
    stats = DeliveryStats(sent=3, bytes=30, latency=a)
    stats.merge(DeliveryStats(sent=2, failed=1, dead_lettered=1, bytes=20, latency=b))
    assert (stats.sent, stats.failed, stats.dead_lettered, stats.bytes) == (5, 1, 1, 50)
    assert stats.latency.seen == 20_000 and len(stats.latency.samples) == 100
