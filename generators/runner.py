"""Run a scenario into a sink: pacing, workers, Ctrl-C, summary. What the CLI and the demo call.

    from generators import run
    summary = run("demo", sink="files", seed=42, landing_dir=".vigil/landing")
    summary.exit_code, summary.sent, summary.manifest

With workers > 1 each worker is a process that makes every workers-th chunk of the plan and
sends it through its own sink at rate / workers; ids, vigil_event_seq and the ground truth are
the same as with one worker.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import multiprocessing as mp
import os
import queue
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from generators.progress import Progress
from generators.scenario import Scenario, load_scenario
from generators.stream import EventStream, check_timeline, run_id_for
from ingesters.errors import SinkConfigError, SinkFatalError
from ingesters.factory import SINK_NAMES, open_sink
from ingesters.pacing import DueTimes, OpenLoopPacer
from ingesters.stats import DeliveryStats

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNDELIVERED = 3
EXIT_INTERRUPTED = 130
DEFAULT_MANIFEST_DIR = ".vigil/ground-truth"
DEFAULT_DEAD_LETTER_DIR = ".vigil/dead-letter"
WORKER_RESULT_TIMEOUT = 120.0
MAX_WORKERS_PER_CORE = 4


@dataclass
class RunOptions:
    sink: str = "files"
    seed: int | None = None  # None: a random seed (reported), wall-clock generated_at
    rate: float | None = None  # events per second, open loop; None: as fast as possible
    count: int | None = None  # background reports; None: rate × duration, else the scenario's
    duration: float | None = None  # seconds of wall clock, then stop
    workers: int = 1
    dry_run: bool = False  # generate and serialize, deliver nothing
    manifest: str | None = None  # ground-truth path; default .vigil/ground-truth/<run_id>.jsonl
    dead_letter: str | None = None  # default .vigil/dead-letter/<run_id>-<sink>.jsonl
    clock: str | None = None  # 'sim' | 'wall'; default sim when seeded
    start: str | None = None  # ISO-8601 or 'now': where the simulated timeline begins
    topic: str = "adverse-events"  # Kafka topic / event hub / landing folder name
    landing_dir: str = ".vigil/landing"
    file_format: str = "payload"  # files sink: payload lines, or Capture-like envelopes
    partitions: int = 4  # landing-file partitions; partitions of a topic the sink creates
    bootstrap: str | None = None
    kafka_auth: str = "none"  # none | connection-string | entra
    compression: str | None = None
    namespace: str | None = None
    connection_string: str | None = None
    progress: bool = False
    flush_timeout: float = 30.0
    tune_gc: bool = False  # freeze start-up objects out of the collector (CLI processes only)


@dataclass
class RunSummary:
    scenario: str  # "replay" for a replay of real reports
    seed: int | None  # None for a replay
    run_id: str
    sink: str
    target: str
    workers: int
    rate_target: float | None
    generated: int = 0  # events handed to the sink
    sent: int = 0
    failed: int = 0
    dead_lettered: int = 0
    bytes: int = 0
    elapsed_seconds: float = 0.0
    achieved_rate: float = 0.0
    latency_ms: dict = field(default_factory=dict)
    manifest: str | None = None
    anomalies: int = 0
    dead_letter_files: list[str] = field(default_factory=list)
    interrupted: bool = False
    error: str | None = None
    source: str | None = None  # a replay's files

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.error:
            return EXIT_ERROR
        return EXIT_UNDELIVERED if self.failed else EXIT_OK

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["exit_code"] = self.exit_code
        return out


@dataclass
class _Plan:
    scenario: Scenario | None  # None: a replay
    seed: int | None
    clock: str
    run_id: str
    deadline: float | None  # wall seconds after start


def _check_pacing(options: RunOptions) -> None:
    if options.rate is not None and not (options.rate > 0 and math.isfinite(options.rate)):
        raise ValueError("--rate must be a positive number of events per second")
    if options.duration is not None and not (options.duration > 0):
        raise ValueError("--duration must be a positive number of seconds")


def prepare(scenario: Scenario | str, options: RunOptions) -> _Plan:
    """Check options and fix seed, clock, volume and timeline; raises ValueError on bad input."""
    if options.sink not in (*SINK_NAMES, "null"):
        raise SinkConfigError(f"unknown sink {options.sink!r}: use one of {', '.join(SINK_NAMES)}")
    if options.workers < 1:
        raise ValueError("--workers must be at least 1")
    max_workers = MAX_WORKERS_PER_CORE * (os.cpu_count() or 1)
    if options.workers > max_workers:
        # each worker is a process generating flat out: a typo such as 10000 would start
        # thousands of them, and past the cores more only contend
        raise ValueError(f"--workers {options.workers} is more than this machine runs: at most "
                         f"{max_workers} ({MAX_WORKERS_PER_CORE} per core)")
    _check_pacing(options)
    if options.count is not None and options.count < 0:
        raise ValueError("--count must not be negative")
    if options.partitions < 1:
        raise ValueError("--partitions must be at least 1")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    seed = options.seed if options.seed is not None else secrets.randbits(31)
    clock = options.clock or ("sim" if options.seed is not None else "wall")
    if clock not in ("sim", "wall"):
        raise ValueError("--clock must be sim or wall")
    reports = options.count
    if reports is None and options.rate and options.duration:
        reports = math.ceil(options.rate * options.duration)
    start = None
    if options.start:
        from generators.clock import parse_instant

        try:
            start = parse_instant(options.start)
        except ValueError:
            raise ValueError(f"--start must be an ISO-8601 time or 'now', got {options.start!r}") \
                from None
    elif not scenario.start_given and clock == "wall":
        start = float(int(time.time() - scenario.span))  # a live run ends its timeline now
    scenario = scenario.with_overrides(reports=reports, start=start)
    check_timeline(scenario)
    return _Plan(scenario, seed, clock, run_id_for(scenario, seed, clock), options.duration)


def _target(options: RunOptions) -> str:
    if options.dry_run or options.sink == "null":
        return "nothing (dry run)"
    if options.sink == "files":
        return str(Path(options.landing_dir) / options.topic)
    if options.sink == "kafka":
        where = options.bootstrap or options.namespace or "?"
        return f"{where} topic {options.topic}"
    return f"{options.namespace or 'connection string'} event hub {options.topic}"


def _open(options: RunOptions, plan: _Plan, worker: int):
    name = "null" if options.dry_run else options.sink
    dead_letter = options.dead_letter or str(
        Path(DEFAULT_DEAD_LETTER_DIR) / f"{plan.run_id}-{name}.jsonl")
    if options.workers > 1:
        path = Path(dead_letter)
        dead_letter = str(path.with_name(f"{path.stem}-w{worker}{path.suffix}"))
    return open_sink(
        name, dead_letter_path=dead_letter, topic=options.topic,
        landing_dir=options.landing_dir, partitions=options.partitions,
        writer=f"{plan.run_id}-w{worker}", file_format=options.file_format,
        bootstrap=options.bootstrap,
        kafka_auth=options.kafka_auth, compression=options.compression,
        namespace=options.namespace, connection_string=options.connection_string,
    ), dead_letter


@dataclass
class _WorkerResult:
    worker: int
    stats: DeliveryStats
    ground_truth: object
    generated: int
    elapsed: float
    interrupted: bool
    dead_letter: str | None
    error: str | None = None


def _drive(stream: EventStream, sink, rate: float | None, deadline: float | None,
           progress_cb=None, pacer: OpenLoopPacer | None = None) -> tuple[int, bool, float]:
    """Send the stream through the sink on schedule. Returns (handed over, interrupted, elapsed)."""
    pacer = pacer or OpenLoopPacer(rate)
    handed = 0
    interrupted = False
    stop_at = pacer.started + deadline if deadline else math.inf
    unsent: list = []
    batch: list = []
    i = 0
    batches = stream.batches()
    try:
        for batch in batches:
            i, n = 0, len(batch)
            while i < n:
                now = pacer.clock()
                if now >= stop_at:
                    unsent = batch[i:]
                    break
                if rate:
                    room = pacer.released(now) - handed
                    if room <= 0:
                        pacer.wait_for(handed, sink.poll, until=stop_at)
                        continue
                    m = min(n - i, room)
                    sink.send(batch[i:i + m], DueTimes(pacer, handed, m))
                else:
                    m = n - i
                    sink.send(batch[i:] if i else batch, None)
                i += m
                handed += m
                if progress_cb:
                    progress_cb(sink.stats)
            if unsent:
                break
    except KeyboardInterrupt:
        interrupted = True
        # events of the batch in hand that were not sent are not in the ground truth
        unsent = batch[i:]
    finally:
        batches.close()
    if unsent and stream.ground_truth is not None:
        stream.ground_truth.discard({e.seq for e in unsent})
    return handed, interrupted, pacer.clock() - pacer.started


def _finish(sink, timeout: float) -> bool:
    """Flush and close; True when interrupted while flushing."""
    try:
        sink.flush(timeout)
        return False
    except KeyboardInterrupt:
        return True
    finally:
        sink.close()


def _run_worker(scenario, options: RunOptions, plan: _Plan, worker: int, progress_cb=None,
                sink=None, dead_letter=None) -> _WorkerResult:
    stream = EventStream(scenario, plan.seed, worker=worker, workers=options.workers,
                         clock=plan.clock, run_id=plan.run_id)
    if sink is None:
        sink, dead_letter = _open(options, plan, worker)
    if options.tune_gc:
        gc.collect()
        gc.freeze()  # start-up pools never become garbage: keep the collector off them
    rate = options.rate / options.workers if options.rate else None
    error = None
    try:
        generated, interrupted, elapsed = _drive(stream, sink, rate, plan.deadline, progress_cb)
    except SinkFatalError as exc:
        generated, interrupted, elapsed, error = 0, False, 0.0, str(exc)
    interrupted = _finish(sink, options.flush_timeout) or interrupted
    return _WorkerResult(worker, sink.stats, stream.ground_truth, generated, elapsed, interrupted,
                         dead_letter, error)


def _worker_process(scenario, options, plan, worker, results, counters):
    """Entry point of a worker process (spawned)."""
    def report(stats):
        counters[2 * worker] = stats.sent
        counters[2 * worker + 1] = stats.failed

    try:
        result = _run_worker(scenario, options, plan, worker, report)
    except KeyboardInterrupt:
        result = _WorkerResult(worker, DeliveryStats(), None, 0, 0.0, True, None)
    except (SinkConfigError, ValueError, OSError) as exc:
        result = _WorkerResult(worker, DeliveryStats(), None, 0, 0.0, False, None, str(exc))
    results.put(result)


def run(scenario: Scenario | str, options: RunOptions | None = None, **kwargs) -> RunSummary:
    """Generate a scenario into a sink and return the summary (see RunOptions for the options).

    Raises ScenarioError / SinkConfigError / ValueError before anything is sent when the input
    is wrong; afterwards problems are counted in the summary, whose exit_code says how it went.
    """
    options = dataclasses.replace(options or RunOptions(), **kwargs)
    plan = prepare(scenario, options)
    progress = Progress(options.progress)
    summary = RunSummary(scenario=plan.scenario.name, seed=plan.seed, run_id=plan.run_id,
                         sink="null" if options.dry_run else options.sink,
                         target=_target(options), workers=options.workers,
                         rate_target=options.rate)
    sink, dead_letter = _open(options, plan, 0)  # opening checks connection and credentials
    results: list[_WorkerResult] = []
    interrupted = False
    try:
        if options.workers == 1:
            def show(stats):
                progress.update(stats.sent, stats.failed)

            results.append(_run_worker(plan.scenario, options, plan, 0, show, sink, dead_letter))
        else:
            sink.close()  # each worker opens its own
            results, interrupted = _run_processes(options, plan, progress)
    except BaseException:
        sink.close()
        raise
    finally:
        progress.close()
    return _summarize(summary, options, plan, results, interrupted)


def replay(paths: list, options: RunOptions | None = None, **kwargs) -> RunSummary:
    """Send real openFDA reports from files (see generators.replay) into a sink, one process;
    `count` caps the reports sent. Raises ValueError / SinkConfigError before anything is sent
    when the input is wrong; afterwards a file that cannot be read further ends the replay
    (after flushing what was sent) with the summary's error."""
    from generators.replay import ReplayStream

    options = dataclasses.replace(options or RunOptions(), **kwargs)
    if options.workers != 1:
        raise ValueError("--replay sends from one process: leave out --workers")
    _check_pacing(options)
    stream = ReplayStream(paths, limit=options.count)
    plan = _Plan(None, None, "wall", stream.run_id, options.duration)
    summary = RunSummary(scenario="replay", seed=None, run_id=stream.run_id,
                         sink="null" if options.dry_run else options.sink,
                         target=_target(options), workers=1, rate_target=options.rate,
                         source=stream.describe())
    sink, dead_letter = _open(options, plan, 0)
    progress = Progress(options.progress)
    error = None
    try:
        generated, interrupted, elapsed = _drive(
            stream, sink, options.rate, options.duration,
            lambda stats: progress.update(stats.sent, stats.failed))
    except SinkFatalError as exc:
        generated, interrupted, elapsed, error = 0, False, 0.0, str(exc)
    finally:
        interrupted_flushing = _finish(sink, options.flush_timeout)
        progress.close()
    result = _WorkerResult(0, sink.stats, None, generated, elapsed,
                           interrupted or interrupted_flushing, dead_letter, error or stream.error)
    return _summarize(summary, options, plan, [result], result.interrupted)


