"""Safety signals: incremental drug–reaction contingency counts, disproportionality (PRR, ROR,
IC) and empirical-Bayes shrinkage (MGPS: EBGM, EB05) in gold.safety_signal, spikes and
overdose clusters in gold.spike_alert, and the alerts the dashboards and the serving load read
in gold.alert.

Modules: `counts` (incremental counts), `disproportionality` (the statistics as Column
functions), `ebgm` (the MGPS prior fit and posterior scores, numpy/scipy), `spikes` (the
Poisson test over event-time windows), `alerts` (tables from counts), `writer` (the
micro-batch), `tables` (the table definitions).

    from jobs import signals
    signals.run_available_now(spark, settings)      # process what silver holds now
    signals.summary(spark, settings)                # what the signal tables say
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs import tables as core_tables
from jobs.settings import Settings
from jobs.signals import tables as signal_tables
from jobs.signals.alerts import SignalParams
from jobs.signals.counts import CountParams
from jobs.signals.spikes import SpikeParams
from jobs.signals.writer import Params, SignalWriter
from jobs.widgets import open_fraction, true_or_false, whole_number

__all__ = [
    "CountParams",
    "Params",
    "SignalParams",
    "SpikeParams",
    "SignalWriter",
    "start",
    "run_available_now",
    "run",
    "summary",
    "WIDGET_DEFAULTS",
]


def start(
    spark: SparkSession,
    settings: Settings,
    trigger: dict,
    query_name: str = "signals",
    params: Params | None = None,
):
    """Stream silver's report changes → signal counts, signals, spikes and alerts."""
    for table in (core_tables.REPORT, core_tables.DRUG, core_tables.REACTION):
        core_tables.ensure(spark, settings, table)  # the stage may start before silver has data
    writer = SignalWriter(spark, settings, params or Params())
    return (
        core_tables.read_stream(
            spark, settings, core_tables.REPORT, readChangeFeed="true", startingVersion="0"
        )
        .writeStream.queryName(query_name)
        .foreachBatch(writer.update_batch)
        .option("checkpointLocation", f"{settings.checkpoint_root}/{query_name}")
        .trigger(**trigger)
        .start()
    )


def run_available_now(spark: SparkSession, settings: Settings, params: Params | None = None):
    """Process every silver change available now; returns the run (batches, rows, seconds)."""
    from jobs.pipeline import await_run

    return await_run(start(spark, settings, {"availableNow": True}, params=params))


def summary(spark: SparkSession, settings: Settings, top: int = 10) -> DataFrame:
    """The alerts, strongest first within each type (for the notebook and the demo)."""
    alerts = core_tables.read(spark, settings, signal_tables.ALERT)
    order = F.row_number().over(
        Window.partitionBy("alert_type").orderBy(F.desc("evidence_reports"), "subject")
    )
    return (
        alerts.withColumn("_rank", order)
        .where(F.col("_rank") <= top)
        .drop("_rank")
        .orderBy("alert_type", F.desc("evidence_reports"))
    )


# Notebook parameters and their local defaults; on Databricks the job sets them.
WIDGET_DEFAULTS = {
    "profile": "local",
    "data_root": "",
    "trigger": "availableNow",
    "include_concomitant": "false",
    "min_count": "3",
    "signal_rule": "ebgm",
    "prior_pairs": "unlabelled",
    "prior_components": "2,3",
    "alpha": "1e-7",
    "lateness_days": "3",
}


def params_from(values: dict) -> Params:
    """Params from notebook widgets (strings)."""
    v = {**WIDGET_DEFAULTS, **{k: x for k, x in values.items() if x not in (None, "")}}
    components = str(v["prior_components"]).split(",")
    return Params(
        counts=CountParams(include_concomitant=true_or_false(v, "include_concomitant")),
        signals=SignalParams(
            min_count=whole_number(v, "min_count"),
            rule=v["signal_rule"],
            prior_pairs=v["prior_pairs"],
            prior_components=tuple(whole_number({"prior_components": k}, "prior_components")
                                   for k in components if k.strip()),
        ),
        spikes=SpikeParams(alpha=open_fraction(v, "alpha"),
                           lateness_days=whole_number(v, "lateness_days", minimum=0)),
    )


def run(widgets: dict) -> DataFrame:
    """What notebooks/04_signals runs: the stage with the widgets' settings, then the summary."""
    from jobs.pipeline import await_run, parse_trigger
    from jobs.runtime import get_spark
    from jobs.settings import settings_for

    values = {**WIDGET_DEFAULTS, **{k: v for k, v in widgets.items() if v not in (None, "")}}
    settings = settings_for(values["profile"], data_root=values["data_root"])
    trigger, params = parse_trigger(values["trigger"]), params_from(values)  # before Spark starts
    spark = get_spark(settings, app_name="vigil-signals")
    await_run(start(spark, settings, trigger, params=params))
    return summary(spark, settings)
