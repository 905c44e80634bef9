"""Spike detection: reports per event-time window against a trailing baseline, Poisson test.

For a series (alert_type, subject) and window w, the baseline mean λ is the average count of
the `baseline_windows` windows before w (skipping `guard_windows` right before it), taken over
*covered* windows only, floored at `min_baseline`. The window is an alert when

    observed ≥ min_count,  observed ≥ min_ratio · λ,  and  P(X ≥ observed | X ~ Poisson(λ)) < α.

α is the false-alarm rate per tested window (default 1e-7: at ~10⁵ tested windows of a 90-day,
200k-report run, about 0.01 false alarms expected if counts were Poisson).

Covered windows: a window is covered when its total report count is at least
`coverage_share` × the 90th percentile of the total per window. Windows before the stream
really started (only a few late reports carry such early dates) are not covered, so they
neither make a baseline nor let one look empty; a window needs `min_baseline_windows` covered
windows behind it to be tested at all (the warm-up).

Late data and the watermark: the event-time frontier is the latest event date counted; the
watermark is the frontier − `lateness_days`. A window whose end is behind the watermark is
`final`. Late reports are never dropped: they still change the counts and can still raise an
alert on an old window, which is then marked `late` (raised after its window was final).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class SpikeParams:
    window_days: int = 1
    baseline_windows: int = 28
    guard_windows: int = 0
    min_baseline_windows: int = 14
    min_baseline: float = 0.5  # reports per window: the floor of λ for rare series
    min_count: int = 5
    min_ratio: float = 1.5
    alpha: float = 1e-7
    coverage_share: float = 0.5
    lateness_days: int = 3


# --- the Poisson upper tail as a Column


def ln_factorial(n: Column) -> Column:
    """ln n! — exact sum of logs up to 30, Stirling's series (error < 1e-13) beyond."""
    nd = n.cast("double")
    exact = F.aggregate(
        F.sequence(F.lit(1), F.greatest(n.cast("int"), F.lit(1))),
        F.lit(0.0),
        lambda acc, k: acc + F.log(k.cast("double")),
    )
    stirling = (
        nd * F.log(nd)
        - nd
        + 0.5 * F.log(2 * math.pi * nd)
        + 1 / (12 * nd)
        - 1 / (360 * nd * nd * nd)
        + 1 / (1260 * F.pow(nd, 5))
    )
    return F.when(n <= 1, F.lit(0.0)).when(n <= 30, exact).otherwise(stirling)


def poisson_sf(x: Column, lam: Column) -> Column:
    """P(X ≥ x) for X ~ Poisson(λ), summing the tail from x. Meant for x > λ (an upper-tail
    test): the sum runs 40 + 12·√λ terms past x, where the neglected rest is far below 1e-15
    relative. 1 for x ≤ 0; 0 when the tail underflows a double."""
    lam_d = lam.cast("double")
    log_first = -lam_d + x.cast("double") * F.log(lam_d) - ln_factorial(x)
    steps = (F.lit(40) + F.ceil(F.lit(12.0) * F.sqrt(lam_d))).cast("int")
    tail = F.aggregate(
        F.sequence(F.lit(1), steps),
        F.struct(F.lit(1.0).alias("term"), F.lit(1.0).alias("total")),
        lambda acc, i: F.struct(
            (acc["term"] * lam_d / (x.cast("double") + i)).alias("term"),
            (acc["total"] + acc["term"] * lam_d / (x.cast("double") + i)).alias("total"),
        ),
        lambda acc: acc["total"],
    )
    return F.when(x <= 0, F.lit(1.0)).otherwise(F.least(F.lit(1.0), F.exp(log_first) * tail))


# --- coverage, baseline and the test


def covered_windows(totals: list[tuple[date, int]], params: SpikeParams) -> list[date]:
    """Windows whose total count shows the stream was really observing them."""
    counts = sorted(n for _, n in totals if n > 0)
    if not counts:
        return []
    p90 = counts[min(len(counts) - 1, int(0.9 * len(counts)))]
    return [w for w, n in totals if n >= params.coverage_share * p90]


def _index(day: Column, window_days: int) -> Column:
    return F.floor(F.datediff(day, F.lit(EPOCH.isoformat()).cast("date")) / window_days).cast("long")


