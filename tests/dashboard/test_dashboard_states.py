"""Bad input, without a browser (Streamlit's AppTest runs the app in-process): an empty or
missing database shows an explanation and the command that fills it; one that cannot be opened
shows which one and why; never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.data import ENV_DB, Filters, where
from jobs.serving.connections import DuckDBDatabase
from jobs.serving.migrations import migrate
from jobs.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "dashboard" / "app.py")


def run_app(monkeypatch, db_path) -> AppTest:
    monkeypatch.setenv(ENV_DB, str(db_path))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_a_missing_database_explains_and_gives_the_fill_command(monkeypatch, tmp_path):
    db = tmp_path / "data" / "serving" / "vigil_serving.duckdb"
    app = run_app(monkeypatch, db)
    assert "does not exist yet" in texts(app.info) and str(db) in texts(app.info)
    assert texts(app.code) == f".venv/bin/python -m jobs.serving load --data-root {tmp_path / 'data'}"
    assert not app.error


def test_a_migrated_but_empty_database_explains_and_gives_the_fill_command(monkeypatch, tmp_path):
    db = tmp_path / "serving" / "vigil_serving.duckdb"
    with DuckDBDatabase(db) as database:
        migrate(database)
    app = run_app(monkeypatch, db)
    assert "holds no reports yet" in texts(app.info)
    assert "python -m jobs.serving load" in texts(app.code)
    assert not app.metric


def test_a_locked_database_says_which_and_why(monkeypatch, tmp_path):
    db = tmp_path / "serving" / "vigil_serving.duckdb"
    with DuckDBDatabase(db) as database:
        migrate(database)
    holder = subprocess.Popen(  # another process holding the write lock, as the serving load does
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); time.sleep(120)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        app = run_app(monkeypatch, db)
    finally:
        holder.kill()
        holder.wait()
    error = texts(app.error)
    assert "Cannot open the serving database" in error and str(db) in error
    assert "write lock" in error


def test_a_folder_instead_of_a_file_says_which_and_why(monkeypatch, tmp_path):
    app = run_app(monkeypatch, tmp_path)
    assert str(tmp_path) in texts(app.error) and "a folder, not a DuckDB file" in texts(app.error)


@pytest.mark.parametrize(
    ("view", "filters", "sql", "not_applied"),
    [
        (
            "vw_overdose_trend",
            Filters(drugs=("OXYCODONE",), countries=("US", "GB")),
            "WHERE generic_name IN (?) AND occurcountry IN (?, ?)",
            [],
        ),
        (
            "vw_age_sex_by_reaction",
            Filters(drugs=("OXYCODONE",), reactions=("Nausea",)),
            "WHERE reactionmeddrapt IN (?)",
            ["drug"],
        ),
        (
            "vw_report",
            Filters(drugs=("OXYCODONE",)),
            "WHERE safetyreportid IN (SELECT safetyreportid FROM vigil.vw_report_drug "
            "WHERE generic_name IN (?))",
            [],
        ),
        ("vw_alert", Filters(countries=("GB",)),
         r"WHERE regexp_extract(subject, '(?:^|;)country=([^;]*)\z', 1) IN (?)", []),
        ("vw_data_quality", Filters(countries=("GB",)), "", ["country"]),
    ],
)
def test_filters_become_bound_sql_per_view(view, filters, sql, not_applied):
    w = where(view, filters)
    assert w.sql == sql and w.not_applied == not_applied
    assert "OXYCODONE" not in w.sql and "GB" not in w.sql  # values are bound, never formatted


def test_an_alert_filter_matches_names_literally():
    """Names are free text from reports: `%` or `_` in one is a character, not a wildcard, and
    `;` does not end it."""
    import duckdb

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA vigil")
    conn.execute("CREATE TABLE vigil.vw_alert (subject VARCHAR)")
    subjects = ["drug=ABC;reaction=Nausea", "drug=A_C;reaction=Nausea", "drug=A%;country=US",
                "drug=A;country=US", "country=GB", "drug=GB;country=FR", "drug=A; B;reaction=X; Y",
                "drug=A; B", "all", "drug=L1\nL2;reaction=R1\nR2\n", "drug=L1\n;country=US"]
    conn.executemany("INSERT INTO vigil.vw_alert VALUES (?)", [(s,) for s in subjects])

    def matching(filters: Filters) -> list[str]:
        w = where("vw_alert", filters)
        return [r[0] for r in conn.execute(f"SELECT subject FROM vigil.vw_alert {w.sql} ORDER BY 1",
                                           w.params).fetchall()]

    assert matching(Filters(drugs=("A_C",))) == ["drug=A_C;reaction=Nausea"]
    assert matching(Filters(drugs=("A%",))) == ["drug=A%;country=US"]
    assert matching(Filters(drugs=("A",))) == ["drug=A;country=US"]
    assert matching(Filters(countries=("GB",))) == ["country=GB"]
    assert matching(Filters(drugs=("A_C", "A"), reactions=("Nausea",))) == ["drug=A_C;reaction=Nausea"]
    assert matching(Filters(drugs=("A; B",))) == ["drug=A; B", "drug=A; B;reaction=X; Y"]
    assert matching(Filters(reactions=("X; Y",))) == ["drug=A; B;reaction=X; Y"]
    assert matching(Filters(drugs=("L1\nL2",), reactions=("R1\nR2\n",))) == ["drug=L1\nL2;reaction=R1\nR2\n"]
    assert matching(Filters(drugs=("L1\n",), countries=("US",))) == ["drug=L1\n;country=US"]
