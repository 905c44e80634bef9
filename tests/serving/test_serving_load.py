"""The incremental load against real Delta tables and a real DuckDB file, Delta as the truth."""

from __future__ import annotations

import pytest

from jobs import tables
from jobs.serving.connections import DuckDBDatabase, local_database_path
from jobs.serving.load import load_all, preview_views
from jobs.serving.targets import BY_TARGET
from jobs.settings import PROJECT_ROOT
from tests.test_platform_check import run_notebook

from .lake import drug, drug_daily, flags, reaction, report, served

pytestmark = pytest.mark.spark

CHECKED = ("fact_report", "fact_report_drug", "fact_report_reaction", "fact_flags", "fact_drug_daily")


def assert_matches_delta(lake, settings):
    with DuckDBDatabase(local_database_path(settings), read_only=True) as db:
        for target in CHECKED:
            assert served(db, target) == lake.truth(BY_TARGET[target]), target


def first_version(lake):
    lake.merge(tables.REPORT, [report("1"), report("2"), report("3", occurcountry="GB")])
    lake.replace_children(tables.DRUG, ["1", "2", "3"], [drug("1", 1), drug("1", 2, generic_name="IBUPROFEN"),
                                                          drug("2", 1), drug("3", 1)])
    lake.replace_children(tables.REACTION, ["1", "2", "3"], [reaction("1", 1), reaction("2", 1),
                                                              reaction("3", 1)])
    lake.merge(tables.FLAGS, [flags("1", overdose_reasons=["dose_above_max"], is_overdose=True),
                              flags("2"), flags("3")])
    lake.merge(tables.DRUG_DAILY, [drug_daily("ACETAMINOPHEN", "US", 2), drug_daily(None, "GB", 1),
                                   drug_daily("IBUPROFEN", None, 1)])


def follow_ups(lake):
    """New reports, follow-up versions that drop and renumber child rows, aggregate updates."""
    lake.merge(tables.REPORT, [report("2", 2, patient_age_years=62.0), report("4")])
    lake.replace_children(tables.DRUG, ["2", "4"], [drug("2", 1, 2, generic_name="NAPROXEN"),
                                                    drug("2", 2, 2), drug("2", 3, 2), drug("4", 1)])
    lake.replace_children(tables.REACTION, ["1", "4"], [reaction("4", 1)])  # report 1 loses its reaction
    lake.merge(tables.FLAGS, [flags("2", 2), flags("4")])
    lake.merge(tables.DRUG_DAILY, [drug_daily("ACETAMINOPHEN", "US", 3), drug_daily(None, "GB", 2)])
    lake.delete(tables.DRUG_DAILY, "generic_name = 'IBUPROFEN'")


def test_first_incremental_and_repeated_loads_match_delta(spark, lake, lake_settings):
    first_version(lake)
    first = load_all(spark, lake_settings)
    by_target = {t.target: t for t in first.tables}
    assert by_target["fact_report"].full_reload and by_target["fact_report"].rows_staged == 3
    assert by_target["fact_alert"].status == "absent"  # gold.alert comes with the signals issue
    assert first.rows_rejected == 0
    assert_matches_delta(lake, lake_settings)

    follow_ups(lake)
    second = load_all(spark, lake_settings)
    report_load = {t.target: t for t in second.tables}["fact_report"]
    assert not report_load.full_reload and report_load.rows_staged == 2  # only the changes
    assert_matches_delta(lake, lake_settings)

    again = load_all(spark, lake_settings)  # nothing new: a no-op
    assert {t.status for t in again.tables} <= {"up_to_date", "absent"} and again.rows_staged == 0
    assert_matches_delta(lake, lake_settings)

    text = preview_views(lake_settings)
    assert "vigil.vw_report: 4 rows" in text and "vigil.vw_data_quality" in text
    with DuckDBDatabase(local_database_path(lake_settings), read_only=True) as db:
        # acetaminophen, ibuprofen, naproxen
        assert db.query("SELECT COUNT(*) FROM vigil.dim_drug")[0][0] == 3
        assert db.query("SELECT calendar_quarter FROM vigil.dim_date")[0][0] == 1


