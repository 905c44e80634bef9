"""Incremental counts: after several micro-batches (follow-ups that move reactions, drugs and
countries; duplicates; stale versions) the count tables equal a full recount; a re-run of a
batch changes nothing; hand-checked values for the 2×2 margins."""

from datetime import date

import pytest

from jobs import pipeline, reference, silver, tables
from jobs.signals import counts, writer
from jobs.signals import tables as st
from tests.pipeline.conftest import report, write_bronze

pytestmark = pytest.mark.spark
AVAILABLE_NOW = {"availableNow": True}


def drug(name, role="1"):
    return {"medicinalproduct": name, "drugcharacterization": role}


def rx(*terms):
    return [{"reactionmeddrapt": t} for t in terms]


def stored(spark, settings, table):
    rows = tables.delta_table(spark, settings, table).toDF().select(*table.key, "reports").collect()
    return {tuple(r[:-1]): r[-1] for r in rows}


def recounted(spark, settings, w):
    def t(table):
        return tables.delta_table(spark, settings, table).toDF()

    contrib = counts.report_contributions(
        t(tables.REPORT), t(tables.DRUG), t(tables.REACTION), w.facts, w.params.counts
    )
    return {
        table.name: {tuple(r[:-1]): r[-1] for r in rows.select(*table.key, "reports").collect()}
        for table, rows in counts.recount(contrib, w.params.counts).items()
    }


def run_signals(spark, settings):
    from jobs import signals

    return signals.run_available_now(spark, settings)


def assert_equal_to_recount(spark, s, w):
    again = recounted(spark, s, w)
    for table in st.COUNT_TABLES:
        assert stored(spark, s, table) == again[table.name], table.name


def test_incremental_counts_equal_a_full_recount_and_follow_ups_move_counts(spark, fresh_settings):
    s = fresh_settings
    w = writer.SignalWriter(spark, s)
    batches = [
        [
            report(
                safetyreportid="10000001",
                patient_drug=[drug("Tylenol")],
                patient_reaction=rx("Nausea", "Rash"),
            ),
            report(
                safetyreportid="10000002",
                patient_drug=[drug("Aspirin"), drug("Warfarin", "2")],
                patient_reaction=rx("Headache"),
            ),
            report(
                safetyreportid="10000003",
                occurcountry="GB",
                patient_drug=[drug("Tylenol")],
                patient_reaction=rx("Nausea"),
            ),
        ],
        # follow-up of 1 moves Nausea+Rash → Headache; 2 re-sent unchanged; 4 is new
        [
            report(
                safetyreportid="10000001",
                safetyreportversion="2",
                patient_drug=[drug("Tylenol")],
                patient_reaction=rx("Headache"),
            ),
            report(
                safetyreportid="10000002",
                patient_drug=[drug("Aspirin"), drug("Warfarin", "2")],
                patient_reaction=rx("Headache"),
            ),
            report(
                safetyreportid="10000004",
                patient_drug=[drug("Aspirin", "3"), drug("Tylenol")],
                patient_reaction=rx("Nausea", "Overdose"),
            ),
        ],
        # 3 changes its drug and date; 4 moves to JP; a stale version 1 of report 1 changes nothing
        [
            report(
                safetyreportid="10000003",
                safetyreportversion="2",
                occurcountry="GB",
                receivedate="20240107",
                patient_drug=[drug("Aspirin")],
                patient_reaction=rx("Nausea"),
            ),
            report(
                safetyreportid="10000004",
                safetyreportversion="2",
                occurcountry="JP",
                patient_drug=[drug("Aspirin", "3"), drug("Tylenol")],
                patient_reaction=rx("Nausea", "Overdose"),
            ),
            report(
                safetyreportid="10000001",
                patient_drug=[drug("Tylenol")],
                patient_reaction=rx("Nausea", "Rash"),
            ),
        ],
    ]
    offset = 0
    for events in batches:
        write_bronze(spark, s, events, start_offset=offset)
        offset += len(events)
        pipeline.await_run(silver.start(spark, s, AVAILABLE_NOW))
        run_signals(spark, s)
        assert_equal_to_recount(spark, s, w)

    pairs = stored(spark, s, st.DRUG_REACTION_COUNTS)
    assert pairs == {
        ("ACETAMINOPHEN", "Headache"): 1,  # report 1 v2
        ("ACETAMINOPHEN", "Nausea"): 1,  # report 4 (report 1's Nausea moved away, 3 changed drug)
        ("ACETAMINOPHEN", "Overdose"): 1,
        ("ASPIRIN", "Headache"): 1,  # report 2 (Warfarin is concomitant: not counted)
        ("ASPIRIN", "Nausea"): 2,  # reports 3 v2 and 4 (interacting counts as suspect)
        ("ASPIRIN", "Overdose"): 1,
    }
    marginals = stored(spark, s, st.MARGINAL_COUNTS)
    assert marginals[("total", "*")] == 4
    assert marginals[("drug", "ACETAMINOPHEN")] == 2 and marginals[("drug", "ASPIRIN")] == 3
    assert ("reaction", "Rash") not in marginals  # its only report moved away: the row is gone
    assert ("drug", "WARFARIN") not in marginals
    windows = stored(spark, s, st.WINDOW_COUNTS)
    assert windows[("reporting_spike", "all", date(2024, 1, 5))] == 3
    assert windows[("reporting_spike", "all", date(2024, 1, 7))] == 1
    assert windows[("reporting_spike", "country=JP", date(2024, 1, 5))] == 1
    assert ("reporting_spike", "drug=ACETAMINOPHEN;country=GB", date(2024, 1, 5)) not in windows
    assert windows[("overdose_cluster", "drug=ASPIRIN;country=JP", date(2024, 1, 5))] == 1

    # with concomitant drugs the same silver gives Warfarin its pair
    wide = counts.CountParams(include_concomitant=True)
    t = {x: tables.delta_table(spark, s, x).toDF() for x in (tables.REPORT, tables.DRUG, tables.REACTION)}
    contrib = counts.report_contributions(
        t[tables.REPORT], t[tables.DRUG], t[tables.REACTION], reference.drug_facts(spark), wide
    )
    wide_pairs = counts.recount(contrib, wide)[st.DRUG_REACTION_COUNTS]
    assert wide_pairs.where("generic_name = 'WARFARIN' AND reactionmeddrapt = 'Headache'").count() == 1


