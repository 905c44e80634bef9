"""MGPS in the signal stage: the Spark squashing equals the numpy one, EB scores and the
EB05 ≥ 2 flag in gold.safety_signal's rows, the alert names what raised it, the prior is
recorded, tables made before these columns get them, and the event-time frontier ignores
future-dated reports."""

from datetime import date

import numpy as np
import pytest
from pyspark.sql import functions as F

from jobs import pipeline, silver, tables
from jobs.signals import alerts, ebgm, writer
from jobs.signals import tables as st
from jobs.tables import Table
from tests.pipeline.conftest import report, write_bronze

pytestmark = pytest.mark.spark
PRIOR = ebgm.Prior.mgps(1.39, 0.75, 8.42, 13.35, 0.002)
LABELLED = ("ABIRATERONE ACETATE", "Hot flush")  # on the drug's label in the reference data
COLUMNS = "generic_name STRING, reactionmeddrapt STRING, a BIGINT, b BIGINT, c BIGINT, d BIGINT"


def pairs_frame(spark, rows):
    return spark.createDataFrame(rows, COLUMNS)


def generated_pairs(count: int, seed: int):
    rng = np.random.default_rng(seed)
    rows = [(*LABELLED, 40, 960, 60, 98_940)]
    for i in range(count):
        a = int(rng.integers(1, 30))
        b, c = int(rng.integers(50, 3000)), int(rng.integers(50, 3000))
        rows.append((f"DRUG{i % 40}", f"Term {i}", a, b, c, 100_000 - a - b - c))
    return rows


def test_prior_points_are_the_numpy_squash_of_the_unlabelled_pairs(spark):
    rows = generated_pairs(3000, seed=3)
    labelled = alerts.labelled_pairs(spark)
    params = alerts.SignalParams()
    got = sorted(tuple(r) for r in alerts.prior_points(pairs_frame(spark, rows), labelled, params).collect())
    unlabelled = [r for r in rows if (r[0], r[1]) != LABELLED]
    n = np.array([r[2] for r in unlabelled], dtype=float)
    e = np.array([(r[2] + r[3]) * (r[2] + r[4]) / sum(r[2:]) for r in unlabelled])
    want = sorted(zip(*ebgm.squash(n, e, params.prior_grid), strict=True))
    assert len(got) == len(want) < len(rows)
    for g, w in zip(got, want, strict=True):
        assert g[0] == w[0] and g[2] == w[2]
        assert g[1] == pytest.approx(w[1], rel=1e-12)
    every = alerts.SignalParams(prior_pairs="all")
    everything = alerts.prior_points(pairs_frame(spark, rows), labelled, every)
    assert everything.agg(F.sum("weight")).first()[0] == len(rows)


def signal_table(spark, prior, rule="ebgm"):
    rows = [
        ("X", "Strong", 30, 970, 70, 98_930),  # E = 1: every rule holds
        ("X", "Chance", 4, 996, 496, 98_504),  # E = 5: none does
        ("X", "Small", 4, 296, 96, 99_604),  # E = 0.3: PRR, ROR and IC hold, EB05 = 0.55
        ("Y", "Common", 150, 850, 8000, 91_000),  # PRR 1.86: ROR and IC hold; EB05 = 1.48
    ]
    table = alerts.with_ebgm(spark, pairs_frame(spark, rows), prior).withColumn(
        "evaluated_event_date", F.lit(date(2024, 3, 1))
    )
    out = alerts.signal_rows(table, alerts.labelled_pairs(spark), alerts.SignalParams(rule=rule))
    return {r.reactionmeddrapt: r for r in out.collect()}, rows


def test_signal_rows_carry_the_eb_scores_and_the_eb05_rule(spark):
    got, rows = signal_table(spark, PRIOR)
    for _, name, a, b, c, d in rows:
        r = got[name]
        e = (a + b) * (a + c) / (a + b + c + d)
        scored = ebgm.scores(PRIOR, [a], [e])
        want = {k: float(scored[k][0]) for k in ("ebgm", "eb05", "eb95")}
        for stat in ("ebgm", "eb05", "eb95"):
            assert getattr(r, stat) == pytest.approx(want[stat], rel=1e-12), (name, stat)
        assert r.ebgm_signal == (want["eb05"] >= 2.0)
        assert r.is_signal == r.ebgm_signal  # the default rule
        assert (r.first_ebgm_event_date == date(2024, 3, 1)) == r.ebgm_signal
        assert (r.first_ebgm_at is not None) == r.ebgm_signal
    assert got["Strong"].ebgm_signal and not got["Chance"].ebgm_signal
    small = got["Small"]  # shrinkage at work: 4 reports where 0.3 were expected
    assert small.evans and small.ror_signal and small.ic_signal and not small.ebgm_signal
    assert not got["Common"].evans and got["Common"].ror_signal and not got["Common"].ebgm_signal
    # without a prior (too few pairs) there are no scores and the rule never holds
    bare, _ = signal_table(spark, None)
    assert all(r.ebgm is None and r.eb05 is None and r.ebgm_signal is False for r in bare.values())


def spike_frame(spark):
    return spark.createDataFrame([], st.SPIKE_ALERT.schema)


