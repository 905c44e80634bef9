"""The loader over pyodbc and a real ODBC driver (SQLite's, from Debian): the same code path as
Azure SQL — migrations, staging in batches of bound parameters, MERGE, rejects, error mapping."""

from __future__ import annotations

import shutil
from datetime import datetime

import pyodbc
import pytest

from jobs import tables
from jobs.serving.connections import ConstraintError, sqlite_odbc_database
from jobs.serving.load import load_all
from jobs.serving.targets import BY_TARGET

from .lake import drug, report

pytestmark = pytest.mark.spark

if "SQLite3" not in pyodbc.drivers():
    pytest.skip("SQLite's ODBC driver is not installed (Debian: libsqliteodbc)", allow_module_level=True)

LOADS = (BY_TARGET["fact_report"], BY_TARGET["fact_report_drug"])


def to_millis(row: tuple) -> tuple:
    """libsqliteodbc keeps timestamps to the millisecond."""
    return tuple(v.replace(microsecond=v.microsecond // 1000 * 1000) if isinstance(v, datetime) else v
                 for v in row)


def test_the_loader_runs_over_pyodbc(spark, lake, lake_settings, tmp_path):
    lake.merge(tables.REPORT, [report(str(i), silver_updated_at=datetime(2024, 3, 2, 1, 2, 3, 456789))
                               for i in range(1, 6)] + [report("bad", patient_sex="?")])
    lake.replace_children(tables.DRUG, [], [drug(str(i), 1) for i in range(1, 6)])
    db = sqlite_odbc_database(tmp_path / "serving.sqlite", batch_size=2)

    summary = load_all(spark, lake_settings, db=db, loads=LOADS)
    loaded = {t.target: t for t in summary.tables}
    assert (loaded["fact_report"].rows_staged, loaded["fact_report"].rows_rejected) == (6, 1)
    assert db.batches_written == 3  # 5 drug rows in batches of 2

    lake.merge(tables.REPORT, [report("2", 2, patient_age_years=70.0)])
    lake.replace_children(tables.DRUG, ["3"], [])
    load_all(spark, lake_settings, db=db, loads=LOADS)

    with db:
        for load in LOADS:
            cols = ", ".join(f"[{c}]" for c in load.columns)
            got = {to_millis(r) for r in db.query(f"SELECT {cols} FROM vigil.{load.target}")}
            truth = {to_millis(r) for r in lake.truth(load) if r[0] != "bad"}
            assert got == truth, load.target
        reasons = db.query("SELECT reason FROM vigil.load_reject")
        assert reasons == [("patient_sex is not male, female or unknown",)]
        # A constraint the reject rules did not catch comes back as ours, with the driver's as cause.
        with pytest.raises(ConstraintError) as caught:
            db.run("INSERT INTO vigil.fact_report (safetyreportid) VALUES (?)", ("1",))
        assert isinstance(caught.value.__cause__, pyodbc.Error)
        db.rollback()


def test_sqlite_odbc_driver_file_is_where_debian_puts_it():
    assert shutil.which("odbcinst"), "unixODBC's odbcinst is missing"
