"""From counts to alerts: gold.safety_signal (every pair with enough reports, its statistics,
its rules and when each rule was first met), gold.spike_alert (windows that spiked) and the one
table the dashboards and the serving load read, gold.alert.

"First met" is recorded twice: `first_*_at` is the processing time of the micro-batch that first
saw the rule met, `first_*_event_date` the event-time frontier (the latest event date counted)
at that batch — the one that detection delays are measured in. Once set, neither changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import reference, tables
from jobs.settings import Settings
from jobs.signals import disproportionality as dp
from jobs.signals import spikes
from jobs.signals import tables as st


@dataclass(frozen=True)
class SignalParams:
    min_count: int = 3  # a: reports naming the pair, below which a pair is not evaluated
    prr_min: float = 2.0
    chi2_min: float = 4.0
    rule: str = "all"  # which rules make `is_signal`: all | any | evans | ror | ic
    alert_on_labelled: bool = False  # alert on reactions already on the drug's label


def labelled_pairs(spark: SparkSession) -> DataFrame:
    """(generic_name, reactionmeddrapt) pairs the reference data lists as labelled reactions."""
    rows = {
        (d["generic_name"].strip().upper(), r["pt"])
        for d in reference.drug_records()
        for r in d.get("labelled_reactions", [])
    }
    return spark.createDataFrame(sorted(rows), "generic_name STRING, reactionmeddrapt STRING").withColumn(
        "labelled", F.lit(True)
    )


def contingency(pairs: DataFrame, marginals: DataFrame) -> DataFrame:
    """a, b, c, d per pair from the pair counts and the margins (n_D, n_R, N)."""
    drug = marginals.where("dimension = 'drug'").select(
        F.col("value").alias("generic_name"), F.col("reports").alias("n_drug")
    )
    reaction = marginals.where("dimension = 'reaction'").select(
        F.col("value").alias("reactionmeddrapt"), F.col("reports").alias("n_reaction")
    )
    total = marginals.where("dimension = 'total'").select(F.col("reports").alias("n_total"))
    t = (
        pairs.join(drug, "generic_name", "left")
        .join(reaction, "reactionmeddrapt", "left")
        .crossJoin(F.broadcast(total))
    )
    a = F.coalesce("reports", F.lit(0)).cast("long")
    b = F.coalesce("n_drug", F.lit(0)) - a
    c = F.coalesce("n_reaction", F.lit(0)) - a
    return t.select(
        "generic_name",
        "reactionmeddrapt",
        a.alias("a"),
        b.alias("b"),
        c.alias("c"),
        (F.coalesce("n_total", F.lit(0)) - a - b - c).alias("d"),
    )


def signal_rows(table: DataFrame, labelled: DataFrame, params: SignalParams) -> DataFrame:
    """Statistics, flags and the processing/event time at which each flag holds (null when
    not), for a DataFrame of (generic_name, reactionmeddrapt, a, b, c, d, evaluated_event_date)."""
    a, b, c, d = (F.col(x) for x in "abcd")
    stats = dp.statistics(a, b, c, d)
    with_stats = table.select("*", *[col.alias(name) for name, col in stats.items()])
    flags = dp.criteria(
        F.col("a"),
        F.col("prr"),
        F.col("prr_chi2"),
        F.col("ror_lower95"),
        F.col("ic025"),
        params.min_count,
        params.prr_min,
        params.chi2_min,
    )
    flagged = with_stats.select("*", *[col.alias(name) for name, col in flags.items()])
    flagged = flagged.withColumn(
        "is_signal", dp.signal_rule(params.rule, F.col("evans"), F.col("ror_signal"), F.col("ic_signal"))
    )
    flagged = flagged.join(F.broadcast(labelled), ["generic_name", "reactionmeddrapt"], "left").withColumn(
        "labelled", F.coalesce("labelled", F.lit(False))
    )
    now = F.current_timestamp()
    firsts = []
    for flag, name in (
        ("evans", "evans"),
        ("ror_signal", "ror"),
        ("ic_signal", "ic"),
        ("is_signal", "signal"),
    ):
        firsts += [
            F.when(F.col(flag), now).alias(f"first_{name}_at"),
            F.when(F.col(flag), F.col("evaluated_event_date")).alias(f"first_{name}_event_date"),
        ]
    return flagged.select(
        *[c for c in st.SAFETY_SIGNAL.columns if not c.startswith("first_") and c != "signals_updated_at"],
        *firsts,
        now.alias("signals_updated_at"),
    ).select(*st.SAFETY_SIGNAL.columns)


def merge_signals(spark: SparkSession, settings: Settings, rows: DataFrame) -> None:
    """Update statistics; keep every first-met time once set."""
    table = st.SAFETY_SIGNAL
    keep_first = {c: f"coalesce(t.{c}, s.{c})" for c in table.columns if c.startswith("first_")}
    values = {**{c: f"s.{c}" for c in table.columns}, **keep_first}
    (
        tables.delta_table(spark, settings, table)
        .alias("t")
        .merge(rows.alias("s"), "t.generic_name = s.generic_name AND t.reactionmeddrapt = s.reactionmeddrapt")
        .whenMatchedUpdate(set=values)
        .whenNotMatchedInsert(values={c: f"s.{c}" for c in table.columns})
        .execute()
    )


def spike_rows(evaluated: DataFrame, existing: DataFrame, frontier, params: spikes.SpikeParams) -> DataFrame:
    """Windows to write to gold.spike_alert: those alerting now, and those that alerted before
    (kept, as `withdrawn` when they no longer do)."""
    keys = ["alert_type", "subject", "window_start"]
    before = existing.select(
        *keys, F.col("first_detected_event_date").alias("_first_event"), F.lit(True).alias("_known")
    )
    rows = evaluated.join(before, keys, "left").where("is_alert OR _known")
    drug, country = spikes.subject_parts(F.col("subject"))
    frontier_col = F.lit(frontier).cast("date")
    watermark = F.date_sub(frontier_col, params.lateness_days)
    first_event = F.coalesce("_first_event", frontier_col)
    late = F.col("window_end") <= F.date_sub(first_event, params.lateness_days)
    status = (
        F.when(~F.col("is_alert"), "withdrawn")
        .when(late, "late")
        .when(F.col("window_end") <= watermark, "final")
        .otherwise("provisional")
    )
    return rows.select(
        "alert_type",
        "subject",
        F.when(drug != "", drug).alias("generic_name"),
        F.when(country != "", country).alias("occurcountry"),
        "window_start",
        "window_end",
        "observed_reports",
        "baseline_mean",
        "baseline_windows",
        "ratio",
        "p_value",
        F.lit(params.alpha).alias("alpha"),
        "is_alert",
        status.alias("status"),
        F.when(F.col("is_alert"), F.current_timestamp()).alias("first_detected_at"),
        F.when(F.col("is_alert"), frontier_col).alias("first_detected_event_date"),
        frontier_col.alias("evaluated_event_date"),
        F.current_timestamp().alias("signals_updated_at"),
    )


def merge_spikes(spark: SparkSession, settings: Settings, rows: DataFrame) -> None:
    table = st.SPIKE_ALERT
    keep_first = {c: f"coalesce(t.{c}, s.{c})" for c in ("first_detected_at", "first_detected_event_date")}
    values = {**{c: f"s.{c}" for c in table.columns}, **keep_first}
    key = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
    (
        tables.delta_table(spark, settings, table)
        .alias("t")
        .merge(rows.alias("s"), key)
        .whenMatchedUpdate(set=values)
        .whenNotMatchedInsert(values={c: f"s.{c}" for c in table.columns})
        .execute()
    )


def signal_subject(drug, reaction):
    return F.concat(F.lit("drug="), drug, F.lit(";reaction="), reaction)


def alert_rows(signals: DataFrame, spike_alerts: DataFrame, params: SignalParams) -> DataFrame:
    """gold.alert: new safety signals (unlabelled, unless `alert_on_labelled`) and spikes."""
    wanted = F.col("is_signal") & (F.lit(params.alert_on_labelled) | ~F.col("labelled"))
    sig = signals.where(wanted).select(
        F.lit("safety_signal").alias("alert_type"),
        signal_subject(F.col("generic_name"), F.col("reactionmeddrapt")).alias("subject"),
        F.col("first_signal_event_date").alias("window_start"),
        F.col("evaluated_event_date").alias("window_end"),
        F.lit("prr").alias("statistic"),
        F.col("prr").alias("statistic_value"),
        F.lit(params.prr_min).alias("threshold"),
        F.col("a").alias("evidence_reports"),
        "expected_reports",
        F.lit("open").alias("status"),
        F.col("first_signal_at").alias("first_detected_at"),
    )
    spk = spike_alerts.where("is_alert").select(
        "alert_type",
        "subject",
        "window_start",
        "window_end",
        F.lit("poisson_p").alias("statistic"),
        F.col("p_value").alias("statistic_value"),
        F.col("alpha").alias("threshold"),
        F.col("observed_reports").alias("evidence_reports"),
        F.col("baseline_mean").alias("expected_reports"),
        "status",
        "first_detected_at",
    )
    return sig.unionByName(spk).withColumn("gold_updated_at", F.current_timestamp()).select(*st.ALERT.columns)


def merge_alerts(spark: SparkSession, settings: Settings, rows: DataFrame) -> None:
    """Make gold.alert equal `rows`: insert, update what changed, delete what no longer alerts."""
    table = st.ALERT
    key = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
    changed = " OR ".join(
        f"NOT (t.{c} <=> s.{c})" for c in table.columns if c not in table.key and c != "gold_updated_at"
    )
    values = {c: f"s.{c}" for c in table.columns}
    (
        tables.delta_table(spark, settings, table)
        .alias("t")
        .merge(rows.alias("s"), key)
        .whenMatchedUpdate(condition=changed, set=values)
        .whenNotMatchedInsert(values=values)
        .whenNotMatchedBySourceDelete()
        .execute()
    )
