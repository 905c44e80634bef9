"""Pipeline benchmark: Kafka → bronze → silver → gold on this machine.

1. Throughput: the generator's load-test scenario is pre-loaded into a topic of the local
   broker, then each stage runs with `availableNow`. Baseline, in the same run: a plain Spark
   Kafka → Delta copy of the same topic (the least any landing can cost). Prints reports/s per
   stage, for the whole pipeline, and the ratio to the baseline.
2. Latency: the three stages stream with a processing-time trigger while the generator sends
   at a steady rate; latency per report = the Delta commit that wrote its gold flags row (the
   flags table's change feed, `_commit_timestamp`) − Kafka enqueued time (`enqueued_at`).
   Prints p50/p95/p99; beside them the row's own stamp (`gold_updated_at`, taken when the write
   starts, so short of the commit by the write's duration), which earlier figures used. With
   `--warmup`, the generator sends for that long first and only reports enqueued after it
   count: the steady state of a query that runs for weeks, not its first JIT-cold minute.
   Baseline, in the same run: a plain Spark Kafka → Delta stream of the same load with the same
   trigger (Delta's sink, exactly once per batch), enqueued → the commit that wrote the event:
   the least any landing can cost at this rate on this machine. Each mode's p95 is printed as a
   ratio to the baseline's.

    .venv/bin/python bench/bench_pipeline.py [--reports 1000000] [--rate 1000] [--seconds 60]
        [--warmup 0] [--latency-modes baseline,realtime,staged]
Figures go to docs/BENCHMARKS.md (section "Pipeline") with the command that produced them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import functions as F  # noqa: E402

from jobs import bronze, gold, pipeline, realtime, silver, tables  # noqa: E402
from jobs.runtime import get_spark  # noqa: E402
from jobs.settings import PROJECT_ROOT, Settings  # noqa: E402
from jobs.sources import SourceParams  # noqa: E402
from scripts.kafka_broker import KafkaBroker  # noqa: E402

PY = sys.executable


def send(bootstrap: str, topic: str, *args: str, scenario: str = "load_test") -> dict:
    """The generator CLI, as a user would run it, into the local broker; its JSON summary."""
    cmd = [PY, "-m", "generators", "--sink", "kafka", "--bootstrap", bootstrap, "--topic", topic,
           "--scenario", scenario, "--seed", "1", "--json", *args]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout)


def create_topic(bootstrap: str, topic: str, partitions: int = 4) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(timeout=30)


def baseline_copy(spark, settings: Settings) -> float:
    """Seconds for a plain Kafka → Delta append of the topic."""
    out = f"{settings.data_root}/baseline"
    started = time.monotonic()
    (spark.readStream.format("kafka").option("kafka.bootstrap.servers", settings.kafka_bootstrap)
     .option("subscribe", settings.topic).option("startingOffsets", "earliest").load()
     .writeStream.format("delta").option("checkpointLocation", f"{out}-cp")
     .trigger(availableNow=True).start(out).awaitTermination())
    return time.monotonic() - started


def throughput(spark, broker: KafkaBroker, work: Path, reports: int, scenario: str) -> dict:
    settings = Settings(profile="local", data_root=str(work / "throughput"),
                        kafka_bootstrap=broker.bootstrap, topic="bench-throughput")
    t0 = time.monotonic()
    send(broker.bootstrap, settings.topic, "--count", str(reports), scenario=scenario)
    load_s = time.monotonic() - t0
    base_s = baseline_copy(spark, settings)
    stages = {}
    trigger = {"availableNow": True}
    for name, start in (("bronze", lambda: bronze.start(spark, settings, SourceParams(), trigger)),
                        ("silver", lambda: silver.start(spark, settings, trigger)),
                        ("gold flags", lambda: gold.start(spark, settings, trigger)),
                        ("gold aggregates", lambda: gold.start_aggregates(spark, settings, trigger))):
        t = time.monotonic()
        pipeline.await_run(start())
        stages[name] = time.monotonic() - t
    events = spark.read.format("delta").load(settings.table_path(tables.BRONZE_RAW.name)).count()
    # the target is in reports: the topic holds follow-ups and duplicates beside them
    reports = spark.read.format("delta").load(settings.table_path(tables.REPORT.name)).count()
    total = sum(stages.values())
    # the same topic through the low-latency query (one foreachBatch), on fresh tables
    rt_settings = Settings(profile="local", data_root=str(work / "throughput-realtime"),
                           kafka_bootstrap=broker.bootstrap, topic=settings.topic)
    t = time.monotonic()
    realtime.run_available_now(spark, rt_settings, SourceParams())
    rt_total = time.monotonic() - t
    return {"events": events, "reports": reports, "load_s": load_s, "baseline_s": base_s, "stages": stages,
            "total_s": total, "rate": events / total, "baseline_rate": events / base_s,
            "realtime_s": rt_total, "realtime_rate": events / rt_total}


def wait_until_caught_up(spark, settings: Settings, queries, sent: int, timeout: float = 600) -> None:
    """Until bronze holds every event sent, gold has a flags row per silver report and no query
    is busy or has data waiting (so that stopping them interrupts no batch)."""
    def count(table) -> int:
        return spark.read.format("delta").load(settings.table_path(table.name)).count()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        idle = all(not q.status["isTriggerActive"] and not q.status["isDataAvailable"]
                   for q in queries)
        if (idle and count(tables.BRONZE_RAW) >= sent
                and count(tables.FLAGS) == count(tables.REPORT) > 0):
            return
    raise TimeoutError(f"the pipeline did not catch up within {timeout:.0f} s")


def _batch_seconds(query) -> dict:
    """Median and maximum duration of the query's non-empty micro-batches."""
    durations = sorted(p["durationMs"].get("triggerExecution", 0) / 1000
                       for p in query.recentProgress if p["numInputRows"] > 0)
    if not durations:
        return {"batches": 0}
    return {"batches": len(durations), "median_s": durations[len(durations) // 2],
            "max_s": durations[-1]}


def latency_baseline(spark, broker: KafkaBroker, work: Path, rate: int, seconds: int,
                     trigger: str, warmup: int, scenario: str) -> dict:
    """Latency of a plain Kafka → Delta stream under the same load: enqueued → committed."""
    topic, out = "bench-latency-baseline", work / "latency-baseline"
    create_topic(broker.bootstrap, topic)
    # the change feed gives each row its commit's timestamp; for appends it writes nothing extra
    spark.sql(f"CREATE TABLE delta.`{out}` (key BINARY, value BINARY, topic STRING, partition INT, "
              "offset BIGINT, timestamp TIMESTAMP, timestampType INT) USING delta "
              "TBLPROPERTIES (delta.enableChangeDataFeed = true)")
    query = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", broker.bootstrap)
             .option("subscribe", topic).option("startingOffsets", "latest").load()
             .writeStream.format("delta").option("checkpointLocation", f"{out}-cp")
             .trigger(processingTime=trigger).start(str(out)))
    try:
        time.sleep(15)
        measured_from = time.time() + warmup
        sent = send(broker.bootstrap, topic, "--rate", str(rate), "--duration",
                    f"{warmup + seconds}s", scenario=scenario)["sent"]
        deadline = time.monotonic() + 600
        while spark.read.format("delta").load(str(out)).count() < sent:
            if time.monotonic() > deadline:
                raise TimeoutError("the baseline stream did not catch up within 600 s")
            time.sleep(2)
        batches = {"baseline": _batch_seconds(query)}
    finally:
        query.stop()
    lat = (spark.read.format("delta").option("readChangeFeed", "true")
           .option("startingVersion", 0).load(str(out))
           .where(F.col("timestamp").cast("double") >= measured_from)
           .select((F.col("_commit_timestamp").cast("double")
                    - F.col("timestamp").cast("double")).alias("committed_s")))
    p50, p95, p99 = lat.approxQuantile("committed_s", [0.5, 0.95, 0.99], 0.001)
    return {"reports": lat.count(), "events_sent": sent, "batches": batches, "p50_s": p50,
            "p95_s": p95, "p99_s": p99, "stamp_p95_s": None, "rate": rate, "seconds": seconds,
            "warmup": warmup, "trigger": trigger, "mode": "baseline", "aggregates_trigger": "-"}


