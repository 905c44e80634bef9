"""Detection quality of the signal stage (issue 5), scored against the generator's ground truth.

    .venv/bin/python bench/bench_signals.py [--scenario signals_benchmark] [--seed 5]
        [--reports N] [--chunk-days 7] [--data-root DIR] [--json out.json] [--rescore]

Generates the scenario in-process (generators.stream.generate), writes the events straight into
bronze in arrival order — one chunk of `--chunk-days` simulated days at a time, with the
simulated arrival time as the enqueued time — and after each chunk runs silver and the signal
stage with availableNow, so alerts are raised as the event-time frontier advances. Then scores
with jobs.score. Baseline in the same run: the same scoring of the naive rules a reviewer would
try first (Evans criteria alone; spikes at α = 0.001). Signal rules compared on the final
counts of the same run: each rule of disproportionality.SIGNAL_RULES from gold.safety_signal's
flags, and EB05 ≥ 2 under a prior fitted to every pair (labelled ones included).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generators.stream import generate  # noqa: E402
from jobs import (  # noqa: E402
    pipeline,
    signals,  # noqa: E402
    silver,
    tables,
)
from jobs import score as scoring  # noqa: E402
from jobs.runtime import get_spark  # noqa: E402
from jobs.settings import Settings  # noqa: E402

DAY = 86400.0


def bronze_rows(events, offset: int):
    rows = []
    for i, e in enumerate(events):
        at = datetime.fromtimestamp(e.time, tz=UTC).replace(tzinfo=None)
        rows.append(
            (
                f"bench/0/{offset + i}",
                e.key,
                e.payload,
                e.headers,
                "kafka",
                "bench",
                0,
                offset + i,
                at,
                None,
                at,
                at.date(),
            )
        )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="signals_benchmark")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--reports", type=int, default=None, help="background reports (default: the scenario's)")
    ap.add_argument("--chunk-days", type=float, default=7.0)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--rescore",
        action="store_true",
        help="no new data: evaluate the signal tables of an earlier run's --data-root once more with "
        "the current code (new first-met times are that run's last frontier), then score",
    )
    args = ap.parse_args(argv)
    if args.rescore and not args.data_root:
        ap.error("--rescore needs the --data-root of an earlier run")

    from generators.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.reports:
        scenario = scenario.with_overrides(reports=args.reports)
    t0 = time.monotonic()
    stream = generate(scenario, args.seed)
    events = sorted(stream, key=lambda e: (e.time, e.seq))
    manifest = stream.ground_truth.lines()
    gen_s = time.monotonic() - t0
    print(
        f"generated {len(events):,} events ({scenario.background_reports:,} background reports) "
        f"in {gen_s:.1f}s",
        flush=True,
    )

    root = args.data_root or tempfile.mkdtemp(prefix="vigil-bench-signals-")
    settings = Settings(profile="local", data_root=root, kafka_bootstrap=None)
    spark = get_spark(settings, app_name="vigil-bench-signals")
    tables.ensure(spark, settings, tables.BRONZE_RAW)
    schema = tables.BRONZE_RAW.schema

    first = events[0].time
    chunks: dict[int, list] = {}
    for e in events:
        chunks.setdefault(int((e.time - first) // (args.chunk_days * DAY)), []).append(e)
    timings = {"bronze": 0.0, "silver": 0.0, "signals": 0.0}
    if args.rescore:
        from jobs.signals.writer import SignalWriter

        t = time.monotonic()
        SignalWriter(spark, settings).evaluate(spark)
        timings["signals"] = time.monotonic() - t
        chunks = {}
    offset = 0
    for k in sorted(chunks):
        part = chunks[k]
        t = time.monotonic()
        tables.append(spark.createDataFrame(bronze_rows(part, offset), schema), settings, tables.BRONZE_RAW)
        offset += len(part)
        timings["bronze"] += time.monotonic() - t
        t = time.monotonic()
        pipeline.await_run(silver.start(spark, settings, {"availableNow": True}))
        timings["silver"] += time.monotonic() - t
        t = time.monotonic()
        signals.run_available_now(spark, settings)
        timings["signals"] += time.monotonic() - t
        print(
            f"chunk {k}: {len(part):,} events; cumulative s: "
            + ", ".join(f"{n} {v:.0f}" for n, v in timings.items()),
            flush=True,
        )

    result = scoring.evaluate(spark, settings, manifest)
    print(scoring.format_table(result))
    strength = strength_table(spark, settings, manifest, result)
    print(strength)
    baseline = naive_baseline(spark, settings, manifest)
    print("baseline (Evans alone, labelled pairs included; spikes α=0.001):")
    print(scoring.format_table(baseline))
    rules = rule_comparison(spark, settings, manifest)
    print(format_rules(rules))
    priors = prior_history(spark, settings)
    print(format_priors(priors))
    out = {
        "events": len(events),
        "background_reports": scenario.background_reports,
        "chunk_days": args.chunk_days,
        "rescored": args.rescore,
        "seconds": {"generate": gen_s, **timings},
        "result": result,
        "baseline": baseline,
        "rules": rules,
        "priors": priors,
        "data_root": root,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    return 0


def strength_table(spark, settings, manifest, result) -> str:
    """Per injected signal: strength, carriers, the pair's counts and statistics, delay."""
    from pyspark.sql import functions as F

    from jobs.signals import tables as st

    sig = tables.delta_table(spark, settings, st.SAFETY_SIGNAL).toDF()
    lines = [
        "| signal | strength | reports carrying it | a | E | PRR | ROR 95% lower | IC025 | EBGM | EB05"
        " | found | delay (days) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    found = {a["id"]: a for a in result["signal"]["anomalies"]}
    for line in manifest:
        if line["type"] != "signal":
            continue
        p = line["params"]
        r = sig.where(
            (F.col("generic_name") == p["drug"].upper()) & (F.col("reactionmeddrapt") == p["reaction"])
        ).first()
        f = found[line["anomaly_id"]]

        def n(x, d=2):
            return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"

        lines.append(
            f"| {p['drug']} – {p['reaction']} | {p['strength']} | {len(line['safetyreportids'])} | "
            f"{r.a if r else 0} | {n(r.expected_reports if r else None, 1)} | {n(r.prr if r else None)} | "
            f"{n(r.ror_lower95 if r else None)} | {n(r.ic025 if r else None)} | "
            f"{n(r.ebgm if r else None)} | {n(r.eb05 if r else None)} | "
            f"{'yes' if f['found'] else 'no'} | {f['delay_days'] if f['delay_days'] is not None else '—'} |"
        )
    return "\n".join(lines)


def _signal_alerts(rows) -> list[dict]:
    from datetime import date

    return [
        {
            "alert_type": "safety_signal",
            "subject": f"drug={r.generic_name};reaction={r.reactionmeddrapt}",
            "window_start": date.min,
            "window_end": date.max,
            "detected_event_date": date.max,
        }
        for r in rows
    ]


def rule_comparison(spark, settings, manifest) -> list[dict]:
    """Safety-signal alerts, precision and recall of each rule on the final counts (unlabelled
    pairs, as gold.alert): from gold.safety_signal's flags, and EB05 ≥ 2 with the prior
    refitted to every pair. Also how many pairs the configured rule raised at some batch but
    no longer does (dropped from gold.alert)."""
    from pyspark.sql import functions as F

    from jobs.signals import alerts as sa
    from jobs.signals import disproportionality as dp
    from jobs.signals import ebgm
    from jobs.signals import tables as st

    truth = scoring.anomalies(manifest)
    sig = tables.delta_table(spark, settings, st.SAFETY_SIGNAL).toDF().where("NOT labelled").cache()
    flags = [F.col(c) for c in ("evans", "ror_signal", "ic_signal", "ebgm_signal")]
    out = []

    def add(name, rows, **extra):
        r = scoring.score(_signal_alerts(rows), truth, {})["signal"]
        out.append(
            {"rule": name, "alerts": r["alerts"], "precision": r["precision"], "recall": r["recall"], **extra}
        )

    for rule in dp.SIGNAL_RULES:
        met = sig.where(dp.signal_rule(rule, *flags))
        add(rule, met.select("generic_name", "reactionmeddrapt").collect())
    # other priors at the final counts: two components only (strict MGPS), and fitted to every
    # pair, labelled ones included (as FDA's MGPS runs)
    pairs = sa.contingency(
        tables.delta_table(spark, settings, st.DRUG_REACTION_COUNTS).toDF(),
        tables.delta_table(spark, settings, st.MARGINAL_COUNTS).toDF(),
    )
    rows = sig.select("generic_name", "reactionmeddrapt", "a", "expected_reports").collect()
    for name, params in (
        ("ebgm, two components only", sa.SignalParams(prior_components=(2,))),
        ("ebgm, prior fitted to every pair", sa.SignalParams(prior_pairs="all")),
        (
            "ebgm, every pair, two components (FDA's MGPS)",
            sa.SignalParams(prior_pairs="all", prior_components=(2,)),
        ),
    ):
        fit = sa.fit_prior(sa.prior_points(pairs, sa.labelled_pairs(spark), params), params)
        s = ebgm.scores(fit.prior, [r.a for r in rows], [r.expected_reports for r in rows])
        hit = [
            r
            for r, lo in zip(rows, s["eb05"], strict=True)
            if r.a >= params.min_count and lo >= params.eb05_min
        ]
        add(name, hit, prior=fit.prior.as_dict(), neg_log_likelihood=fit.neg_log_likelihood, bic=fit.bic)
    ever = sig.where("first_signal_at IS NOT NULL").count()
    now = sig.where("is_signal").count()
    out.append({"rule": "configured rule: raised at some batch, no longer alerting", "alerts": ever - now})
    sig.unpersist()
    return out


def format_rules(rules: list[dict]) -> str:
    lines = ["| rule (final counts) | alerts | precision | recall |", "|---|---:|---:|---:|"]
    for r in rules:
        if "precision" not in r:
            lines.append(f"| {r['rule']} | {r['alerts']} | | |")
            continue
        p = "—" if r["precision"] is None else f"{r['precision']:.2f}"
        lines.append(f"| {r['rule']} | {r['alerts']:,} | {p} | {r['recall']:.2f} |")
    return "\n".join(lines)


def prior_history(spark, settings) -> list[dict]:
    from jobs.signals import tables as st

    rows = tables.delta_table(spark, settings, st.SIGNAL_PRIOR).toDF().orderBy("fitted_at").collect()
    return [r.asDict() for r in rows]


def format_priors(priors: list[dict]) -> str:
    lines = [
        "| frontier | K | alpha1 | beta1 | p1 | alpha2 | beta2 | p2 | alpha3 | beta3 | p3"
        " | ΔBIC (2 − 3) | pairs | points | fit s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def g(x):
        return "—" if x is None else f"{x:.4g}"

    for p in priors:
        cells = " | ".join(g(p[f"{c}{k}"]) for k in (1, 2, 3) for c in ("alpha", "beta", "p"))
        two, three = p["bic_two_components"], p["bic_three_components"]
        delta = "—" if two is None or three is None else f"{two - three:,.0f}"
        lines.append(
            f"| {p['evaluated_event_date']} | {p['components']} | {cells} | {delta} | {p['pairs']:,} | "
            f"{p['points']:,} | {p['fit_seconds']:.1f} |"
        )
    return "\n".join(lines)


def naive_baseline(spark, settings, manifest) -> dict:
    """The naive rules on the same counts: Evans alone with labelled pairs alerting, and
    spikes at α = 0.001 with no minimum ratio (scored without first-detected times)."""
    from datetime import date

    from pyspark.sql import functions as F

    from jobs.signals import spikes
    from jobs.signals import tables as st

    sig = tables.delta_table(spark, settings, st.SAFETY_SIGNAL).toDF().where("evans")
    alerts = [
        {
            "alert_type": "safety_signal",
            "subject": f"drug={r.generic_name};reaction={r.reactionmeddrapt}",
            "window_start": r.first_evans_event_date or date.min,
            "window_end": date.max,
            "detected_event_date": r.first_evans_event_date or date.max,
        }
        for r in sig.collect()
    ]
    counts = tables.delta_table(spark, settings, st.WINDOW_COUNTS).toDF()
    totals = [(r.window_start, r.reports) for r in counts.where("subject = 'all'").collect()]
    params = spikes.SpikeParams(alpha=1e-3, min_ratio=1.0, min_count=3)
    ev = spikes.evaluate(spark, counts, spikes.covered_windows(totals, params), params).where("is_alert")
    alerts += [
        {
            "alert_type": r.alert_type,
            "subject": r.subject,
            "window_start": r.window_start,
            "window_end": r.window_end,
            "detected_event_date": r.window_start,
        }
        for r in ev.select("alert_type", "subject", "window_start", "window_end").collect()
    ]
    truth = scoring.anomalies(manifest)
    del F
    return scoring.score(alerts, truth, scoring.first_event_dates(spark, settings, truth))


if __name__ == "__main__":
    sys.exit(main())
