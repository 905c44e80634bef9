"""The streaming pipeline as one unit: bronze → silver → gold, a summary of what the tables
hold, and the reconciliation that proves every bronze event is in silver or quarantine.

Each stage is its own streaming query with its own checkpoint (as the Databricks job runs
them, one notebook per task; gold runs two: flags, and the daily aggregates that follow them);
`run_available_now` runs them in order and waits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import bronze, gold, realtime, silver, tables
from jobs.settings import Settings
from jobs.sources import SourceParams
from jobs.widgets import whole_number

# What Spark reads as a processing-time interval: amounts with units, such as `5 seconds`,
# `500 milliseconds`, `1 minute 30 seconds` (no abbreviations, months or years; Spark itself
# refuses the rest, such as `1.5 minutes`, when the query starts).
_AMOUNT = r"\d+(?:\.\d+)?\s+(?:(?:micro|milli)?second|minute|hour|day|week)s?"
INTERVAL = re.compile(rf"(?:interval\s+)?{_AMOUNT}(?:\s+{_AMOUNT})*", re.IGNORECASE)


def parse_trigger(trigger: str) -> dict:
    """`availableNow`, or a processing-time interval such as `5 seconds`."""
    trigger = trigger.strip()
    if trigger.lower() in ("availablenow", "available_now"):
        return {"availableNow": True}
    if INTERVAL.fullmatch(trigger):
        return {"processingTime": trigger}
    raise ValueError(f"unknown trigger {trigger!r}: use availableNow or an interval such as "
                     "'5 seconds', '500 milliseconds' or '1 minute' (no abbreviations)")


@dataclass
class StageRun:
    stage: str
    batches: int
    input_rows: int
    seconds: float


def await_run(query) -> StageRun:
    query.awaitTermination()
    if query.exception():
        raise query.exception()
    progress = query.recentProgress
    return StageRun(
        stage=query.name,
        batches=len([p for p in progress if p["numInputRows"] > 0]),
        input_rows=sum(p["numInputRows"] for p in progress),
        seconds=sum(p["durationMs"].get("triggerExecution", 0) for p in progress) / 1000,
    )


def run_available_now(spark: SparkSession, settings: Settings, source: SourceParams) -> list[StageRun]:
    """Process everything available now through all three stages, one after another."""
    trigger = {"availableNow": True}
    return [
        await_run(bronze.start(spark, settings, source, trigger)),
        await_run(silver.start(spark, settings, trigger)),
        *run_gold(spark, settings, trigger),
    ]


def aggregates_trigger(trigger: dict, aggregates: str | None) -> dict:
    """The daily aggregates' trigger: `aggregates` (an interval) beside a processing-time
    stream, else the stream's own; always availableNow when the stream is (a run that ends)."""
    if trigger.get("availableNow") or not (aggregates or "").strip():
        return trigger
    parsed = parse_trigger(aggregates)
    if parsed.get("availableNow"):
        raise ValueError("aggregates_trigger: an interval such as '1 minute', or empty")
    return parsed


def run_gold(spark: SparkSession, settings: Settings, trigger: dict,
             aggregates: dict | None = None) -> list[StageRun]:
    """Gold's two queries, until they stop (availableNow) or fail. With availableNow the
    aggregates start only once the flags are written: such a query reads only what its
    source holds when it starts."""
    if trigger.get("availableNow"):
        return [await_run(gold.start(spark, settings, trigger)),
                await_run(gold.start_aggregates(spark, settings, trigger))]
    return [await_run(query) for query in start_gold(spark, settings, trigger, aggregates)]


def start_gold(spark: SparkSession, settings: Settings, trigger: dict,
               aggregates: dict | None = None) -> list:
    """Gold's two queries, running side by side: the flags, and the daily aggregates that
    follow their change feed, on `aggregates` or else the same trigger (for processing-time
    triggers; see `run_gold`)."""
    return [gold.start(spark, settings, trigger),
            gold.start_aggregates(spark, settings, aggregates or trigger)]


def reconcile(spark: SparkSession, settings: Settings) -> DataFrame:
    """One row: bronze events, how many are quarantined, how many are accounted for in silver
    (their report is there at their version or a later one), and how many are neither — which
    must be zero."""
    raw = tables.read(spark, settings, tables.BRONZE_RAW)
    quarantined = tables.read(spark, settings, tables.QUARANTINE).select("bronze_id").distinct()
    reports = tables.read(spark, settings, tables.REPORT).select(
        "safetyreportid", F.col("safetyreportversion").alias("stored_version"))
    # each event's id and version read as silver reads them (after a byte order mark, say)
    key = F.from_json(silver.payload_text(F.col("payload")),
                      "safetyreportid STRING, safetyreportversion STRING")
    report_id, version = silver.report_key(key)
    events = raw.join(quarantined, "bronze_id", "left_anti").select(
        "bronze_id", report_id.alias("safetyreportid"), version.alias("version"))
    accounted = events.join(reports, "safetyreportid", "left").select(
        (F.col("stored_version") >= F.col("version")).alias("in_silver"))
    counts = accounted.agg(F.count(F.when(F.col("in_silver"), 1)).alias("in_silver"),
                           F.count(F.when(~F.coalesce("in_silver", F.lit(False)), 1)).alias("unaccounted"))
    return counts.crossJoin(raw.agg(F.count("*").alias("bronze_events"))) \
        .crossJoin(quarantined.agg(F.count("*").alias("quarantined"))) \
        .select("bronze_events", "in_silver", "quarantined", "unaccounted")


