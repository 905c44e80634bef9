"""The Poisson tail against a plain-Python reference, and the spike test on hand-made series:
warm-up, coverage, floors, and the watermark's statuses."""

from datetime import date, timedelta

import pytest
from pyspark.sql import functions as F

from jobs.signals import alerts, spikes

pytestmark = pytest.mark.spark
START = date(2024, 1, 1)


def test_poisson_tail_matches_reference(spark):
    cases = [
        (1, 0.5),
        (5, 0.2),
        (5, 0.5),
        (12, 3.0),
        (31, 10.0),
        (44, 22.0),
        (60, 40.0),
        (2300, 2222.0),
        (2700, 2222.0),
        (600, 133.0),
        (3, 2.9),
        (40, 1.0),
    ]
    df = spark.createDataFrame(cases, "x int, lam double")
    got = df.select("x", "lam", spikes.poisson_sf(F.col("x"), F.col("lam")).alias("p")).collect()
    for r in got:
        ref = spikes.poisson_sf_reference(r.x, r.lam)
        assert r.p == pytest.approx(ref, rel=1e-9, abs=1e-300), (r.x, r.lam)
    assert spikes.poisson_sf_reference(5, 0.2) == pytest.approx(
        1 - sum(__import__("math").exp(-0.2) * 0.2**k / __import__("math").factorial(k) for k in range(5)),
        rel=1e-6,
    )


def series(subject, values, alert_type="reporting_spike"):
    return [(alert_type, subject, START + timedelta(days=i), n) for i, n in enumerate(values) if n]


def test_spike_against_trailing_baseline(spark):
    total = [3, 5] + [100] * 40  # two sparse days before the stream really starts
    drug = [0, 0] + [10] * 30 + [40] + [10] * 9
    rare = [0, 0] + [0] * 30 + [10] + [0] * 9  # baseline 0 → floored at 0.5 (6 would not do: p ≈ 1e-5)
    rows = (
        series("all", total) + series("drug=X", drug) + series("drug=Y;country=US", rare, "overdose_cluster")
    )
    counts = spark.createDataFrame(rows, "alert_type string, subject string, window_start date, reports long")
    covered = spikes.covered_windows([(w, n) for _, s, w, n in rows if s == "all"], spikes.SpikeParams())
    assert min(covered) == START + timedelta(days=2)
    out = spikes.evaluate(spark, counts, covered, spikes.SpikeParams())
    alerts_ = {(r.subject, r.window_start): r for r in out.where("is_alert").collect()}
    day32 = START + timedelta(days=32)
    assert set(alerts_) == {("drug=X", day32), ("drug=Y;country=US", day32)}
    x = alerts_[("drug=X", day32)]
    assert x.baseline_mean == pytest.approx(10.0) and x.baseline_windows == 28
    assert x.p_value == pytest.approx(spikes.poisson_sf_reference(40, 10.0), rel=1e-9)
    y = alerts_[("drug=Y;country=US", day32)]
    assert y.baseline_mean == 0.5  # the floor
    # the first full days are not tested: fewer than 14 covered windows behind them
    first_days = out.where(F.col("window_start") < START + timedelta(days=16)).where("p_value IS NOT NULL")
    assert first_days.count() == 0


def test_watermark_statuses(spark):
    evaluated = spark.createDataFrame(
        [
            ("reporting_spike", "drug=X", date(2024, 2, 1), date(2024, 2, 2), 40, 10.0, 28, 4.0, 1e-9, True),
            ("reporting_spike", "drug=X", date(2024, 2, 9), date(2024, 2, 10), 40, 10.0, 28, 4.0, 1e-9, True),
            ("reporting_spike", "drug=Z", date(2024, 2, 3), date(2024, 2, 4), 12, 10.0, 28, 1.2, None, False),
        ],
        "alert_type string, subject string, window_start date, window_end date, observed_reports long, "
        "baseline_mean double, baseline_windows int, ratio double, p_value double, is_alert boolean",
    )
    existing = spark.createDataFrame(
        [("reporting_spike", "drug=Z", date(2024, 2, 3), date(2024, 2, 4))],
        "alert_type string, subject string, window_start date, first_detected_event_date date",
    )
    rows = alerts.spike_rows(evaluated, existing, date(2024, 2, 10), spikes.SpikeParams(lateness_days=3))
    status = {(r.subject, r.window_start.day): r.status for r in rows.collect()}
    # 2/1 first seen at frontier 2/10: its window had closed 3 days before → late;
    # 2/9 is still open to late data → provisional; Z alerted before and no longer does → withdrawn
    assert status == {("drug=X", 1): "late", ("drug=X", 9): "provisional", ("drug=Z", 3): "withdrawn"}


def test_a_subject_gives_back_the_drug_and_country_it_was_built_from(spark):
    """Drug names are free text from reports: `;` and `=` in one must not split it."""
    from jobs.signals.counts import subjects

    drugs = ["OXYCODONE", "ACETAMINOPHEN; CODEINE", "A=B;C", "COUNTRY", "LINE\nBREAK", "ENDS\n"]
    reports = spark.createDataFrame([(drugs, "US"), (drugs, None)],
                                    "drugs array<string>, country string")
    rows = (reports.select(F.explode(subjects(F.col("drugs"), F.col("country"), F.lit(True))).alias("s"),
                           "country")
            .select("s.subject", *spikes.subject_parts(F.col("s.subject"))).collect())
    parsed = {r[0]: (r[1], r[2]) for r in rows}
    for drug in drugs:
        assert parsed[f"drug={drug}"] == (drug, "")
        assert parsed[f"drug={drug};country=US"] == (drug, "US")
    assert parsed["country=US"] == ("", "US") and parsed["all"] == ("", "")
