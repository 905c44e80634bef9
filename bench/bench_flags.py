"""Gold flags benchmark: what computing `gold.flags` costs, apart from Kafka and Delta.

The generator's load-test reports (and, with `--real-copies N`, the real openFDA sample from
../shared N times under new ids) are typed by silver's own functions once and cached; then each run writes
`gold.flags` of them into Spark's `noop` sink. Baseline, in the same run and the same cache: the
flags' inputs alone (the drug rows joined with the reference facts and their report, and the
reactions) into `noop`, the least any per-report judgement over them can cost. Prints each
run's seconds, the medians and their ratio. The first run of each is JIT-cold and left out.

To compare two commits, run this from a worktree of each, one after the other, with nothing
else running (this machine's runs vary by ±15%):

    .venv/bin/python bench/bench_flags.py [--reports 200000] [--real-copies 0] [--runs 5]
Figures go to docs/BENCHMARKS.md with the command that produced them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_signals import bronze_rows  # noqa: E402
from generators.event import Event  # noqa: E402
from generators.scenario import load_scenario  # noqa: E402
from generators.stream import generate  # noqa: E402
from jobs import gold, reference, silver, tables  # noqa: E402
from jobs.runtime import get_spark  # noqa: E402
from jobs.settings import PROJECT_ROOT  # noqa: E402

SHARED_DIR = Path(os.environ.get("VIGIL_SHARED", PROJECT_ROOT.parent / "shared"))


def events(reports: int, real_copies: int) -> list[Event]:
    """The load-test scenario's events for this many reports (seed 7), then the real sample's
    reports `real_copies` times (at most 9,999) under new ids, as events after them."""
    out = list(generate(load_scenario("load_test").with_overrides(reports=reports), seed=7))
    if real_copies:
        sample = SHARED_DIR / "reference" / "openfda-sample.jsonl"
        if not sample.exists():
            sys.exit(f"--real-copies needs {sample} (set VIGIL_SHARED to where ../shared is)")
        reports = [orjson.loads(line) for line in sample.read_bytes().splitlines() if line.strip()]
        at = out[-1].time if out else 0.0
        for copy in range(1, real_copies + 1):  # each copy its own reports: ids prefixed by the copy
            for r in reports:
                report_id = f"{copy:04d}{r['safetyreportid']}"
                out.append(Event(report_id, orjson.dumps({**r, "safetyreportid": report_id}), {},
                                 len(out), at))
    return out


def bronze_parquet(spark, events: list[Event], path: Path) -> None:
    """The events as bronze rows (`bench_signals.bronze_rows`), written once so that no run
    pays Python's serialization."""
    for start in range(0, len(events), 50_000):
        rows = bronze_rows(events[start:start + 50_000], start)
        spark.createDataFrame(rows, tables.BRONZE_RAW.schema).write.mode("append").parquet(str(path))


def timed(df) -> float:
    start = time.perf_counter()
    df.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


def arguments(doc: str, runs: int) -> argparse.Namespace:
    """The options of the benchmarks over these events (this one and bench_parse.py)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=200_000, help="generated reports (default 200,000)")
    parser.add_argument("--real-copies", type=int, default=0,
                        help="copies of the real openFDA sample's 49 reports to add (needs ../shared)")
    parser.add_argument("--runs", type=int, default=runs,
                        help=f"runs of each, the first left out (default {runs})")
    args = parser.parse_args()
    if not 0 <= args.real_copies <= 9_999:  # a copy's 4-digit prefix keeps ids within 12 digits
        parser.error("--real-copies must be 0-9999")
    return args


def bronze_of(spark, args: argparse.Namespace, tmp: str):
    """The options' events as bronze rows, read back from Parquet; and how many events."""
    stream = events(args.reports, args.real_copies)
    bronze_parquet(spark, stream, Path(tmp) / "bronze")
    return spark.read.parquet(str(Path(tmp) / "bronze")), len(stream)


def main() -> None:
    args = arguments(__doc__, runs=5)
    spark = get_spark(app_name="vigil-bench-flags")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-flags-") as tmp:
        started = time.perf_counter()
        bronze, n_events = bronze_of(spark, args, tmp)
        reports = silver.report_rows(silver.latest_versions(silver.compact(silver.parse(bronze)))).cache()
        drugs = silver.drug_rows(reports, reference.product_names(spark)).cache()
        reactions = silver.reaction_rows(reports).cache()
        facts = reference.drug_facts(spark).cache()
        counts = [df.count() for df in (reports, drugs, reactions, facts)]
        print(f"{n_events:,} events → {counts[0]:,} reports, {counts[1]:,} drugs, {counts[2]:,} reactions "
              f"(typed and cached in {time.perf_counter() - started:.1f} s)")

        inputs = (drugs.join(facts, "generic_name", "left")
                  .join(reports.select("safetyreportid", "patient_age_years", "patient_sex"),
                        "safetyreportid", "left")
                  .unionByName(reactions.select("safetyreportid"), allowMissingColumns=True))
        flags = gold.flags(reports, drugs, reactions, facts)
        times: dict[str, list[float]] = {"baseline: the inputs": [], "gold.flags": []}
        for _ in range(args.runs):  # alternating, so that drift touches both alike
            times["baseline: the inputs"].append(timed(inputs))
            times["gold.flags"].append(timed(flags))
        medians = {}
        for name, runs in times.items():
            kept = runs[1:] or runs
            medians[name] = statistics.median(kept)
            print(f"{name}: runs {', '.join(f'{t:.2f}' for t in runs)} s; median of runs 2-{len(runs)} "
                  f"{medians[name]:.2f} s")
        print(f"gold.flags / baseline: {medians['gold.flags'] / medians['baseline: the inputs']:.2f}x")
    spark.stop()


if __name__ == "__main__":
    main()