def latency(spark, broker: KafkaBroker, work: Path, rate: int, seconds: int, trigger: str,
            mode: str, aggregates_trigger: str, warmup: int, scenario: str) -> dict:
    if mode == "baseline":
        return latency_baseline(spark, broker, work, rate, seconds, trigger, warmup, scenario)
    settings = Settings(profile="local", data_root=str(work / f"latency-{mode}"),
                        kafka_bootstrap=broker.bootstrap, topic=f"bench-latency-{mode}")
    t = {"processingTime": trigger}
    create_topic(broker.bootstrap, settings.topic)  # the query subscribes before any event is sent
    source = SourceParams(starting_offsets="latest")
    if mode == "realtime":
        queries = [realtime.start(spark, settings, source, t)]
    else:
        queries = [bronze.start(spark, settings, source, t), silver.start(spark, settings, t),
                   gold.start(spark, settings, t)]
    if aggregates_trigger != "off":  # they compete with the latency path for the same cores
        start_aggregates = realtime.start_aggregates if mode == "realtime" else gold.start_aggregates
        queries.append(start_aggregates(spark, settings, {"processingTime": aggregates_trigger}))
    try:
        time.sleep(15)  # the queries' first (empty) batches
        measured_from = time.time() + warmup
        sent = send(broker.bootstrap, settings.topic, "--rate", str(rate), "--duration",
                    f"{warmup + seconds}s", scenario=scenario)["sent"]
        wait_until_caught_up(spark, settings, queries, sent)
        batches = {q.name: _batch_seconds(q) for q in queries}
    finally:
        for q in queries:
            q.stop()
    lat = _latencies(spark, settings, measured_from)
    p50, p95, p99 = lat.approxQuantile("committed_s", [0.5, 0.95, 0.99], 0.001)
    stamp_p95 = lat.approxQuantile("stamped_s", [0.95], 0.001)[0]
    return {"reports": lat.count(), "events_sent": sent, "batches": batches, "p50_s": p50,
            "p95_s": p95, "p99_s": p99, "stamp_p95_s": stamp_p95, "rate": rate,
            "seconds": seconds, "warmup": warmup, "trigger": trigger, "mode": mode,
            "aggregates_trigger": aggregates_trigger}


