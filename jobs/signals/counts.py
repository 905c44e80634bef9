"""Incremental contingency and window counts.

Every report contributes to the counts through one row of `gold.signal_report_contribution`:
its counted drugs (suspect and interacting by default; concomitant on request), its reactions,
its event date, country and overdose flag. Per micro-batch:

1. the contributions of the reports silver changed are recomputed from silver's current rows
   and MERGEd into the contribution table; a changed row keeps what it counted before in its
   `prev_*` columns and is stamped with the batch id (idempotent: a Delta transaction id per
   batch, so a re-run of the batch changes nothing);
2. the deltas of the batch are exactly the stamped rows: +1 for every key the report counts
   now, −1 for every key it counted before. They are MERGEd into the count tables (again one
   Delta transaction id per table and batch), so a follow-up that changes its reactions moves
   its counts, a duplicate changes nothing, and a batch re-run after a crash at any step
   converges to the counts of a full recount (`recount`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import gold, tables
from jobs.settings import Settings
from jobs.signals import tables as st

SUSPECT_ROLES = (1, 3)  # suspect, interacting
WITH_CONCOMITANT = (1, 2, 3)


def _empty() -> Column:
    return F.array().cast("array<string>")


@dataclass(frozen=True)
class CountParams:
    include_concomitant: bool = False  # count concomitant drugs too (fixed for a table's life)
    window_days: int = 1  # event-time window of the spike series

    @property
    def roles(self) -> tuple[int, ...]:
        return WITH_CONCOMITANT if self.include_concomitant else SUSPECT_ROLES


def drug_name() -> Column:
    return F.upper(F.trim(F.coalesce("generic_name", "product_name")))


def event_date() -> Column:
    """receivedate, but never later than the day the report arrived (a future-dated report is
    counted on its arrival day)."""
    return F.least(F.col("receivedate"), F.to_date("enqueued_at"))


def future_dated() -> Column:
    """receivedate after the day the report arrived: a data fault. Clamping it to the arrival
    day is not enough for the event-time frontier: in a replay of old reports the arrival day
    is today, and one such report would move the frontier to today."""
    return F.coalesce(F.col("receivedate") > F.to_date("enqueued_at"), F.lit(False))


def window_start(day: Column, window_days: int) -> Column:
    if window_days == 1:
        return day
    # windows aligned on Monday 1970-01-05, so 7-day windows are calendar weeks
    return F.date_sub(day, F.pmod(F.datediff(day, F.lit("1970-01-05").cast("date")), window_days).cast("int"))


def report_contributions(
    reports: DataFrame, drugs: DataFrame, reactions: DataFrame, facts: DataFrame, params: CountParams
) -> DataFrame:
    """One row per report: what it counts for (the contribution table's current columns)."""
    counted = (
        drugs.where(F.col("drugcharacterization").isin(*params.roles))
        .select("safetyreportid", drug_name().alias("drug"))
        .where("drug IS NOT NULL AND drug != ''")
        .groupBy("safetyreportid")
        .agg(F.array_sort(F.collect_set("drug")).alias("drugs"))
    )
    terms = (
        reactions.select("safetyreportid", F.trim("reactionmeddrapt").alias("pt"))
        .where("pt IS NOT NULL AND pt != ''")
        .groupBy("safetyreportid")
        .agg(F.array_sort(F.collect_set("pt")).alias("reactions"))
    )
    overdose = gold.flags(reports, drugs, reactions, facts).select("safetyreportid", "is_overdose")
    return (
        reports.select(
            "safetyreportid",
            "safetyreportversion",
            event_date().alias("event_date"),
            F.upper(F.trim("occurcountry")).alias("occurcountry"),
            future_dated().alias("future_dated"),
        )
        .join(counted, "safetyreportid", "left")
        .join(terms, "safetyreportid", "left")
        .join(overdose, "safetyreportid", "left")
        .select(
            "safetyreportid",
            "safetyreportversion",
            F.lit(True).alias("present"),
            "event_date",
            "occurcountry",
            F.coalesce("drugs", _empty()).alias("drugs"),
            F.coalesce("reactions", _empty()).alias("reactions"),
            F.coalesce("is_overdose", F.lit(False)).alias("overdose"),
            "future_dated",
        )
    )


_CURRENT = ("present", "event_date", "occurcountry", "drugs", "reactions", "overdose")
_UNCOUNTED = ("future_dated",)  # current columns that no count depends on: no prev_ copy


@contextmanager
def idempotent(spark: SparkSession, app_id: str, version: int):
    """Delta skips a DML commit whose (app id, version) it has already committed."""
    spark.conf.set("spark.databricks.delta.write.txnAppId", app_id)
    spark.conf.set("spark.databricks.delta.write.txnVersion", str(version))
    try:
        yield
    finally:
        spark.conf.unset("spark.databricks.delta.write.txnAppId")
        spark.conf.unset("spark.databricks.delta.write.txnVersion")


def batch_stamp(run: str, batch_id: int) -> str:
    """What the contribution rows a batch changed are stamped with: unique per run and batch."""
    return f"{run}/{batch_id}"


def merge_contributions(
    spark: SparkSession,
    settings: Settings,
    changed_ids: DataFrame,
    current: DataFrame,
    batch_id: int,
    run: str,
) -> None:
    """Stamp the changed reports' rows with the batch (`batch_stamp`), keeping what they
    counted before. `run`: the app id carrying the streaming query's id (`tables.batch_txn`)."""
    incoming = changed_ids.join(current, "safetyreportid", "left").select(
        "safetyreportid",
        "safetyreportversion",
        F.coalesce("present", F.lit(False)).alias("present"),
        "event_date",
        "occurcountry",
        F.coalesce("drugs", _empty()).alias("drugs"),
        F.coalesce("reactions", _empty()).alias("reactions"),
        F.coalesce("overdose", F.lit(False)).alias("overdose"),
        F.coalesce("future_dated", F.lit(False)).alias("future_dated"),
    )
    differs = " OR ".join(
        f"NOT (t.{c} <=> s.{c})" for c in ("safetyreportversion", *_CURRENT, *_UNCOUNTED)
    )
    update = {
        **{f"prev_{c}": f"t.{c}" for c in _CURRENT},
        **{c: f"s.{c}" for c in ("safetyreportversion", *_CURRENT, *_UNCOUNTED)},
        "batch": F.lit(batch_stamp(run, batch_id)),
        "signals_updated_at": F.current_timestamp(),
    }
    insert = {
        **{c: f"s.{c}" for c in ("safetyreportid", "safetyreportversion", *_CURRENT, *_UNCOUNTED)},
        "prev_present": F.lit(False),
        "prev_event_date": F.lit(None).cast("date"),
        "prev_occurcountry": F.lit(None).cast("string"),
        "prev_drugs": _empty(),
        "prev_reactions": _empty(),
        "prev_overdose": F.lit(False),
        "batch": F.lit(batch_stamp(run, batch_id)),
        "signals_updated_at": F.current_timestamp(),
    }
    with idempotent(spark, f"{run}-contribution", batch_id):
        (
            tables.delta_table(spark, settings, st.CONTRIBUTION)
            .alias("t")
            .merge(incoming.alias("s"), "t.safetyreportid = s.safetyreportid")
            .whenMatchedUpdate(condition=differs, set=update)
            .whenNotMatchedInsert(condition="s.present", values=insert)
            .execute()
        )


# --- the keys one contribution counts for


def _pairs(drugs: Column, reactions: Column) -> Column:
    return F.flatten(
        F.transform(
            drugs,
            lambda d: F.transform(
                reactions, lambda r: F.struct(d.alias("generic_name"), r.alias("reactionmeddrapt"))
            ),
        )
    )


def _marginals(drugs: Column, reactions: Column) -> Column:
    def kv(dimension: str, value: Column) -> Column:
        return F.struct(F.lit(dimension).alias("dimension"), value.alias("value"))

    return F.concat(
        F.array(kv("total", F.lit("*"))),
        F.transform(drugs, lambda d: kv("drug", d)),
        F.transform(reactions, lambda r: kv("reaction", r)),
    )


def subjects(drugs: Column, country: Column, overdose: Column) -> Column:
    """(alert_type, subject) of every spike series a report counts in."""

    def s(alert_type: str, subject: Column) -> Column:
        return F.struct(F.lit(alert_type).alias("alert_type"), subject.alias("subject"))

    def by_country(alert_type: str) -> Column:
        return F.when(
            country.isNotNull(),
            F.transform(
                drugs, lambda d: s(alert_type, F.concat(F.lit("drug="), d, F.lit(";country="), country))
            ),
        ).otherwise(F.array().cast("array<struct<alert_type:string,subject:string>>"))

    none = F.array().cast("array<struct<alert_type:string,subject:string>>")
    reporting = F.concat(
        F.array(s("reporting_spike", F.lit("all"))),
        F.when(
            country.isNotNull(), F.array(s("reporting_spike", F.concat(F.lit("country="), country)))
        ).otherwise(none),
        F.transform(drugs, lambda d: s("reporting_spike", F.concat(F.lit("drug="), d))),
        by_country("reporting_spike"),
    )
    overdoses = F.when(
        overdose,
        F.concat(
            F.transform(drugs, lambda d: s("overdose_cluster", F.concat(F.lit("drug="), d))),
            by_country("overdose_cluster"),
        ),
    ).otherwise(none)
    return F.concat(reporting, overdoses)


def _keyed(rows: DataFrame, prefix: str, sign: int, params: CountParams) -> dict[str, DataFrame]:
    def p(c: str) -> Column:
        return F.col(f"{prefix}{c}")

    live = rows.where(p("present"))
    window = window_start(p("event_date"), params.window_days)
    return {
        st.DRUG_REACTION_COUNTS.name: live.select(
            F.explode(_pairs(p("drugs"), p("reactions"))).alias("k")
        ).select("k.*", F.lit(sign).alias("delta")),
        st.MARGINAL_COUNTS.name: live.select(
            F.explode(_marginals(p("drugs"), p("reactions"))).alias("k")
        ).select("k.*", F.lit(sign).alias("delta")),
        st.WINDOW_COUNTS.name: live.where(p("event_date").isNotNull())
        .select(
            window.alias("window_start"),
            F.explode(subjects(p("drugs"), p("occurcountry"), p("overdose"))).alias("k"),
        )
        .select("k.alert_type", "k.subject", "window_start", F.lit(sign).alias("delta")),
    }


def _summed(parts: list[DataFrame], table: tables.Table, column: str) -> DataFrame:
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.groupBy(*table.key).agg(F.sum("delta").cast("bigint").alias(column))


def batch_deltas(stamped: DataFrame, params: CountParams) -> dict[tables.Table, DataFrame]:
    """The count changes of the contribution rows stamped with one batch: now − before."""
    now, before = _keyed(stamped, "", 1, params), _keyed(stamped, "prev_", -1, params)
    return {
        t: _summed([now[t.name], before[t.name]], t, "delta").where("delta != 0") for t in st.COUNT_TABLES
    }


def apply_deltas(
    spark: SparkSession, settings: Settings, deltas: dict[tables.Table, DataFrame], batch_id: int, run: str
) -> None:
    for table, rows in deltas.items():
        key = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
        with idempotent(spark, f"{run}-{table.name}", batch_id):
            (
                tables.delta_table(spark, settings, table)
                .alias("t")
                .merge(rows.alias("s"), key)
                .whenMatchedDelete(condition="t.reports + s.delta = 0")
                .whenMatchedUpdate(
                    set={"reports": "t.reports + s.delta", "signals_updated_at": "current_timestamp()"}
                )
                .whenNotMatchedInsert(
                    values={
                        **{k: f"s.{k}" for k in table.key},
                        "reports": "s.delta",
                        "signals_updated_at": "current_timestamp()",
                    }
                )
                .execute()
            )


def recount(contributions: DataFrame, params: CountParams) -> dict[tables.Table, DataFrame]:
    """Every count from scratch, from the contributions of all reports (the check that the
    incremental counts are right, and the way to rebuild them)."""
    keyed = _keyed(contributions, "", 1, params)
    return {t: _summed([keyed[t.name]], t, "reports") for t in st.COUNT_TABLES}
