"""The event stream of one run (or one worker's share of it): reports, anomalies, follow-ups,
duplicates and faults, in arrival order, as `Event`s ready for a sink.

Realism knobs (from the scenario):
- lateness: a share of reports have a receivedate days before they arrive, so event time and
  arrival time differ and some events arrive out of event-time order;
- follow-ups: a share of reports get versions 2, 3, … later (same id, higher
  safetyreportversion, later receiptdate);
- duplicates: a share of reports are re-sent as byte-identical copies a little later.

vigil_event_seq = 4 × slot number + variant (0 the first event of a slot, 1…2 follow-up
versions, 3 the re-sent copy). It is unique in a run and the same for any --workers.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import heapq
import math
import random
import time
from collections.abc import Iterator

from generators import contract
from generators.clock import HMS, MILLIS, SECONDS_PER_DAY, IsoTimestamps, shared_days
from generators.event import Event
from generators.faults import make_fault
from generators.ground_truth import GroundTruth
from generators.ids import ReportIds
from generators.reference import ReferenceData, load_reference
from generators.reports import START_DATE_SPREAD_DAYS, ReportFactory, factory_for
from generators.sampling import TABLE_BITS
from generators.scenario import DataFaults, OverdoseCluster, Scenario, Signal, Spike
from generators.timeline import FAULT, OVERDOSE, Plan

PRODUCER = "vigil-generator/0.1"
FOLLOW_UP_VARIANTS = 2  # variants 1..2: versions after the first (a report reaches v3 at most)
DUPLICATE_VARIANT = 3
MAX_DELAY_FACTOR = 10  # follow-up delays are exponential, cut at this many means

_new_event = tuple.__new__  # skips NamedTuple.__new__'s Python-level call on the hot path


@contextlib.contextmanager
def _cyclic_gc_paused():
    """A chunk allocates thousands of small containers (events, headers) and no reference
    cycles, so the cyclic collector's passes over them are pure cost (about 8% of generation);
    it runs again, as usual, once the chunk is built."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_timeline(scenario: Scenario, plan: Plan | None = None) -> None:
    """Every date a run can write must be in the day table (1980–2120); ValueError otherwise."""
    plan = plan or Plan(scenario)
    days = shared_days()
    fu, du, la = scenario.followups, scenario.duplicates, scenario.lateness
    first_day = (int(scenario.start // SECONDS_PER_DAY) - START_DATE_SPREAD_DAYS
                 - max(1, int(la.max // SECONDS_PER_DAY)) - 2)
    last_arrival = max([scenario.end] + [x.time for x in plan.injections[-1:]])
    horizon = (fu.max_versions - 1) * fu.mean_delay * MAX_DELAY_FACTOR + du.max_delay
    last_day = int((last_arrival + horizon) // SECONDS_PER_DAY) + 2
    if first_day < days.first or last_day > days.last:
        raise ValueError(f"{scenario.source}: the timeline (start, days, delays) must lie "
                         "between 1982 and 2110")


def run_id_for(scenario: Scenario, seed: int, clock: str) -> str:
    """Stable for a seeded, simulated-clock run; unique otherwise."""
    basis = f"{scenario.name}:{seed}:{scenario.background_reports}:{scenario.start}"
    if clock == "wall":
        basis += f":{time.time_ns()}"
    return hashlib.sha256(basis.encode()).hexdigest()[:12]


class EventStream:
    """Iterate for `Event`s, or call `batches()` for lists of them; read `ground_truth` after.

    worker/workers: this stream makes every workers-th chunk of the plan, starting at `worker`.
    clock: "sim" puts the simulated arrival time in generated_at (repeatable); "wall" puts the
    wall-clock time of generation.
    """

    def __init__(self, scenario: Scenario, seed: int, *, worker: int = 0, workers: int = 1,
                 clock: str = "sim", run_id: str | None = None, producer: str = PRODUCER,
                 ref: ReferenceData | None = None, factory: ReportFactory | None = None):
        if not 0 <= worker < workers:
            raise ValueError(f"worker {worker} is not within 0..{workers - 1}")
        if clock not in ("sim", "wall"):
            raise ValueError(f"clock must be 'sim' or 'wall', got {clock!r}")
        self.scenario = scenario
        self.seed = seed
        self.worker, self.workers = worker, workers
        self.clock = clock
        self.run_id = run_id or run_id_for(scenario, seed, clock)
        self.producer = producer
        self.plan = Plan(scenario)
        self.ground_truth = GroundTruth(self.run_id)

        fu, du, la = scenario.followups, scenario.duplicates, scenario.lateness
        self._followup_share = fu.share
        self._duplicate_share = du.share
        self._late_share = la.share
        self._late_mean_days = la.mean / SECONDS_PER_DAY
        self._late_max_days = max(1, int(la.max // SECONDS_PER_DAY))
        self._max_delay = fu.mean_delay * MAX_DELAY_FACTOR

        self.days = shared_days()
        check_timeline(scenario, self.plan)
        if ref is None and factory is None:
            factory = factory_for(seed)
        self.factory = factory or ReportFactory(ref or load_reference(), seed, self.days)
        self.ids = ReportIds(scenario.id_base)
        self._timestamp = IsoTimestamps(self.days)
        self._base_headers = {
            contract.H_EVENT_TYPE: contract.EVENT_TYPE,
            contract.H_SCHEMA_VERSION: contract.SCHEMA_VERSION,
            contract.H_PRODUCER: producer,
        }
        self._declare_ground_truth()
        self._signals = self._signals_by_drug()
        self._term_index = self.factory.reactions.index
        self._pending: list[tuple] = []  # (due, seq, report id, payload, anomaly ids, manifest key)

    # --- ground truth
    def _declare_ground_truth(self) -> None:
        gt = self.ground_truth
        for i, anomaly in enumerate(self.scenario.anomalies):
            if not isinstance(anomaly, DataFaults):
                gt.declare(anomaly.anomaly_id, anomaly.type, anomaly.params(), (0, i, 0))
        fu, du = self.scenario.followups, self.scenario.duplicates
        if fu.share:
            gt.declare("followups", "followup", {"share": fu.share, "max_versions": fu.max_versions,
                                                 "mean_delay_seconds": fu.mean_delay}, (1, 0, 0))
        if du.share:
            gt.declare("duplicates", "duplicate", {"share": du.share,
                                                   "max_delay_seconds": du.max_delay}, (1, 1, 0))

    def _signals_by_drug(self) -> dict[int, list[tuple[float, float, Signal]]]:
        by_drug: dict[int, list] = {}
        for anomaly in self.scenario.anomalies:
            if isinstance(anomaly, Signal):
                end = math.inf if anomaly.duration is None else anomaly.start + anomaly.duration
                drug_i = self.factory.drug_index[anomaly.drug]
                by_drug.setdefault(drug_i, []).append((anomaly.start, end, anomaly))
        return by_drug

    # --- iteration
    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Event]]:
        """Lists of events, one per chunk of the plan this worker owns, then the late tail."""
        gt = self.ground_truth
        for c in range(self.worker, self.plan.chunks, self.workers):
            try:
                with _cyclic_gc_paused():
                    events = self._chunk(c)
            except BaseException:
                gt.rollback()
                raise
            gt.commit()
            yield events
        tail: list[Event] = []
        while self._pending:
            self._emit_pending(tail)
        gt.commit()
        if tail:
            yield tail

    def _headers(self, when: float, seq: int) -> dict[str, str]:
        stamp = self._timestamp(when if self.clock == "sim" else time.time())
        return {**self._base_headers, contract.H_GENERATED_AT: stamp,
                contract.H_EVENT_SEQ: str(seq), contract.H_RUN_ID: self.run_id}

    def _chunk(self, c: int) -> list[Event]:
        plan = self.plan
        chunk = plan.chunk(c)
        rng = random.Random(f"vigil:chunk:{self.seed}:{c}")
        rnd, bits = rng.random, rng.getrandbits
        out: list[Event] = []
        append = out.append
        pending = self._pending
        injections = plan.injections
        j, j_end = chunk.injections.start, chunk.injections.stop
        inf = math.inf
        next_injection = injections[j].time if j < j_end else inf
        next_due = pending[0][0] if pending else inf

        # hot-path locals
        start, step = plan.start, plan.step
        background = chunk.background
        chunk_ids = self.ids.for_numbers(background.start, background.stop)
        first_number = background.start
        factory = self.factory
        build_bytes = factory.build_bytes
        drug_table = factory.drug_table
        signals = self._signals
        late_share = self._late_share
        late_mean, late_max = self._late_mean_days, self._late_max_days
        log = math.log
        followup_share = self._followup_share
        resend_share = followup_share + self._duplicate_share
        sim_clock = self.clock == "sim"
        days = self.days
        iso_prefixes, first_day = days.iso_prefixes, days.first
        event_type, schema_version, producer = (contract.EVENT_TYPE, contract.SCHEMA_VERSION,
                                                self.producer)
        run_id = self.run_id
        wall_stamp = self._timestamp
        next_day_at = -inf  # the first event sets arrival_day, day_start and iso_prefix

        for i in background:
            t = start + (i + 0.5) * step
            if t >= next_injection:
                while j < j_end and injections[j].time <= t:
                    self._inject(j, rng, out)
                    j += 1
                next_injection = injections[j].time if j < j_end else inf
                next_due = pending[0][0] if pending else inf
            if t >= next_due:
                while pending and pending[0][0] <= t:
                    self._emit_pending(out)
                next_due = pending[0][0] if pending else inf

            rid = chunk_ids[i - first_number]
            if t >= next_day_at:  # the arrival day changes rarely: no int() per event
                arrival_day = int(t // SECONDS_PER_DAY)
                day_start = arrival_day * SECONDS_PER_DAY
                next_day_at = day_start + SECONDS_PER_DAY
                iso_prefix = iso_prefixes[arrival_day - first_day]
            receive_day = arrival_day
            if late_share and rnd() < late_share:
                # lag in days: 1 + exponential, cut at the scenario's maximum
                receive_day -= min(1 + int(-late_mean * log(1.0 - rnd())), late_max)
            drug_i = drug_table[bits(TABLE_BITS)]
            u = rnd() if resend_share else 1.0
            payload = None
            carried: tuple[str, ...] = ()
            if drug_i in signals:
                payload, carried = self._signal_report(rng, rid, t, arrival_day, receive_day, drug_i)
            if payload is None:
                payload = build_bytes(rnd, bits, rid, arrival_day, receive_day, drug_i)
            seq = i << 2
            if carried:
                self.ground_truth.record(carried[0], rid, seq)
            if sim_clock:
                millis = int((t - day_start) * 1000)
                stamp = iso_prefix + HMS[millis // 1000] + MILLIS[millis % 1000]
            else:
                stamp = wall_stamp(time.time())
            headers = {"event_type": event_type, "schema_version": schema_version,
                       "producer": producer, "generated_at": stamp, "vigil_event_seq": str(seq),
                       "vigil_run_id": run_id}
            append(_new_event(Event, (rid, payload, headers, seq, t)))
            if u < resend_share:
                self._schedule_resend(u < followup_share, rng, rid, t, receive_day, seq, payload,
                                      carried)
                next_due = pending[0][0]

        while j < j_end:
            self._inject(j, rng, out)
            j += 1
        return out

    def _signal_report(self, rng, rid, t, arrival_day, receive_day, drug_i):
        """A report (bytes) of the signal's drug that also carries the signal's reaction, or
        (None, ())."""
        for begin, end, signal in self._signals[drug_i]:
            if begin <= t < end and rng.random() < signal.strength:
                term = self._term_index[signal.reaction]
                payload = self.factory.report_bytes(rng, rid, arrival_day, receive_day, drug_i,
                                                    extra_terms=(term,))
                return payload, (signal.anomaly_id,)
        return None, ()

    # --- injected slots
    def _inject(self, j: int, rng: random.Random, out: list[Event]) -> None:
        plan = self.plan
        slot = plan.injections[j]
        anomaly = self.scenario.anomalies[slot.anomaly_index]
        number = plan.injection_number(j)
        seq = number << 2
        t = slot.time
        day = int(t // SECONDS_PER_DAY)
        rid = self.ids.for_number(number)
        factory = self.factory
        gt = self.ground_truth
        if slot.kind == FAULT:
            assert isinstance(anomaly, DataFaults)
            base = factory.report(rng, rid, day, day, factory.pick_drug(rng))
            payload, field, carried_id = make_fault(slot.fault_kind, slot.fault_rotation, base, rng,
                                                    anomaly.oversize_bytes)
            # the payload's hash identifies it even where headers are lost (landing files)
            gt.stage(f"{anomaly.anomaly_id}#{slot.index:04d}", "data_fault",
                     {"entry": anomaly.anomaly_id, "kind": slot.fault_kind, "field": field,
                      "payload_bytes": len(payload),
                      "payload_sha256": hashlib.sha256(payload).hexdigest()},
                     (0, slot.anomaly_index, slot.index), carried_id, seq)
            out.append(_new_event(Event, (carried_id, payload, self._headers(t, seq), seq, t)))
            return
        if slot.kind == OVERDOSE:
            assert isinstance(anomaly, OverdoseCluster)
            drug_i = factory.drug_index[anomaly.drug]
            payload = factory.overdose_report(rng, rid, day, day, drug_i, anomaly.country)
        else:
            assert isinstance(anomaly, Spike)
            drug_i = (factory.drug_index[anomaly.drug] if anomaly.drug
                      else factory.pick_drug(rng))
            payload = factory.report_bytes(rng, rid, day, day, drug_i, country=anomaly.country)
        gt.record(anomaly.anomaly_id, rid, seq)
        out.append(_new_event(Event, (rid, payload, self._headers(t, seq), seq, t)))
        u = rng.random()
        if u < self._followup_share + self._duplicate_share:
            self._schedule_resend(u < self._followup_share, rng, rid, t, day, seq, payload,
                                  (anomaly.anomaly_id,))

    # --- follow-ups and re-sends
    def _schedule_resend(self, follow_up: bool, rng, rid, t, receive_day, seq, payload, carried):
        if follow_up:
            report = payload
            fu = self.scenario.followups
            versions = 1 if fu.max_versions < 3 or rng.random() >= 0.3 else 2
            due = t
            for v in range(2, 2 + versions):
                due += min(-fu.mean_delay * math.log(1.0 - rng.random()), self._max_delay)
                report = self.factory.follow_up(rng, report, v, int(due // SECONDS_PER_DAY),
                                                receive_day)
                heapq.heappush(self._pending, (due, seq + v - 1, rid, report, carried,
                                               "followups"))
        else:
            due = t + rng.random() * self.scenario.duplicates.max_delay
            heapq.heappush(self._pending, (due, seq + DUPLICATE_VARIANT, rid, payload, carried,
                                           "duplicates"))

    def _emit_pending(self, out: list[Event]) -> None:
        due, seq, rid, payload, carried, line = heapq.heappop(self._pending)
        for anomaly_id in carried:
            self.ground_truth.record(anomaly_id, rid, seq)
        self.ground_truth.record(line, rid, seq)
        out.append(_new_event(Event, (rid, payload, self._headers(due, seq), seq, due)))


def generate(scenario: Scenario | str, seed: int = 0, **options) -> EventStream:
    """The events of a scenario (a Scenario, a scenario name or a YAML path) for a seed.

    Iterate the result for `Event(key, payload, headers, seq, time)`; after iterating, its
    `ground_truth` holds the manifest (`.lines()`, `.write(path)`). Options: worker, workers,
    clock ('sim' | 'wall'), run_id, producer.
    """
    if not isinstance(scenario, Scenario):
        from generators.scenario import load_scenario

        scenario = load_scenario(scenario)
    return EventStream(scenario, seed, **options)
