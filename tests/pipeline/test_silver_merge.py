"""Silver's MERGE: latest version wins, older versions and exact duplicates change nothing,
a follow-up replaces its drug and reaction rows, and a crash mid-batch converges on restart."""

import dataclasses
import json

import pytest
from pyspark.sql import functions as F

from jobs import pipeline, silver, tables
from tests.conftest import shared_file
from tests.pipeline.conftest import report, table, write_bronze

pytestmark = pytest.mark.spark
AVAILABLE_NOW = {"availableNow": True}


def run_silver(spark, settings):
    pipeline.await_run(silver.start(spark, settings, AVAILABLE_NOW))


def reports(spark, settings):
    return {r.safetyreportid: r for r in table(spark, settings, tables.REPORT).collect()}


def test_latest_version_wins_and_stale_or_duplicate_events_change_nothing(spark, fresh_settings):
    s = fresh_settings
    v1 = report(safetyreportversion="1")
    v2 = report(safetyreportversion="2", patient_patientweight="71")
    write_bronze(spark, s, [v1, v2, v1], start_offset=0)  # v1 duplicated, v2 in between
    run_silver(spark, s)
    assert reports(spark, s)["10000001"].safetyreportversion == 2
    assert reports(spark, s)["10000001"].patient_weight_kg == 71.0

    version_before = spark.sql(f"DESCRIBE HISTORY {s.table_identifier(tables.REPORT.name)}").first().version
    write_bronze(spark, s, [v1, v2], start_offset=3)  # an older version and an exact duplicate
    run_silver(spark, s)
    history = spark.sql(f"DESCRIBE HISTORY {s.table_identifier(tables.REPORT.name)}")
    new_commits = history.where(F.col("version") > version_before).collect()
    assert all(c.operationMetrics.get("numTargetRowsUpdated", "0") == "0" for c in new_commits)
    assert all(c.operationMetrics.get("numTargetRowsInserted", "0") == "0" for c in new_commits)
    assert table(spark, s, tables.REPORT).count() == 1


def test_follow_up_replaces_child_rows(spark, fresh_settings):
    s = fresh_settings
    two_drugs = [{"medicinalproduct": "A", "drugcharacterization": "1"},
                 {"medicinalproduct": "B", "drugcharacterization": "2"}]
    write_bronze(spark, s, [report(patient_drug=two_drugs, patient_reaction=[
        {"reactionmeddrapt": "Nausea"}, {"reactionmeddrapt": "Rash"}])])
    run_silver(spark, s)
    write_bronze(spark, s, [report(safetyreportversion="2",
                                   patient_drug=[{"medicinalproduct": "C", "drugcharacterization": "1"}],
                                   patient_reaction=[{"reactionmeddrapt": "Headache"}])], start_offset=1)
    run_silver(spark, s)
    drugs = [(r.drug_seq, r.product_name, r.safetyreportversion)
             for r in table(spark, s, tables.DRUG).collect()]
    assert drugs == [(1, "C", 2)]
    assert [r.reactionmeddrapt for r in table(spark, s, tables.REACTION).collect()] == ["Headache"]


def test_a_batch_with_a_follow_up_and_a_new_report_commits_each_table_once(spark, fresh_settings):
    """An update makes the batch MERGE: the new report rides in the same MERGE, one commit per
    table, and both end up right."""
    s = fresh_settings
    written = (tables.REPORT, tables.DRUG, tables.REACTION)
    write_bronze(spark, s, [report(patient_drug=[{"medicinalproduct": "A", "drugcharacterization": "1"},
                                                 {"medicinalproduct": "B", "drugcharacterization": "2"}])])
    run_silver(spark, s)

    def history(t):
        return spark.sql(f"DESCRIBE HISTORY {s.table_identifier(t.name)}")

    before = {t: history(t).first().version for t in written}
    write_bronze(spark, s, [
        report(safetyreportversion="2",
               patient_drug=[{"medicinalproduct": "C", "drugcharacterization": "1"}]),
        report(safetyreportid="10000002"),
    ], start_offset=1)
    run_silver(spark, s)
    for t in written:
        commits = history(t).where(F.col("version") > before[t]).collect()
        assert [c.operation for c in commits] == ["MERGE"], t.name
    assert {(r.safetyreportid, r.safetyreportversion) for r in reports(spark, s).values()} == {
        ("10000001", 2), ("10000002", 1)}
    drugs = {(r.safetyreportid, r.drug_seq, r.product_name)
             for r in table(spark, s, tables.DRUG).collect()}
    assert ("10000001", 1, "C") in drugs and ("10000001", 2, "B") not in drugs
    assert any(d[0] == "10000002" for d in drugs)
    reactions = table(spark, s, tables.REACTION)
    assert reactions.select("safetyreportid").distinct().count() == 2


def test_a_merge_source_is_computed_once_and_does_not_carry_its_lineage(spark):
    """Delta plans a MERGE's source again from its lineage, ignoring Spark's cache
    (delta-io/delta#2011): the source must be rows already computed, not a plan."""
    computed = spark.sparkContext.accumulator(0)

    @F.udf("long")
    def counted(value):
        computed.add(1)
        return value

    plan = spark.range(3).select(counted("id").alias("id"))
    plan.collect()
    plan.collect()
    assert computed.value == 6  # a plan is computed again on every use

    source = tables.merge_source(plan)
    assert computed.value == 9  # once, now
    assert sorted(r.id for r in source.collect()) == [0, 1, 2]
    source.collect()
    assert computed.value == 9
    assert source._jdf.queryExecution().analyzed().children().isEmpty()  # nothing to re-plan