def _run_processes(options: RunOptions, plan: _Plan, progress: Progress):
    ctx = mp.get_context("spawn")
    results_q = ctx.Queue()
    counters = ctx.Array("q", 2 * options.workers, lock=False)
    processes = [ctx.Process(target=_worker_process, daemon=True,
                             args=(plan.scenario, options, plan, w, results_q, counters))
                 for w in range(options.workers)]
    for p in processes:
        p.start()
    results: list[_WorkerResult] = []
    interrupted = False
    deadline = None
    while len(results) < len(processes):
        try:
            results.append(results_q.get(timeout=0.2))
        except queue.Empty:
            if deadline and time.monotonic() > deadline:
                break
            if not any(p.is_alive() for p in processes) and results_q.empty():
                break
        except KeyboardInterrupt:
            interrupted = True  # the workers got the same Ctrl-C: they flush and report
            deadline = time.monotonic() + WORKER_RESULT_TIMEOUT
        progress.update(sum(counters[0::2]), sum(counters[1::2]))
    for p in processes:
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
    missing = options.workers - len(results)
    if missing:
        results.append(_WorkerResult(-1, DeliveryStats(), None, 0, 0.0, interrupted, None,
                                     f"{missing} worker(s) ended without a result"))
    return results, interrupted


def _summarize(summary: RunSummary, options: RunOptions, plan: _Plan,
               results: list[_WorkerResult], interrupted: bool) -> RunSummary:
    from generators.ground_truth import GroundTruth

    stats = DeliveryStats()
    truth = GroundTruth(plan.run_id)
    errors = []
    for r in sorted(results, key=lambda r: r.worker):
        stats.merge(r.stats)
        if r.ground_truth is not None:
            truth.merge(r.ground_truth)
        summary.generated += r.generated
        summary.elapsed_seconds = max(summary.elapsed_seconds, r.elapsed)
        interrupted = interrupted or r.interrupted
        if r.error:
            errors.append(r.error)
        if r.dead_letter and os.path.exists(r.dead_letter) and os.path.getsize(r.dead_letter):
            summary.dead_letter_files.append(r.dead_letter)
    summary.sent, summary.failed = stats.sent, stats.failed
    summary.dead_lettered, summary.bytes = stats.dead_lettered, stats.bytes
    elapsed = summary.elapsed_seconds
    summary.achieved_rate = round(stats.sent / elapsed, 1) if elapsed > 0 else 0.0
    summary.latency_ms = stats.latency.percentiles(50, 95, 99)
    summary.interrupted = interrupted
    summary.error = "; ".join(dict.fromkeys(errors)) or None
    if plan.scenario is not None:  # a replay injects nothing: no ground truth
        manifest = options.manifest or str(Path(DEFAULT_MANIFEST_DIR) / f"{plan.run_id}.jsonl")
        summary.manifest = str(truth.write(manifest))
        summary.anomalies = len(truth.lines())
    return summary
