"""The daily aggregates as the staged job keeps them: days no aggregate holds yet are appended,
days already held are MERGEd (rows updated, rows a day no longer has deleted), and either way
the tables equal the aggregates recomputed from the current silver and gold tables."""

import pytest

from jobs import gold, pipeline, silver, tables
from tests.pipeline.conftest import report, table, write_bronze

pytestmark = pytest.mark.spark

DRUG = {"medicinalproduct": "Tylenol", "drugcharacterization": "1"}


def _event(report_id: str, version: int, day: str, reaction: str = "Nausea") -> dict:
    return report(safetyreportid=report_id, safetyreportversion=str(version), receivedate=day,
                  patient_drug=[DRUG], patient_reaction=[{"reactionmeddrapt": reaction}])


def _run(spark, settings) -> None:
    trigger = {"availableNow": True}
    pipeline.await_run(silver.start(spark, settings, trigger))
    pipeline.run_gold(spark, settings, trigger)


def _rows(df) -> set:
    return {tuple(r) for r in df.drop("gold_updated_at").collect()}


def _recomputed(spark, settings) -> dict:
    return gold.daily_aggregates(*(table(spark, settings, t) for t in
                                   (tables.FLAGS, tables.DRUG, tables.REACTION, tables.REPORT)))


def _operations(spark, settings, t) -> list[str]:
    history = spark.sql(f"DESCRIBE HISTORY delta.`{settings.table_path(t.name)}`")
    return [r.operation for r in history.orderBy("version").collect()]


def test_new_days_are_appended_and_held_days_merged(spark, fresh_settings):
    settings = fresh_settings
    write_bronze(spark, settings, [_event("9000001", 1, "20240105"),
                                   _event("9000002", 1, "20240105", "Rash"),
                                   _event("9000003", 1, "20240106")])
    _run(spark, settings)
    expected = _recomputed(spark, settings)
    for t in gold.AGGREGATES:
        assert _rows(table(spark, settings, t)) == _rows(expected[t]), t.name
        assert _operations(spark, settings, t)[-1] == "WRITE", "a first load is appended"

    # a follow-up moves report 1 to another day and changes its reaction; a new report lands
    # on a held day
    write_bronze(spark, settings, [_event("9000001", 2, "20240107", "Headache"),
                                   _event("9000004", 1, "20240106")], start_offset=3)
    _run(spark, settings)
    expected = _recomputed(spark, settings)
    for t in gold.AGGREGATES:
        assert _rows(table(spark, settings, t)) == _rows(expected[t]), t.name
        assert _operations(spark, settings, t)[-1] == "MERGE", "held days are MERGEd"
    old_day = (table(spark, settings, tables.DRUG_REACTION_DAILY)
               .where("receivedate = DATE'2024-01-05'").collect())
    assert [r.reactionmeddrapt for r in old_day] == ["Rash"], "report 1 left its old day"
    by_day = {str(r.receivedate): r.reports
              for r in table(spark, settings, tables.COUNTRY_DAILY).collect()}
    assert by_day == {"2024-01-05": 1, "2024-01-06": 2, "2024-01-07": 1}