@pytest.mark.parametrize(
    "rule, want",
    [
        ("ebgm", {"Strong": ("eb05", 2.0)}),
        ("ebgm_and_all", {"Strong": ("eb05", 2.0)}),
        ("all", {"Strong": ("prr", 2.0), "Small": ("prr", 2.0)}),
        # the first criterion that holds, in the order EB05, PRR (Evans), ROR, IC
        ("any", {"Strong": ("eb05", 2.0), "Small": ("prr", 2.0), "Common": ("ror_lower95", 1.0)}),
        ("ic", {"Strong": ("ic025", 0.0), "Small": ("ic025", 0.0), "Common": ("ic025", 0.0)}),
    ],
)
def test_the_alert_names_what_raised_it(spark, rule, want):
    rows, _ = signal_table(spark, PRIOR, rule)
    signals_df = spark.createDataFrame(list(rows.values()), st.SAFETY_SIGNAL.schema)
    got = {
        r.subject.split("reaction=")[1]: r
        for r in alerts.alert_rows(signals_df, spike_frame(spark), alerts.SignalParams(rule=rule)).collect()
    }
    assert {k: (r.statistic, r.threshold) for k, r in got.items()} == want
    for name, r in got.items():
        assert r.statistic_value == getattr(rows[name], r.statistic)


def test_unknown_rule_and_prior_pairs_are_refused():
    with pytest.raises(ValueError, match="unknown signal rule 'eb'"):
        alerts.SignalParams(rule="eb")
    with pytest.raises(ValueError, match="prior_pairs"):
        alerts.SignalParams(prior_pairs="labelled")


def test_a_table_made_before_the_eb_columns_gets_them(spark, fresh_settings):
    s = fresh_settings
    new = ("ebgm", "eb05", "eb95", "ebgm_signal", "first_ebgm_at", "first_ebgm_event_date")
    old_columns = [f"{c} {t}" for c, t in st.SAFETY_SIGNAL.column_types.items() if c not in new]
    tables.ensure(spark, s, Table(st.SAFETY_SIGNAL.name, ", ".join(old_columns), key=st.SAFETY_SIGNAL.key))
    assert "eb05" not in tables.read(spark, s, st.SAFETY_SIGNAL).columns
    writer.ensure_all(spark, s)
    assert set(tables.read(spark, s, st.SAFETY_SIGNAL).columns) == set(st.SAFETY_SIGNAL.columns)


def test_frontier_ignores_future_dated_reports_and_the_prior_is_recorded(spark, fresh_settings):
    from jobs import signals

    s = fresh_settings
    drugs = ("Tylenol", "Aspirin", "Warfarin", "Metformin")
    terms = ("Nausea", "Rash", "Headache", "Dizziness", "Fatigue")
    events = [
        report(
            safetyreportid=str(30000000 + i),
            receivedate=f"202401{1 + i % 20:02d}",
            patient_drug=[{"medicinalproduct": drugs[i % 4], "drugcharacterization": "1"}],
            patient_reaction=[{"reactionmeddrapt": terms[i % 5]}, {"reactionmeddrapt": terms[(i * 3) % 5]}],
        )
        for i in range(40)
    ]
    # a data fault: a receivedate 30 years ahead (the bronze rows arrive today)
    events.append(report(safetyreportid="30000099", receivedate="20540105"))
    write_bronze(spark, s, events)
    pipeline.await_run(silver.start(spark, s, {"availableNow": True}))
    signals.run_available_now(spark, s)

    w = writer.SignalWriter(spark, s)
    assert w.frontier(spark) == date(2024, 1, 20)  # not today, where the fault is counted
    contrib = {r.safetyreportid: r for r in tables.read(spark, s, st.CONTRIBUTION).collect()}
    assert contrib["30000099"].future_dated and contrib["30000099"].event_date == date.today()
    assert not any(r.future_dated for k, r in contrib.items() if k != "30000099")
    signal_dates = {r.evaluated_event_date for r in tables.read(spark, s, st.SAFETY_SIGNAL).collect()}
    assert signal_dates == {date(2024, 1, 20)}
    # 20 pairs are too few for a prior by default: no scores, nothing recorded
    assert tables.read(spark, s, st.SIGNAL_PRIOR).count() == 0

    few = writer.Params(signals=alerts.SignalParams(prior_min_pairs=5))
    writer.SignalWriter(spark, s, few).evaluate(spark)
    (prior,) = tables.read(spark, s, st.SIGNAL_PRIOR).collect()
    assert prior.fit_pairs == "unlabelled" and prior.n_star == 1 and prior.pairs >= 5
    assert prior.evaluated_event_date == date(2024, 1, 20)
    assert prior.components in (2, 3)
    assert prior.bic == min(prior.bic_two_components, prior.bic_three_components)
    k = range(1, prior.components + 1)
    assert all(prior[f"alpha{i}"] > 0 and prior[f"beta{i}"] > 0 for i in k)
    assert sum(prior[f"p{i}"] for i in k) == pytest.approx(1.0)
    # the next fit starts from it
    last = alerts.latest_prior(spark, s, few.signals)
    assert last.components == prior.components and last.alphas[0] == prior.alpha1
    rows = tables.read(spark, s, st.SAFETY_SIGNAL).collect()
    assert rows and all(r.eb05 is not None and r.eb05 <= r.ebgm <= r.eb95 for r in rows)