def evaluate(spark: SparkSession, counts: DataFrame, covered: list[date], params: SpikeParams) -> DataFrame:
    """Every window of every series with its baseline and test: observed_reports, baseline_mean,
    baseline_windows, ratio, p_value (only where observed > λ and ≥ min_count), is_alert."""
    idx = _index(F.col("window_start"), params.window_days)
    cov = spark.createDataFrame([(w,) for w in covered], "window_start DATE").withColumn(
        "covered", F.lit(True)
    )
    # covered windows behind each window: computed over a dense calendar of windows
    if covered:
        first, last = (
            min(covered),
            max(covered)
            + timedelta(days=(params.baseline_windows + params.guard_windows + 1) * params.window_days),
        )
    else:
        first = last = EPOCH
    calendar = (
        spark.range(0, (last - first).days // params.window_days + 1)
        .select(
            F.date_add(
                F.lit(first.isoformat()).cast("date"), (F.col("id") * params.window_days).cast("int")
            ).alias("window_start")
        )
        .join(cov, "window_start", "left")
        .withColumn("idx", _index(F.col("window_start"), params.window_days))
    )
    lo, hi = -(params.guard_windows + params.baseline_windows), -(params.guard_windows + 1)
    by_index = Window.orderBy("idx").rangeBetween(lo, hi)
    calendar = calendar.select(
        "window_start",
        F.coalesce("covered", F.lit(False)).alias("covered"),
        F.count(F.when(F.col("covered"), 1)).over(by_index).alias("baseline_windows"),
    )
    rows = (
        counts.withColumn("idx", idx)
        .join(F.broadcast(calendar), "window_start", "left")
        .withColumn("covered", F.coalesce("covered", F.lit(False)))
        .withColumn("baseline_windows", F.coalesce("baseline_windows", F.lit(0)).cast("int"))
    )
    series = Window.partitionBy("alert_type", "subject").orderBy("idx").rangeBetween(lo, hi)
    baseline_sum = F.sum(F.when(F.col("covered"), F.col("reports")).otherwise(0)).over(series)
    rows = rows.withColumn("baseline_sum", F.coalesce(baseline_sum, F.lit(0)))
    lam = F.greatest(
        F.col("baseline_sum") / F.greatest(F.col("baseline_windows"), F.lit(1)), F.lit(params.min_baseline)
    )
    rows = rows.withColumn("baseline_mean", lam).withColumn("observed_reports", F.col("reports"))
    testable = (
        (F.col("baseline_windows") >= params.min_baseline_windows)
        & (F.col("observed_reports") >= params.min_count)
        & (F.col("observed_reports") > F.col("baseline_mean"))
    )
    p = F.when(testable, poisson_sf(F.col("observed_reports"), F.col("baseline_mean")))
    ratio = F.col("observed_reports") / F.col("baseline_mean")
    return rows.select(
        "alert_type",
        "subject",
        "window_start",
        F.date_add("window_start", params.window_days).alias("window_end"),
        "observed_reports",
        "baseline_mean",
        "baseline_windows",
        ratio.alias("ratio"),
        p.alias("p_value"),
        F.coalesce(testable & (ratio >= params.min_ratio) & (p < params.alpha), F.lit(False)).alias(
            "is_alert"
        ),
    )


def subject_parts(subject: Column) -> tuple[Column, Column]:
    """(generic_name, occurcountry) named in a subject such as `drug=X;country=Y` ("" where
    it names none). A drug name may hold `;` (free text from reports): the drug is all up to
    the last `;country=`, which is the one `counts.subjects` put after it."""
    return (
        # (?s) and \z: a name may hold a line break too, which `.` and `$` stop at otherwise
        F.regexp_extract(subject, r"(?s)^drug=(.*?)(?:;country=[^;]*)?\z", 1),
        F.regexp_extract(subject, r"(?:^|;)country=([^;]*)\z", 1),
    )


# --- a plain-Python reference of the test (for the tests and the scorer)


def poisson_sf_reference(x: int, lam: float) -> float:
    if x <= 0:
        return 1.0
    term = math.exp(-lam + x * math.log(lam) - math.lgamma(x + 1))
    total, k = 0.0, x
    while True:
        total += term
        k += 1
        term *= lam / k
        if term < 1e-18 * total or k > x + 100000:
            return min(1.0, total)