def summary(spark: SparkSession, settings: Settings, top: int = 5) -> dict:
    """What the tables hold, for the demo and the notebooks' displays."""
    reports = tables.read(spark, settings, tables.REPORT)
    flags = tables.read(spark, settings, tables.FLAGS)
    quarantine = tables.read(spark, settings, tables.QUARANTINE)
    drug_daily = tables.read(spark, settings, tables.DRUG_DAILY)
    f = flags.agg(F.count("*").alias("n"), F.count(F.when(F.col("is_overdose"), 1)).alias("overdoses"),
                  F.count(F.when(F.col("is_anomaly"), 1)).alias("anomalies")).first()
    return {
        "reports": reports.count(),
        "flagged_reports": f.n,
        "overdoses": f.overdoses,
        "anomalies": f.anomalies,
        "quarantined_by_rule": {
            r.rule: r.n for r in quarantine.select(F.explode("broken_rules").alias("rule"))
            .groupBy("rule").agg(F.count("*").alias("n")).orderBy(F.desc("n")).collect()
        },
        "top_drugs": [
            (r.generic_name, r.reports) for r in drug_daily.groupBy("generic_name")
            .agg(F.sum("reports").alias("reports")).orderBy(F.desc("reports"), "generic_name")
            .limit(top).collect()
        ],
        "reconciliation": reconcile(spark, settings).first().asDict(),
    }


# Notebook parameters and their local defaults; on Databricks the job sets them.
WIDGET_DEFAULTS = {
    "profile": "local",
    "data_root": "",
    "topic": "",
    "source": "kafka",
    "trigger": "availableNow",
    # the daily aggregates' own trigger (dashboards need minutes, not seconds; every run
    # recomputes the days it touches on the cores the flags need); empty: `trigger`
    "aggregates_trigger": "",
    "max_offsets_per_trigger": "",
    "max_files_per_trigger": "",
    # where a Kafka / Event Hubs query with no checkpoint yet starts: `earliest` (everything
    # the hub retains, so no report is skipped), `latest`, or Spark's JSON of offsets per
    # partition; a query that has a checkpoint resumes from it whatever this says
    "starting_offsets": "earliest",
    "eventhubs_auth": "service_credential",
    "service_credential": "",
    "secret_scope": "",
}


def source_params(widgets: dict, secrets=None) -> SourceParams:
    """SourceParams from notebook widgets; secrets come from the job's secret scope."""
    def secret(key: str) -> str | None:
        scope = widgets.get("secret_scope")
        return secrets.get(scope=scope, key=key) if secrets and scope else None

    auth = widgets.get("eventhubs_auth") or "service_credential"
    return SourceParams(
        source=widgets.get("source") or "kafka",
        max_offsets_per_trigger=whole_number(widgets, "max_offsets_per_trigger"),
        max_files_per_trigger=whole_number(widgets, "max_files_per_trigger"),
        starting_offsets=widgets.get("starting_offsets") or "earliest",
        eventhubs_auth=auth,
        service_credential=widgets.get("service_credential") or None,
        connection_string=secret("eventhubs-connection-string") if auth == "connection_string" else None,
        tenant_id=secret("tenant-id") if auth == "oauth" else None,
        client_id=secret("client-id") if auth == "oauth" else None,
        client_secret=secret("client-secret") if auth == "oauth" else None,
    )


STAGES = ("bronze", "silver", "gold", "realtime")


def run_stage(stage: str, widgets: dict, secrets=None) -> DataFrame:
    """What a stage notebook runs: start the stage's query with the widgets' settings and
    wait for it (an `availableNow` run ends; a processing-time run streams until stopped).
    Returns one row describing the run, for `display`."""
    from jobs.runtime import get_spark
    from jobs.settings import settings_for

    values = {**WIDGET_DEFAULTS, **{k: v for k, v in widgets.items() if v not in (None, "")}}
    # the widgets are checked before Spark starts, so that a typo fails in a second
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: {', '.join(STAGES)}")
    settings = settings_for(values["profile"], data_root=values["data_root"], topic=values["topic"])
    trigger = parse_trigger(values["trigger"])
    aggregates = aggregates_trigger(trigger, values["aggregates_trigger"])
    source = source_params(values, secrets) if stage in ("bronze", "realtime") else None
    spark = get_spark(settings, app_name=f"vigil-{stage}")
    if stage == "bronze":
        runs = [await_run(bronze.start(spark, settings, source, trigger))]
    elif stage == "realtime":  # bronze + silver + flags in one query, then the aggregates
        runs = (realtime.run_available_now(spark, settings, source) if trigger.get("availableNow")
                else [await_run(q) for q in realtime.start_with_aggregates(spark, settings, source,
                                                                          trigger, aggregates)])
    elif stage == "gold":
        runs = run_gold(spark, settings, trigger, aggregates)
    else:
        runs = [await_run(silver.start(spark, settings, trigger))]
    return spark.createDataFrame(
        [(run.stage, run.batches, run.input_rows, run.seconds) for run in runs],
        "stage string, batches int, input_rows long, seconds double",
    )