def _latencies(spark, settings: Settings, measured_from: float):
    """Per report enqueued at or after `measured_from` (epoch s), seconds from its final
    version's enqueued time to the commit that wrote that version's flags (`committed_s`), and
    to the flags row's own stamp (`stamped_s`)."""
    reports = spark.read.format("delta").load(settings.table_path(tables.REPORT.name))
    changes = (spark.read.format("delta").option("readChangeFeed", "true")
               .option("startingVersion", 0).load(settings.table_path(tables.FLAGS.name))
               .where(F.col("_change_type").isin("insert", "update_postimage"))
               .groupBy("safetyreportid", "safetyreportversion")
               .agg(F.min("_commit_timestamp").alias("committed_at"),
                    F.min("gold_updated_at").alias("stamped_at")))
    enqueued = F.col("enqueued_at").cast("double")
    return (reports.where(enqueued >= measured_from)
            .join(changes, ["safetyreportid", "safetyreportversion"])
            .select((F.col("committed_at").cast("double") - enqueued).alias("committed_s"),
                    (F.col("stamped_at").cast("double") - enqueued).alias("stamped_s")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=0,
                        help="seconds of load sent before the measured --seconds (latency)")
    parser.add_argument("--trigger", default="1 second")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--aggregates-trigger", default="1 minute",
                        help="trigger of gold's aggregates query during the latency run, or off "
                             "(default: the bundle's aggregates_trigger)")
    parser.add_argument("--scenario", default="load_test",
                        help="the generator's scenario, a name or a YAML path (default: load_test)")
    parser.add_argument("--latency-modes", default="baseline,realtime,staged",
                        help="baseline: a plain Kafka -> Delta stream; realtime: one query for "
                             "bronze+silver+flags; staged: one per stage")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    broker = KafkaBroker(data_dir=work / "kafka", heap="1g")
    broker.start()
    try:
        spark = get_spark(Settings(profile="local", data_root=str(work), kafka_bootstrap=None),
                          app_name="vigil-bench")
        if not args.skip_throughput:
            tp = throughput(spark, broker, work, args.reports, args.scenario)
            print(f"throughput: {tp['events']:,} events pre-loaded in {tp['load_s']:.0f} s")
            print(f"  baseline Kafka->Delta copy: {tp['baseline_s']:.1f} s = "
                  f"{tp['baseline_rate']:,.0f} events/s")
            for name, s in tp["stages"].items():
                print(f"  {name:<7} {s:7.1f} s = {tp['events'] / s:10,.0f} events/s")
            print(f"  pipeline {tp['total_s']:6.1f} s = {tp['rate']:10,.0f} events/s "
                  f"({tp['rate'] / tp['baseline_rate']:.2f}x the baseline copy), "
                  f"{tp['reports'] / tp['total_s']:,.0f} reports/s")
            print(f"  realtime query (bronze+silver+flags, then aggregates) {tp['realtime_s']:6.1f} s"
                  f" = {tp['realtime_rate']:10,.0f} events/s "
                  f"({tp['realtime_rate'] / tp['baseline_rate']:.2f}x the baseline copy), "
                  f"{tp['reports'] / tp['realtime_s']:,.0f} reports/s")
            print(f"  ({tp['reports']:,} reports in silver; the target is 10,000 reports/s)")
        base_p95 = None
        for mode in ([] if args.skip_latency else args.latency_modes.split(",")):
            lt = latency(spark, broker, work, args.rate, args.seconds, args.trigger, mode,
                         args.aggregates_trigger, args.warmup, args.scenario)
            if mode == "baseline":
                base_p95 = lt["p95_s"]
                print(f"latency baseline (plain Kafka -> Delta stream) at {lt['rate']}/s for "
                      f"{lt['seconds']} s after {lt['warmup']} s of warm-up, trigger "
                      f"{lt['trigger']}: {lt['events_sent']:,} events sent, {lt['reports']:,} "
                      f"measured; enqueued -> committed: p50 {lt['p50_s']:.2f} s, "
                      f"p95 {lt['p95_s']:.2f} s, p99 {lt['p99_s']:.2f} s")
            else:
                ratio = f", {lt['p95_s'] / base_p95:.1f}x the baseline's p95" if base_p95 else ""
                print(f"latency ({mode}, aggregates {args.aggregates_trigger}) at {lt['rate']}/s "
                      f"for {lt['seconds']} s after {lt['warmup']} s of warm-up, trigger "
                      f"{lt['trigger']}: {lt['events_sent']:,} events sent, {lt['reports']:,} "
                      f"reports measured; enqueued -> flags committed: p50 {lt['p50_s']:.2f} s, "
                      f"p95 {lt['p95_s']:.2f} s{ratio}, p99 {lt['p99_s']:.2f} s (row stamp p95 "
                      f"{lt['stamp_p95_s']:.2f} s)")
            for name, b in lt["batches"].items():
                print(f"  {name:<16} {b['batches']:4d} batches, median "
                      f"{b.get('median_s', 0):.1f} s, max {b.get('max_s', 0):.1f} s")
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
