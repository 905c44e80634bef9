"""PRR, χ², ROR and its CI, IC and IC025 against hand-computed 2×2 tables (zero cells
included), and against an independent plain-Python computation on generated tables."""

import math
import random

import pytest
from pyspark.sql import functions as F

from jobs.signals import disproportionality as dp
from tests.signals.reference import stats as reference_stats

pytestmark = pytest.mark.spark
STAT_COLUMNS = (
    "expected_reports",
    "prr",
    "prr_chi2",
    "ror",
    "ror_lower95",
    "ror_upper95",
    "ic",
    "ic025",
    "ic975",
)


def compute(spark, tables):
    df = spark.createDataFrame(tables, "a long, b long, c long, d long")
    a, b, c, d = (F.col(x) for x in "abcd")
    s = dp.statistics(a, b, c, d)
    return [
        r.asDict()
        for r in df.select("a", "b", "c", "d", *[v.alias(k) for k, v in s.items()])
        .orderBy("a", "b", "c", "d")
        .collect()
    ]


def test_hand_computed_table(spark):
    # a=20, b=80, c=100, d=9800: N=10000
    (r,) = compute(spark, [(20, 80, 100, 9800)])
    assert r["prr"] == pytest.approx((20 / 100) / (100 / 9900), rel=1e-12)  # 19.8
    assert r["prr"] == pytest.approx(19.8, rel=1e-12)
    # χ² Yates: N(|ad−bc| − N/2)² / (100·9900·120·9880) = 10000·(196000−8000−5000)²/…
    assert r["prr_chi2"] == pytest.approx(
        10000 * (196000 - 8000 - 5000) ** 2 / (100 * 9900 * 120 * 9880), rel=1e-12
    )
    assert r["ror"] == pytest.approx(20 * 9800 / (80 * 100), rel=1e-12)  # 24.5
    se = math.sqrt(1 / 20 + 1 / 80 + 1 / 100 + 1 / 9800)
    assert r["ror_lower95"] == pytest.approx(24.5 * math.exp(-1.959963984540054 * se), rel=1e-12)
    assert r["ror_upper95"] == pytest.approx(24.5 * math.exp(1.959963984540054 * se), rel=1e-12)
    assert r["expected_reports"] == pytest.approx(1.2, rel=1e-12)  # 100·120/10000
    assert r["ic"] == pytest.approx(math.log2(20.5 / 1.7), rel=1e-12)
    assert r["ic025"] == pytest.approx(
        math.log2(20.5 / 1.7) - 1.959963984540054 / (math.log(2) * math.sqrt(20.5)), rel=1e-12
    )
    assert r["zero_cell_corrected"] is False


def test_no_association_gives_neutral_values(spark):
    (r,) = compute(spark, [(10, 90, 100, 900)])  # R in 10% of reports with and without D
    assert r["prr"] == pytest.approx(1.0) and r["ror"] == pytest.approx(1.0)
    assert r["expected_reports"] == pytest.approx(10.0)
    assert r["ic"] == pytest.approx(0.0)
    assert r["prr_chi2"] == pytest.approx(0.0)  # |ad − bc| = 0 < N/2: Yates clamps at 0


@pytest.mark.parametrize(
    "cells, note",
    [
        ((5, 0, 10, 985), "b=0"),  # every report of D has R
        ((5, 20, 0, 975), "c=0"),  # R only ever reported with D
        ((0, 50, 10, 940), "a=0"),
        ((3, 0, 0, 0), "b=0, c=0, d=0"),  # one drug, one reaction, every report
    ],
)
def test_zero_cells_are_corrected_and_finite(spark, cells, note):
    (r,) = compute(spark, [cells])
    a, b, c, d = (x + 0.5 for x in cells)
    assert r["zero_cell_corrected"] is True
    assert r["prr"] == pytest.approx((a / (a + b)) / (c / (c + d)), rel=1e-12)
    assert r["ror"] == pytest.approx(a * d / (b * c), rel=1e-12)
    for name in ("prr", "ror", "ror_lower95", "ror_upper95", "ic", "ic025", "ic975"):
        assert math.isfinite(r[name]), name
    chi2 = r["prr_chi2"]
    assert chi2 is None or math.isfinite(chi2)


def test_note_says_why(spark):
    df = spark.createDataFrame(
        [(5, 0, 10, 985), (3, 0, 0, 0), (20, 80, 100, 9800)], "a long, b long, c long, d long"
    )
    notes = {
        tuple(r[:4]): r.note
        for r in df.select("a", "b", "c", "d", dp.note(*(F.col(x) for x in "abcd")).alias("note")).collect()
    }
    assert notes[(5, 0, 10, 985)] == "PRR/ROR with +0.5 in every cell (b=0)"
    assert notes[(3, 0, 0, 0)] == (
        "PRR/ROR with +0.5 in every cell (b=0, c=0, d=0); chi2 undefined: a margin of the table is 0"
    )
    assert notes[(20, 80, 100, 9800)] == ""


def test_chi2_is_null_when_a_margin_is_zero(spark):
    (r,) = compute(spark, [(3, 0, 0, 0)])
    assert r["prr_chi2"] is None


def test_criteria_flags(spark):
    rows = [
        (3, 2.0, 4.0, 1.01, 0.01),
        (2, 9.0, 9.0, 5.0, 1.0),
        (3, 1.99, 9.0, 0.99, -0.1),
        (4, 3.0, None, 2.0, 0.5),
    ]
    df = spark.createDataFrame(rows, "a long, prr double, chi2 double, ror_lower double, ic025 double")
    flags = dp.criteria(F.col("a"), F.col("prr"), F.col("chi2"), F.col("ror_lower"), F.col("ic025"))
    got = [tuple(r) for r in df.orderBy("a", "prr").select(*[v.alias(k) for k, v in flags.items()]).collect()]
    assert got == [
        (False, False, False),  # a=2: below every rule's count floor (min_count 3)
        (False, False, False),  # PRR < 2, ROR lower ≤ 1, IC025 ≤ 0
        (True, True, True),  # exactly at every threshold
        (False, True, True),  # χ² null: Evans false, never null
    ]
    low = dp.criteria(
        F.col("a"), F.col("prr"), F.col("chi2"), F.col("ror_lower"), F.col("ic025"), min_count=2
    )
    first = df.orderBy("a").select(*[v.alias(k) for k, v in low.items()]).first()
    assert tuple(first) == (False, False, True)  # IC's floor follows min_count; Evans/ROR keep 3


def test_agrees_with_plain_python_reference_on_generated_tables(spark):
    rng = random.Random(5)
    tables = set()
    while len(tables) < 400:
        n = rng.choice([50, 1000, 200_000])
        a = rng.choice([0, 1, 2, 3, rng.randint(0, 60)])
        b = rng.choice([0, rng.randint(0, n // 10)])
        c = rng.choice([0, rng.randint(0, n // 10)])
        d = rng.choice([0, max(0, n - a - b - c)])
        tables.add((a, b, c, d))
    tables.discard((0, 0, 0, 0))
    got = compute(spark, sorted(tables))
    for row in got:
        ref = reference_stats(row["a"], row["b"], row["c"], row["d"])
        assert row["zero_cell_corrected"] == ref["zero_cell_corrected"]
        for name in STAT_COLUMNS:
            if ref[name] is None:
                assert row[name] is None, (row, name)
            else:
                assert math.isfinite(row[name])
                assert row[name] == pytest.approx(ref[name], rel=1e-9, abs=1e-9), (row, name)
