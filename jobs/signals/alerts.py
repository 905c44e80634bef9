"""From counts to alerts: gold.safety_signal (every pair with enough reports, its statistics,
its rules and when each rule was first met), gold.spike_alert (windows that spiked) and the one
table the dashboards and the serving load read, gold.alert.

"First met" is recorded twice: `first_*_at` is the processing time of the micro-batch that first
saw the rule met, `first_*_event_date` the event-time frontier (the latest event date counted)
at that batch — the one that detection delays are measured in. Once set, neither changes.

MGPS (jobs.signals.ebgm) at each evaluation: the pairs' (N, E) are squashed in Spark
(`prior_points`), collected to the driver (~10⁴ points) and the gamma-mixture prior is fitted
there (`fit_prior`: two or three components, by BIC; recorded in gold.signal_prior); the
evaluated pairs' (N, E) are collected, scored with scipy and joined back (`with_ebgm`). By
default the prior is fitted to the pairs that are *not* on the drug's label: those are the
pairs that can alert, and the labelled ones — known reactions reported far above expectation —
would give the prior a heavy upper tail that shrinks chance findings among unlabelled pairs
too little.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import reference, tables
from jobs.settings import Settings
from jobs.signals import disproportionality as dp
from jobs.signals import ebgm, spikes
from jobs.signals import tables as st

PRIOR_PAIRS = ("unlabelled", "all")


@dataclass(frozen=True)
class SignalParams:
    min_count: int = 3  # a: reports naming the pair, below which a pair is not evaluated
    prr_min: float = 2.0
    chi2_min: float = 4.0
    eb05_min: float = ebgm.EB05_SIGNAL
    rule: str = "ebgm"  # which rules make `is_signal`: see disproportionality.SIGNAL_RULES
    alert_on_labelled: bool = False  # alert on reactions already on the drug's label
    prior_pairs: str = "unlabelled"  # the pairs the MGPS prior is fitted to: unlabelled | all
    prior_components: tuple[int, ...] = (2, 3)  # gamma components tried; the lowest BIC is kept
    prior_min_pairs: int = 100  # with fewer pairs there is no prior (and no EB scores)
    prior_n_star: int = 1  # the fit conditions on N ≥ n_star
    prior_grid: float = 0.01  # squashing: cells this wide in ln E

    def __post_init__(self):
        dp.check_rule(self.rule)
        if not self.prior_components or not set(self.prior_components) <= set(ebgm.STARTS):
            raise ValueError(
                f"prior_components must be among {sorted(ebgm.STARTS)}, not {self.prior_components}"
            )
        if self.prior_pairs not in PRIOR_PAIRS:
            raise ValueError(
                f"prior_pairs must be one of {', '.join(PRIOR_PAIRS)}, not {self.prior_pairs!r}"
            )


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


# --- MGPS: the prior and the pairs' posterior scores


def prior_points(pairs: DataFrame, labelled: DataFrame, params: SignalParams) -> DataFrame:
    """The squashed (n, e, weight) points the prior is fitted to, from the contingency rows of
    every pair: `ebgm.squash` in Spark (same log-grid cells), so only ~10⁴ rows reach the driver."""
    rows = pairs
    if params.prior_pairs == "unlabelled":
        rows = rows.join(F.broadcast(labelled), ["generic_name", "reactionmeddrapt"], "left_anti")
    e = dp.expected(*(F.col(x) for x in "abcd"))
    return (
        rows.select(F.col("a").cast("double").alias("n"), e.alias("e"))
        .where((F.col("n") >= params.prior_n_star) & (F.col("e") > 0))
        .groupBy("n", F.floor(F.log("e") / params.prior_grid).alias("cell"))
        .agg(F.avg("e").alias("e"), F.count(F.lit(1)).cast("double").alias("weight"))
        .select("n", "e", "weight")
    )


def fit_prior(
    points: DataFrame, params: SignalParams, start: ebgm.Prior | None = None
) -> ebgm.PriorFit | None:
    """The prior fitted to the points; None when fewer than `prior_min_pairs` pairs."""
    rows = points.collect()
    if sum(r.weight for r in rows) < params.prior_min_pairs:
        return None
    return ebgm.fit_prior(
        [r.n for r in rows],
        [r.e for r in rows],
        weights=[r.weight for r in rows],
        n_star=params.prior_n_star,
        components=params.prior_components,
        start=start,
    )


def with_ebgm(spark: SparkSession, table: DataFrame, prior: ebgm.Prior | None) -> DataFrame:
    """`table` (generic_name, reactionmeddrapt, a, b, c, d, …) with ebgm, eb05, eb95: scored on the
    driver (scipy) and joined back; null without a prior."""
    schema = "generic_name STRING, reactionmeddrapt STRING, ebgm DOUBLE, eb05 DOUBLE, eb95 DOUBLE"
    if prior is None:
        return table.select("*", *[F.lit(None).cast("double").alias(c) for c in ("ebgm", "eb05", "eb95")])
    e = dp.expected(*(F.col(x) for x in "abcd"))
    rows = (
        table.select("generic_name", "reactionmeddrapt", "a", e.alias("e")).where("e IS NOT NULL").collect()
    )
    if rows:
        s = ebgm.scores(prior, [r.a for r in rows], [r.e for r in rows])
        data = [
            (r.generic_name, r.reactionmeddrapt, float(g), float(lo), float(hi))
            for r, g, lo, hi in zip(rows, s["ebgm"], s["eb05"], s["eb95"], strict=True)
        ]
    else:
        data = []
    scored = spark.createDataFrame(data, schema)
    return table.join(scored, ["generic_name", "reactionmeddrapt"], "left")


def record_prior(
    spark: SparkSession, settings: Settings, fit: ebgm.PriorFit, frontier, params: SignalParams
) -> None:
    """Append the fit to gold.signal_prior."""
    values = {
        "components": fit.prior.components,
        **fit.prior.as_dict(),
        "fit_pairs": params.prior_pairs,
        "pairs": fit.pairs,
        "points": fit.points,
        "n_star": fit.n_star,
        "neg_log_likelihood": fit.neg_log_likelihood,
        "bic": fit.bic,
        "bic_two_components": fit.alternatives.get(2, (None, None))[1],
        "bic_three_components": fit.alternatives.get(3, (None, None))[1],
        "converged": fit.converged,
        "message": fit.message[:500],
        "fit_seconds": fit.seconds,
    }
    types = st.SIGNAL_PRIOR.column_types
    row = spark.createDataFrame([(0,)], "_ INT").select(
        F.current_timestamp().alias("fitted_at"),
        F.lit(frontier).cast("date").alias("evaluated_event_date"),
        *[F.lit(values.get(c)).cast(types[c]).alias(c) for c in st.SIGNAL_PRIOR.columns[2:]],
    )
    tables.append(row, settings, st.SIGNAL_PRIOR)


def latest_prior(spark: SparkSession, settings: Settings, params: SignalParams) -> ebgm.Prior | None:
    """The last prior fitted to the same kind of pairs (a warm start for the next fit)."""
    last = (
        tables.read(spark, settings, st.SIGNAL_PRIOR)
        .where(F.col("fit_pairs") == params.prior_pairs)
        .orderBy(F.desc("fitted_at"))
        .first()
    )
    if last is None:
        return None
    k = range(1, last.components + 1)
    return ebgm.Prior(*(tuple(last[f"{name}{i}"] for i in k) for name in ("alpha", "beta", "p")))


# --- the signal rows


def signal_rows(table: DataFrame, labelled: DataFrame, params: SignalParams) -> DataFrame:
    """Statistics, flags and the processing/event time at which each flag holds (null when
    not), for a DataFrame of (generic_name, reactionmeddrapt, a, b, c, d, ebgm, eb05, eb95,
    evaluated_event_date) — `with_ebgm` adds the EB scores."""
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
    flags["ebgm_signal"] = dp.ebgm_criterion(F.col("a"), F.col("eb05"), params.min_count, params.eb05_min)
    flagged = with_stats.select("*", *[col.alias(name) for name, col in flags.items()])
    flagged = flagged.withColumn(
        "is_signal",
        dp.signal_rule(
            params.rule, F.col("evans"), F.col("ror_signal"), F.col("ic_signal"), F.col("ebgm_signal")
        ),
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
        ("ebgm_signal", "ebgm"),
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


# Each rule's criteria, in the order an alert names them: (flag, statistic, threshold).
def _criteria(params: SignalParams) -> dict[str, tuple[str, str, float]]:
    return {
        "ebgm": ("ebgm_signal", "eb05", params.eb05_min),
        "evans": ("evans", "prr", params.prr_min),
        "ror": ("ror_signal", "ror_lower95", 1.0),
        "ic": ("ic_signal", "ic025", 0.0),
    }


_RULE_CRITERIA = {
    "ebgm": ("ebgm",),
    "ebgm_and_all": ("ebgm",),  # named by its shrunk statistic; the others hold too
    "all": ("evans",),  # as before: PRR, the others hold too
    "any": ("ebgm", "evans", "ror", "ic"),  # the first that holds
    "evans": ("evans",),
    "ror": ("ror",),
    "ic": ("ic",),
}


def alert_statistic(params: SignalParams) -> tuple:
    """(statistic, value, threshold) Columns naming what raised a safety-signal alert."""
    criteria = _criteria(params)
    names = _RULE_CRITERIA[params.rule]
    name = value = threshold = None
    for key in reversed(names):  # built inside-out: the first criterion that holds wins
        flag, stat, limit = criteria[key]
        if name is None:
            name, value, threshold = F.lit(stat), F.col(stat), F.lit(limit)
        else:
            held = F.col(flag)
            name = F.when(held, F.lit(stat)).otherwise(name)
            value = F.when(held, F.col(stat)).otherwise(value)
            threshold = F.when(held, F.lit(limit)).otherwise(threshold)
    return name, value, threshold.cast("double")


def alert_rows(signals: DataFrame, spike_alerts: DataFrame, params: SignalParams) -> DataFrame:
    """gold.alert: new safety signals (unlabelled, unless `alert_on_labelled`) and spikes."""
    wanted = F.col("is_signal") & (F.lit(params.alert_on_labelled) | ~F.col("labelled"))
    statistic, value, threshold = alert_statistic(params)
    sig = signals.where(wanted).select(
        F.lit("safety_signal").alias("alert_type"),
        signal_subject(F.col("generic_name"), F.col("reactionmeddrapt")).alias("subject"),
        F.col("first_signal_event_date").alias("window_start"),
        F.col("evaluated_event_date").alias("window_end"),
        statistic.alias("statistic"),
        value.alias("statistic_value"),
        threshold.alias("threshold"),
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
