"""The signal stage's micro-batch: silver report changes → counts → signals, spikes, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import reference, tables
from jobs.settings import Settings
from jobs.signals import alerts, counts, ebgm, spikes
from jobs.signals import tables as st


@dataclass(frozen=True)
class Params:
    counts: counts.CountParams = field(default_factory=counts.CountParams)
    signals: alerts.SignalParams = field(default_factory=alerts.SignalParams)
    spikes: spikes.SpikeParams = field(default_factory=spikes.SpikeParams)

    def __post_init__(self):
        if self.counts.window_days != self.spikes.window_days:
            raise ValueError("counts.window_days and spikes.window_days must agree")


def ensure_all(spark: SparkSession, settings: Settings) -> None:
    """Create the signal tables, or add the columns one made by an earlier version lacks (null
    in old rows: the next evaluation fills the statistics)."""
    for table in st.ALL:
        tables.ensure(spark, settings, table)


@dataclass
class SignalWriter:
    spark: SparkSession
    settings: Settings
    params: Params = field(default_factory=Params)
    app_id: str = "vigil-signals"

    def __post_init__(self):
        ensure_all(self.spark, self.settings)
        self.facts = reference.for_joins(reference.drug_facts(self.spark))
        self.labelled = alerts.labelled_pairs(self.spark).cache()

    def _read(self, spark, table) -> DataFrame:
        return tables.read(spark, self.settings, table)

    def update_batch(self, report_changes: DataFrame, batch_id: int) -> None:
        """`report_changes`: silver.adverse_event_report's change feed rows in this batch."""
        spark = report_changes.sparkSession
        run, _ = tables.batch_txn(report_changes, self.app_id, batch_id)
        ids = report_changes.select("safetyreportid").distinct().persist()
        try:
            if ids.isEmpty():
                return
            self.count_batch(spark, ids, batch_id, run)
        finally:
            ids.unpersist()
        self.evaluate(spark)

    def count_batch(self, spark: SparkSession, ids: DataFrame, batch_id: int, run: str | None = None) -> None:
        """Steps 1 and 2 of `jobs.signals.counts`: contributions, then the count deltas.
        `run` names the query run the batch belongs to (default: the writer's app id)."""
        run = run or self.app_id

        def changed(table):
            return self._read(spark, table).join(ids, "safetyreportid", "left_semi")

        current = counts.report_contributions(
            changed(tables.REPORT),
            changed(tables.DRUG),
            changed(tables.REACTION),
            self.facts,
            self.params.counts,
        )
        counts.merge_contributions(spark, self.settings, ids, current, batch_id, run)
        stamp = counts.batch_stamp(run, batch_id)
        stamped = self._read(spark, st.CONTRIBUTION).where(F.col("batch") == stamp).persist()
        try:
            counts.apply_deltas(
                spark, self.settings, counts.batch_deltas(stamped, self.params.counts), batch_id, run
            )
        finally:
            stamped.unpersist()

    def frontier(self, spark: SparkSession):
        """The event-time frontier: the latest event date of a counted report, leaving out
        future-dated reports (their receivedate is after their arrival: in a replay of old
        reports they would otherwise move the frontier to the replay's day)."""
        return (
            self._read(spark, st.CONTRIBUTION)
            .where("present AND NOT coalesce(future_dated, false)")
            .agg(F.max("event_date"))
            .first()[0]
        )

    def prior(self, spark: SparkSession, every_pair, frontier) -> ebgm.Prior | None:
        """Fit the MGPS prior to the current counts and record it; None with too few pairs."""
        p = self.params.signals
        points = alerts.prior_points(every_pair, self.labelled, p)
        fit = alerts.fit_prior(points, p, start=alerts.latest_prior(spark, self.settings, p))
        if fit is None:
            return None
        alerts.record_prior(spark, self.settings, fit, frontier, p)
        return fit.prior

    def evaluate(self, spark: SparkSession) -> None:
        """Recompute signals, spikes and alerts from the counts (idempotent: a re-run writes
        the same statistics and keeps the first-met times)."""
        frontier = self.frontier(spark)
        p = self.params
        # signals: every pair with at least min_count reports, and every pair already in the table
        pairs = self._read(spark, st.DRUG_REACTION_COUNTS)
        marginals = self._read(spark, st.MARGINAL_COUNTS)
        known = self._read(spark, st.SAFETY_SIGNAL).select("generic_name", "reactionmeddrapt")
        candidates = (
            pairs.where(F.col("reports") >= p.signals.min_count)
            .select("generic_name", "reactionmeddrapt")
            .unionByName(known)
            .distinct()
            .join(pairs, ["generic_name", "reactionmeddrapt"], "left")
        )
        prior = self.prior(spark, alerts.contingency(pairs, marginals), frontier)
        table = alerts.contingency(candidates, marginals).withColumn(
            "evaluated_event_date", F.lit(frontier).cast("date")
        )
        table = alerts.with_ebgm(spark, table.localCheckpoint(), prior)
        alerts.merge_signals(spark, self.settings, alerts.signal_rows(table, self.labelled, p.signals))

        # spikes
        window_counts = self._read(spark, st.WINDOW_COUNTS)
        totals = [
            (r.window_start, r.reports)
            for r in window_counts.where("alert_type = 'reporting_spike' AND subject = 'all'")
            .select("window_start", "reports")
            .collect()
        ]
        covered = spikes.covered_windows(totals, p.spikes)
        evaluated = spikes.evaluate(spark, window_counts, covered, p.spikes)
        rows = alerts.spike_rows(evaluated, self._read(spark, st.SPIKE_ALERT), frontier, p.spikes)
        alerts.merge_spikes(spark, self.settings, rows.localCheckpoint())

        alerts.merge_alerts(
            spark,
            self.settings,
            alerts.alert_rows(
                self._read(spark, st.SAFETY_SIGNAL), self._read(spark, st.SPIKE_ALERT), p.signals
            ).localCheckpoint(),
        )
