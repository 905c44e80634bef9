"""Detection quality against the generator's ground truth.

    python -m jobs.score --manifest run.manifest.jsonl [--data-root DIR] [--json out.json]

Reads the ground-truth manifest (one JSON line per injected anomaly) and the alert tables
(gold.alert, with gold.safety_signal and gold.spike_alert for the event time of detection),
and reports per anomaly type: recall, precision and detection delay.

Matching (by subject and window):
- a `signal` (drug D, reaction R) is found by a `safety_signal` alert on drug=D;reaction=R;
- an `overdose_cluster` (D, country C, start, duration) by an `overdose_cluster` alert on
  drug=D;country=C or drug=D whose window overlaps the cluster's;
- a `spike` (scope: a drug, a country, or all reports) by a `reporting_spike` alert on exactly
  that scope (drug=D, country=C, drug=D;country=C or all) whose window overlaps the spike's.

Precision, per alert type: the share of its alerts that some injected anomaly explains, of any
type — the same subject (dimensions both name must agree; a dimension only one of them names
is no contradiction, so `all` is explained by a spike in JP, and drug=FENTANYL;country=US by a
fentanyl overdose cluster in the US) and an overlapping window. A safety signal is explained by
an injected signal on its pair, or by an overdose cluster of its drug when its reaction is an
overdose term. Labelled reactions never reach gold.alert (see jobs.signals.alerts), so they
need no rule here; how many labelled pairs meet the signal rule is reported beside.

Detection delay: from the event time of the first injected event (the earliest receivedate of
the anomaly's reports in silver) to the event-time frontier of the micro-batch that first raised
the alert (`first_*_event_date`), in days — one-day windows, the spike window.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import UTC, date, datetime, timedelta

from jobs.gold import OVERDOSE_TERMS

ANOMALY_TYPES = {
    "signal": "safety_signal",
    "overdose_cluster": "overdose_cluster",
    "spike": "reporting_spike",
}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def anomalies(manifest: list[dict]) -> list[dict]:
    """The manifest lines that alerts can find, with their scope and event-time window."""
    out = []
    for line in manifest:
        if line.get("type") not in ANOMALY_TYPES:
            continue
        p = line["params"]
        start = _instant(p["start"]).date()
        duration = p.get("duration_seconds")
        end = (
            (_instant(p["start"]) + timedelta(seconds=duration)).date() + timedelta(days=1)
            if duration
            else date.max
        )
        out.append(
            {
                "id": line["anomaly_id"],
                "type": line["type"],
                "drug": (p.get("drug") or None) and p["drug"].upper(),
                "reaction": p.get("reaction"),
                "country": p.get("country"),
                "start": start,
                "end": end,
                "params": p,
                "safetyreportids": line.get("safetyreportids", []),
            }
        )
    return out


def parse_subject(subject: str) -> dict:
    parts = dict(kv.split("=", 1) for kv in subject.split(";") if "=" in kv)
    return {"drug": parts.get("drug"), "country": parts.get("country"), "reaction": parts.get("reaction")}


def _consistent(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b


def explains(anomaly: dict, alert: dict) -> bool:
    s = parse_subject(alert["subject"])
    if alert["alert_type"] == "safety_signal":
        if anomaly["type"] == "signal":
            return s["drug"] == anomaly["drug"] and s["reaction"] == anomaly["reaction"]
        if anomaly["type"] == "overdose_cluster":
            return s["drug"] == anomaly["drug"] and (s["reaction"] or "").lower() in OVERDOSE_TERMS
        return False
    if anomaly["type"] == "signal":
        return False
    overlaps = alert["window_start"] < anomaly["end"] and anomaly["start"] < alert["window_end"]
    return (
        overlaps and _consistent(s["drug"], anomaly["drug"]) and _consistent(s["country"], anomaly["country"])
    )


def finds(anomaly: dict, alert: dict) -> bool:
    """The alert is the one designed to find this anomaly (for recall)."""
    if alert["alert_type"] != ANOMALY_TYPES[anomaly["type"]] or not explains(anomaly, alert):
        return False
    s = parse_subject(alert["subject"])
    if anomaly["type"] == "overdose_cluster":
        return s["drug"] == anomaly["drug"] and s["country"] in (None, anomaly["country"])
    if anomaly["type"] == "spike":
        return s["drug"] == anomaly["drug"] and s["country"] == anomaly["country"]
    return True


def score(
    alerts: list[dict], truth: list[dict], first_event: dict[str, date], labelled_signals: int = 0
) -> dict:
    """Recall, precision and delays per type. `alerts`: gold.alert rows as dicts with
    `detected_event_date`; `first_event`: anomaly id → event date of its first report."""
    result = {}
    for a_type, alert_type in ANOMALY_TYPES.items():
        wanted = [t for t in truth if t["type"] == a_type]
        mine = [a for a in alerts if a["alert_type"] == alert_type]
        found, delays, per_anomaly = 0, [], []
        for t in wanted:
            hits = [a for a in mine if finds(t, a)]
            delay = None
            if hits:
                found += 1
                start = first_event.get(t["id"], t["start"])
                delay = min((a["detected_event_date"] - start).days for a in hits)
                delays.append(delay)
            per_anomaly.append({"id": t["id"], "found": bool(hits), "alerts": len(hits), "delay_days": delay})
        explained = [a for a in mine if any(explains(t, a) for t in truth)]
        false = [
            a["subject"] + " @ " + a["window_start"].isoformat()
            for a in mine
            if not any(explains(t, a) for t in truth)
        ]
        result[a_type] = {
            "injected": len(wanted),
            "found": found,
            "recall": found / len(wanted) if wanted else None,
            "alerts": len(mine),
            "explained_alerts": len(explained),
            "precision": len(explained) / len(mine) if mine else None,
            "median_delay_days": statistics.median(delays) if delays else None,
            "delays_days": delays,
            "anomalies": per_anomaly,
            "false_alarms": false[:50],
        }
    result["signal"]["labelled_pairs_meeting_rule"] = labelled_signals
    return result


def read_alerts(spark, settings) -> tuple[list[dict], int]:
    """gold.alert rows with the event-time frontier at which each was first raised."""
    from pyspark.sql import functions as F

    from jobs import tables
    from jobs.signals import tables as st

    def t(table):
        return tables.delta_table(spark, settings, table).toDF()

    sig = t(st.SAFETY_SIGNAL).select(
        F.concat(F.lit("drug="), "generic_name", F.lit(";reaction="), "reactionmeddrapt").alias("subject"),
        F.lit("safety_signal").alias("alert_type"),
        F.col("first_signal_event_date").alias("_det"),
    )
    spk = t(st.SPIKE_ALERT).select(
        "subject", "alert_type", "window_start", F.col("first_detected_event_date").alias("_det2")
    )
    rows = (
        t(st.ALERT)
        .join(sig, ["alert_type", "subject"], "left")
        .join(spk, ["alert_type", "subject", "window_start"], "left")
        .select("*", F.coalesce("_det", "_det2").alias("detected_event_date"))
        .collect()
    )
    labelled = t(st.SAFETY_SIGNAL).where("is_signal AND labelled").count()
    return [r.asDict() for r in rows], labelled


def first_event_dates(spark, settings, truth: list[dict]) -> dict[str, date]:
    """Anomaly id → the earliest receivedate of its reports in silver."""
    from pyspark.sql import functions as F

    from jobs import tables

    pairs = [(t["id"], rid) for t in truth for rid in t["safetyreportids"]]
    if not pairs:
        return {}
    ids = spark.createDataFrame(pairs, "anomaly_id STRING, safetyreportid STRING")
    reports = tables.delta_table(spark, settings, tables.REPORT).toDF()
    rows = (
        ids.join(reports, "safetyreportid")
        .groupBy("anomaly_id")
        .agg(F.min("receivedate").alias("first"))
        .collect()
    )
    return {r.anomaly_id: r.first for r in rows}


def evaluate(spark, settings, manifest: list[dict]) -> dict:
    truth = anomalies(manifest)
    alerts, labelled = read_alerts(spark, settings)
    return score(alerts, truth, first_event_dates(spark, settings, truth), labelled)


def format_table(result: dict) -> str:
    lines = [
        "| anomaly type | injected | found | recall | alerts | precision | median delay (days) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for a_type, r in result.items():

        def f(x):
            return "—" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)

        lines.append(
            f"| {a_type} | {r['injected']} | {r['found']} | {f(r['recall'])} | {r['alerts']} | "
            f"{f(r['precision'])} | {f(r['median_delay_days'])} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.score", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", required=True, help="ground-truth manifest (JSON lines)")
    parser.add_argument("--data-root", default="", help="the pipeline's data root (default: the profile's)")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--json", default=None, help="also write the full result here")
    args = parser.parse_args(argv)
    try:
        with open(args.manifest, "rb") as f:
            manifest = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        print(
            f"cannot read the manifest {args.manifest}: {e}; pass a generator manifest (JSON lines)",
            file=sys.stderr,
        )
        return 2
    from jobs.runtime import get_spark
    from jobs.settings import settings_for

    settings = settings_for(args.profile, data_root=args.data_root)
    spark = get_spark(settings, app_name="vigil-score")
    result = evaluate(spark, settings, manifest)
    print(format_table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