@pytest.mark.notebook
def test_the_serving_notebook_loads_what_delta_holds(spark, lake, lake_settings):
    """notebooks/05_serving_load under nbmake, as the serving job runs it, with its widgets'
    local defaults."""
    first_version(lake)
    run_notebook(PROJECT_ROOT / "notebooks" / "05_serving_load.ipynb",
                 {"VIGIL_DATA_ROOT": lake_settings.data_root})
    assert_matches_delta(lake, lake_settings)


class Interrupted(RuntimeError):
    pass


@pytest.mark.parametrize("phase", ["staged", "merged"])
def test_a_load_interrupted_and_rerun_neither_duplicates_nor_loses(spark, lake, lake_settings, phase):
    first_version(lake)
    load_all(spark, lake_settings)
    follow_ups(lake)

    def crash(target, at):
        if target == "fact_report_drug" and at == phase:
            raise Interrupted(f"killed after {at}")

    with pytest.raises(Interrupted):
        load_all(spark, lake_settings, hook=crash)
    with DuckDBDatabase(local_database_path(lake_settings), read_only=True) as db:
        # The report table before it committed; the drug table still at the first load.
        assert db.query("SELECT COUNT(*) FROM vigil.fact_report")[0][0] == 4
        assert db.query("SELECT COUNT(*) FROM vigil.fact_report_drug")[0][0] == 4
        if phase == "staged":
            assert db.query("SELECT COUNT(*) FROM vigil.stg_fact_report_drug")[0][0] > 0

    rerun = load_all(spark, lake_settings)
    assert {t.target: t.status for t in rerun.tables}["fact_report"] == "up_to_date"
    assert_matches_delta(lake, lake_settings)


def test_rows_breaking_target_constraints_are_rejected_and_the_load_completes(spark, lake, lake_settings):
    lake.merge(tables.REPORT, [report("1"), report("2", patient_sex="x"),
                               report("3", patient_age_years=-1.0), report("4", patient_age_years=250.0),
                               report("9" * 70)])
    summary = load_all(spark, lake_settings)
    loaded = {t.target: t for t in summary.tables}["fact_report"]
    assert (loaded.rows_staged, loaded.rows_rejected, summary.rows_rejected) == (5, 3, 3)
    with DuckDBDatabase(local_database_path(lake_settings), read_only=True) as db:
        # An implausible age is kept (gold flags it for review); an impossible one is refused.
        assert sorted(db.query("SELECT safetyreportid FROM vigil.fact_report")) == [("1",), ("4",)]
        rejects = dict(db.query("SELECT key_value, reason FROM vigil.load_reject"))
        quality = db.query("SELECT check_name, row_count FROM vigil.vw_data_quality "
                           "WHERE check_group = 'load_reject'")
    assert rejects['{"safetyreportid": "2"}'] == "patient_sex is not male, female or unknown"
    assert rejects['{"safetyreportid": "3"}'] == "patient_age_years is negative"
    assert any("longer than 64" in reason for reason in rejects.values())
    assert sum(count for _, count in quality) == 3


def test_text_as_real_senders_write_it_loads_unchanged(spark, lake, lake_settings):
    """Free text reaches the serving database as silver holds it: control characters (a NUL
    from a C string, tabs), emoji, right-to-left script, combining marks, a 400-character name."""
    names = ["Tyl\x00enol", "Aspirin\t81 mg\r\n", "💊 Paracétamol", "باراسيتامول", "Ibupro\u0301fen",
             "X" * 400]
    lake.merge(tables.REPORT, [report(str(i), senderorganization=name) for i, name in enumerate(names)])
    lake.replace_children(tables.DRUG, [str(i) for i in range(len(names))],
                          [drug(str(i), 1, medicinalproduct=name) for i, name in enumerate(names)])
    summary = load_all(spark, lake_settings)
    assert summary.rows_rejected == 0
    with DuckDBDatabase(local_database_path(lake_settings), read_only=True) as db:
        drugs = dict(db.query("SELECT safetyreportid, medicinalproduct FROM vigil.fact_report_drug"))
        senders = dict(db.query("SELECT safetyreportid, senderorganization FROM vigil.fact_report"))
    assert drugs == senders == {str(i): name for i, name in enumerate(names)}