def test_every_real_openfda_report_parses_into_silver(spark, fresh_settings):
    lines = shared_file("reference/openfda-sample.jsonl").read_text().splitlines()
    write_bronze(spark, fresh_settings, [line.encode() for line in lines])
    run_silver(spark, fresh_settings)
    quarantined = table(spark, fresh_settings, tables.QUARANTINE)
    assert quarantined.count() == 0, quarantined.select("safetyreportid", "error").collect()
    ids = {json.loads(line)["safetyreportid"] for line in lines}
    assert set(reports(spark, fresh_settings)) == ids
    precision = {r.receivedate_precision for r in reports(spark, fresh_settings).values()}
    assert precision <= {"day", "month", "year"}


def test_empty_and_odd_lists_of_generic_names_do_not_stop_the_stream(spark, fresh_settings):
    """Under ANSI SQL, Spark 4's default, reading past a list's end raises: a drug sent with
    no generic names at all (`[]`) stopped silver at that event on every restart."""
    def drug(generic_names):
        return {"medicinalproduct": "NOT IN THE REFERENCE", "drugcharacterization": "1",
                "openfda": {"generic_name": generic_names}}

    write_bronze(spark, fresh_settings, [
        report(safetyreportid=str(10000300 + i), patient_drug=[drug(names)])
        for i, names in enumerate([[], [None], None, ["  acetylsalicylic acid "]])])
    run_silver(spark, fresh_settings)
    drugs = table(spark, fresh_settings, tables.DRUG).orderBy("safetyreportid").collect()
    # openFDA's name is one the reference knows for aspirin (`reference.with_generic_name`)
    assert [d.generic_name for d in drugs] == [None, None, None, "ASPIRIN"]
    assert table(spark, fresh_settings, tables.QUARANTINE).count() == 0


@pytest.mark.parametrize("lacking", [("daily_dose_amount",), ("drugdosageform", "daily_dose_amount"),
                                     ("dose_source", "drugdosageform", "daily_dose_amount")],
                         ids=["session-21", "session-20", "before-session-20"])
def test_a_drug_table_made_by_an_earlier_version_gets_the_new_columns(spark, fresh_settings, lacking):
    """A deployment upgraded in place: its drug table lacks the columns added since; the stage
    adds them (at the end, in the contract's order, null in the old rows) and fills them for
    new ones."""
    earlier = dataclasses.replace(tables.DRUG, ddl=", ".join(
        f"`{name}` {kind}" for name, kind in tables.DRUG.column_types.items() if name not in lacking))
    tables.ensure(spark, fresh_settings, earlier)
    write_bronze(spark, fresh_settings, [report(patient_drug=[
        {"medicinalproduct": "Tylenol", "drugcharacterization": "1", "drugdosagetext": "1 G, TID",
         "drugdosageform": "TABLET"}])])
    run_silver(spark, fresh_settings)
    drugs = table(spark, fresh_settings, tables.DRUG)
    assert drugs.columns == tables.DRUG.columns
    d = drugs.first()
    assert (d.dose_mg, d.daily_dose_mg, d.dose_source, d.drugdosageform, d.daily_dose_amount) == (
        1000.0, 3000.0, "dosage text", "TABLET", 3.0)


class CrashBeforeReports(silver.SilverWriter):
    """Dies after the child tables are written and before the report rows, once."""

    crashed = False

    def _write_children(self, table, *args):
        super()._write_children(table, *args)
        if table is tables.REACTION and not CrashBeforeReports.crashed:
            CrashBeforeReports.crashed = True
            raise RuntimeError("simulated crash between the child writes and the report write")


def test_crash_mid_batch_then_restart_from_checkpoint_is_exactly_once(spark, fresh_settings):
    s = fresh_settings
    events = [report(safetyreportid=str(10000000 + i)) for i in range(20)]
    events += [report(safetyreportid="10000003", safetyreportversion="2"), events[5], b"{bad"]
    write_bronze(spark, s, events)

    checkpoint = f"{s.checkpoint_root}/silver"
    query = (tables.read_stream(spark, s, tables.BRONZE_RAW).writeStream
             .foreachBatch(CrashBeforeReports(spark, s).upsert_batch)
             .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
    with pytest.raises(Exception, match="simulated crash"):
        query.awaitTermination()
    assert table(spark, s, tables.REPORT).count() == 0  # the report write never ran
    assert table(spark, s, tables.DRUG).count() == 20  # the children were

    run_silver(spark, s)  # the same checkpoint: the failed batch runs again
    got = table(spark, s, tables.REPORT)
    assert got.count() == 20 and got.select("safetyreportid").distinct().count() == 20
    assert reports(spark, s)["10000003"].safetyreportversion == 2
    assert table(spark, s, tables.DRUG).count() == 20
    assert table(spark, s, tables.QUARANTINE).count() == 1  # appended once despite the re-run
    counts = pipeline.reconcile(spark, s).first()
    assert (counts.bronze_events, counts.in_silver, counts.quarantined, counts.unaccounted) == (23, 22, 1, 0)


def test_a_fresh_checkpoint_over_existing_tables_loses_nothing(spark, fresh_settings):
    """Replaying bronze from a new checkpoint restarts batch ids at 0: the idempotent appends
    must not mistake its batches for the old query's and skip them."""
    s = fresh_settings
    write_bronze(spark, s, [report(safetyreportid=str(10000100 + i)) for i in range(5)])
    run_silver(spark, s)
    write_bronze(spark, s, [report(safetyreportid=str(10000200 + i)) for i in range(3)],
                 start_offset=5)
    pipeline.await_run(silver.start(spark, s, AVAILABLE_NOW, query_name="silver-replay"))
    assert table(spark, s, tables.REPORT).count() == 8
    assert table(spark, s, tables.DRUG).count() == 8
    assert table(spark, s, tables.QUARANTINE).count() == 0