def _two_reports_in_silver(spark, s):
    """Reports 10000007 (Nausea, Rash) and 10000008 (Rash) in silver: the signal writer and the
    two ids, as a batch of silver changes would name them."""
    write_bronze(
        spark,
        s,
        [
            report(safetyreportid="10000007", patient_reaction=rx("Nausea", "Rash")),
            report(safetyreportid="10000008", patient_reaction=rx("Rash")),
        ],
    )
    pipeline.await_run(silver.start(spark, s, AVAILABLE_NOW))
    ids = spark.createDataFrame([("10000007",), ("10000008",)], "safetyreportid STRING")
    return writer.SignalWriter(spark, s), ids


def _follow_up_of_seven_in_silver(spark, s):
    """Version 2 of 10000007 (Headache only) in silver; its id."""
    write_bronze(
        spark,
        s,
        [report(safetyreportid="10000007", safetyreportversion="2", patient_reaction=rx("Headache"))],
        start_offset=2,
    )
    pipeline.await_run(silver.start(spark, s, AVAILABLE_NOW))
    return spark.createDataFrame([("10000007",)], "safetyreportid STRING")


def _assert_counts_after_the_follow_up(spark, s):
    assert stored(spark, s, st.DRUG_REACTION_COUNTS) == {
        ("ACETAMINOPHEN", "Headache"): 1,
        ("ACETAMINOPHEN", "Rash"): 1,
    }
    assert stored(spark, s, st.MARGINAL_COUNTS)[("total", "*")] == 2


def test_a_batch_rerun_after_a_crash_changes_nothing(spark, fresh_settings):
    s = fresh_settings
    w, ids = _two_reports_in_silver(spark, s)
    w.count_batch(spark, ids, batch_id=0)
    first = {t.name: stored(spark, s, t) for t in st.COUNT_TABLES}
    # the same batch again, as after a crash before the stream committed its offsets
    w.count_batch(spark, ids, batch_id=0)
    assert {t.name: stored(spark, s, t) for t in st.COUNT_TABLES} == first
    # a crash after the contribution MERGE, before the count MERGEs: the re-run applies them once
    seven = _follow_up_of_seven_in_silver(spark, s)
    current = counts.report_contributions(
        *(
            tables.delta_table(spark, s, x).toDF().join(seven, "safetyreportid", "left_semi")
            for x in (tables.REPORT, tables.DRUG, tables.REACTION)
        ),
        w.facts,
        w.params.counts,
    )
    counts.merge_contributions(spark, s, seven, current, 1, w.app_id)  # …and "crash"
    w.count_batch(spark, seven, batch_id=1)  # the re-run
    w.count_batch(spark, seven, batch_id=1)  # and once more
    _assert_counts_after_the_follow_up(spark, s)


def test_a_fresh_checkpoint_is_a_new_run_not_a_rerun(spark, fresh_settings):
    """A query restarted on a fresh checkpoint numbers its batches from 0 again: its batch 0
    must be counted (not skipped as the old run's batch 0), and must not pick up the rows the
    old run stamped in its batch 0."""
    s = fresh_settings
    w, ids = _two_reports_in_silver(spark, s)
    w.count_batch(spark, ids, batch_id=0, run="vigil-signals-first-query")
    seven = _follow_up_of_seven_in_silver(spark, s)
    w.count_batch(spark, seven, batch_id=0, run="vigil-signals-second-query")
    _assert_counts_after_the_follow_up(spark, s)
