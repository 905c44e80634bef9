"""Every statement in sql/ parses as T-SQL and runs on DuckDB; the migration runner; the mappings."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import duckdb
import pytest

from jobs.serving import dialect
from jobs.serving.connections import DuckDBDatabase, ServingError
from jobs.serving.migrations import MERGE_DIR, MIGRATIONS_DIR, SQL_DIR, applied, discover, migrate
from jobs.serving.targets import CONTROL_COLUMNS, LOADS

SQL_FILES = sorted(SQL_DIR.rglob("*.sql"))


def in_run_order(files):
    """Migrations first, in version order, then everything else (MERGEs read their tables)."""
    return sorted(files, key=lambda p: (p.parent != MIGRATIONS_DIR, p.name))


@pytest.mark.parametrize("path", SQL_FILES, ids=[str(p.relative_to(SQL_DIR)) for p in SQL_FILES])
def test_every_statement_parses_as_tsql(path):
    assert dialect.parse_tsql(path.read_text())


def test_every_statement_runs_on_duckdb_and_sqlite():
    duck, lite = duckdb.connect(), sqlite3.connect(":memory:")
    for path in in_run_order(SQL_FILES):
        for statement in dialect.transpile(path.read_text(), "duckdb"):
            duck.execute(statement)
        for statement in dialect.transpile(path.read_text(), "sqlite"):
            lite.execute(statement)
    assert duck.execute("SELECT COUNT(*) FROM vigil.dim_age_group").fetchone() == (6,)


def test_the_runner_applies_pending_migrations_once(tmp_path):
    with DuckDBDatabase(tmp_path / "serving.duckdb") as db:
        first = migrate(db)
        assert first == [m.path.name for m in discover()]
        assert migrate(db) == []  # a second run is a no-op
        assert sorted(applied(db)) == [m.version for m in discover()]


def test_the_runner_refuses_an_edited_migration_and_rolls_back_a_failing_one(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for m in discover():
        (folder / m.path.name).write_text(m.text)
    with DuckDBDatabase(tmp_path / "serving.duckdb") as db:
        migrate(db, folder)
        broken = "CREATE TABLE vigil.half (a INT);\nSELECT * FROM vigil.nope;\n"
        (folder / "V900__broken.sql").write_text(broken)
        with pytest.raises(duckdb.CatalogException):
            migrate(db, folder)
        assert not db.table_exists("vigil", "half") and 900 not in applied(db)
        (folder / "V900__broken.sql").unlink()
        first = sorted(folder.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(ServingError, match="changed after it was applied"):
            migrate(db, folder)


def test_staging_and_target_columns_are_the_delta_columns(tmp_path):
    """One name for one thing: SQL tables carry the contract's column names, in its order."""
    with DuckDBDatabase(tmp_path / "serving.duckdb") as db:
        migrate(db)
        for load in LOADS:
            for table, expected in ((load.target, load.columns),
                                    (load.staging, [*load.columns, *CONTROL_COLUMNS])):
                rows = db.query("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                "'vigil' AND table_name = ? ORDER BY ordinal_position", (table,))
                assert [r[0] for r in rows] == expected, table
            assert (MERGE_DIR / f"{load.target}.sql").exists()


def test_go_splits_batches_and_comments_alone_are_not_a_batch():
    text = "CREATE SCHEMA s;\nGO\n-- just a note\ngo  \nCREATE VIEW s.v AS SELECT 1 AS one;\n"
    assert dialect.split_batches(text) == ["CREATE SCHEMA s;", "CREATE VIEW s.v AS SELECT 1 AS one;"]


@pytest.mark.parametrize(("tsql", "duck"), [
    ("CREATE TABLE t (a BIT)", "CREATE TABLE t (a BOOLEAN)"),
    ("CREATE TABLE t (a FLOAT)", "CREATE TABLE t (a DOUBLE)"),
    ("CREATE TABLE t (a NVARCHAR(MAX), b NVARCHAR(20))", "CREATE TABLE t (a TEXT, b TEXT)"),
    ("CREATE TABLE t (a INT NOT NULL, CONSTRAINT p PRIMARY KEY (a))",
     "CREATE TABLE t (a INT NOT NULL, CONSTRAINT p PRIMARY KEY (a))"),
    ("SELECT SYSUTCDATETIME()", "SELECT CAST(NOW() AT TIME ZONE 'UTC' AS TIMESTAMP)"),
])
def test_project_mappings_for_duckdb(tsql, duck):
    assert dialect.transpile(tsql, "duckdb") == [duck]


def test_tsql_passes_through_unchanged_and_an_unknown_dialect_is_refused():
    text = "MERGE INTO vigil.t AS t USING vigil.s AS s ON t.k = s.k WHEN MATCHED THEN DELETE;"
    assert dialect.transpile(text, "tsql") == [text]
    with pytest.raises(dialect.DialectError, match="unknown SQL dialect"):
        dialect.transpile(text, "oracle")


def test_unparseable_tsql_is_an_error_not_an_opaque_command():
    with pytest.raises(dialect.DialectError):
        dialect.parse_tsql("SELECT a FROM (SELECT")


UPSERT = """MERGE INTO vigil.t AS t USING (SELECT * FROM vigil.s WHERE bad IS NULL) AS s ON t.k = s.k
WHEN MATCHED AND s.op = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET v = s.v
WHEN NOT MATCHED BY TARGET AND s.op <> 'delete' THEN INSERT (k, v) VALUES (s.k, s.v);"""


def test_the_sqlite_merge_rewrite_gives_what_duckdb_merge_gives():
    setup = ["CREATE TABLE vigil.t (k INT NOT NULL, v NVARCHAR(10), CONSTRAINT pk PRIMARY KEY (k))",
             "CREATE TABLE vigil.s (k INT, v NVARCHAR(10), op NVARCHAR(10), bad INT)",
             "INSERT INTO vigil.t (k, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
             "INSERT INTO vigil.s (k, v, op, bad) VALUES (1, 'A', 'update', NULL), "
             "(2, NULL, 'delete', NULL), (4, 'd', 'insert', NULL), (5, 'e', 'insert', 1), "
             "(3, 'X', 'update', 1), (6, NULL, 'delete', NULL)"]
    duck, lite = duckdb.connect(), sqlite3.connect(":memory:")
    duck.execute("CREATE SCHEMA vigil")
    for statement in [*setup, UPSERT]:
        for sql in dialect.transpile(statement, "duckdb"):
            duck.execute(sql)
        for sql in dialect.transpile(statement, "sqlite"):
            lite.execute(sql)
    expected = [(1, "A"), (3, "c"), (4, "d")]
    assert duck.execute("SELECT k, v FROM vigil.t ORDER BY k").fetchall() == expected
    assert lite.execute("SELECT k, v FROM t ORDER BY k").fetchall() == expected


def test_truncate_becomes_delete_on_sqlite():
    assert dialect.transpile("TRUNCATE TABLE vigil.stg_x", "sqlite") == ["DELETE FROM stg_x"]
    assert dialect.transpile("TRUNCATE TABLE vigil.stg_x", "duckdb") == ["TRUNCATE TABLE vigil.stg_x"]


def test_the_sqlite_merge_rewrite_refuses_a_partial_update():
    partial = UPSERT.replace("UPDATE SET v = s.v", "UPDATE SET v = 'x'")
    with pytest.raises(dialect.DialectError, match="UPDATE SET"):
        dialect.transpile(partial, "sqlite")


def test_sql_folder_holds_only_migrations_and_merges():
    assert {p.parent for p in SQL_FILES} <= {MIGRATIONS_DIR, MERGE_DIR}
    assert isinstance(SQL_DIR, Path)


def test_the_serving_columns_hold_what_silver_accepts():
    """Silver quarantines text longer than Vigil stores (`text_within_limits`), so that the
    serving load never has to refuse a row silver took. That holds only while every column
    such text lands in is at least as wide: the T-SQL is the other half of the contract."""
    from jobs import silver
    from jobs import silver_rules as r

    ddl = "\n".join(path.read_text() for path in sorted(MIGRATIONS_DIR.glob("*.sql")))
    widths: dict[str, list[int]] = {}
    for name, width in re.findall(r"^\s*\[?(\w+)\]?\s+NVARCHAR\((\d+)\)", ddl, re.MULTILINE):
        widths.setdefault(name, []).append(int(width))
    narrowest = {name: min(found) for name, found in widths.items()}
    needed = {
        "occurcountry": r.COUNTRY_OR_ROUTE_CHARS, "reportercountry": r.COUNTRY_OR_ROUTE_CHARS,
        "country_code": r.COUNTRY_OR_ROUTE_CHARS, "drugadministrationroute": r.COUNTRY_OR_ROUTE_CHARS,
        "medicinalproduct": r.DRUG_NAME_CHARS, "product_name": r.DRUG_NAME_CHARS,
        "generic_name": r.DRUG_NAME_CHARS, "reactionmeddrapt": r.MEDDRA_TERM_CHARS,
        "senderorganization": r.FREE_TEXT_CHARS, "drugindication": r.FREE_TEXT_CHARS,
        "safetyreportid": silver.QUARANTINE_ID_CHARS,
        # an alert names a drug and a reaction, or a drug and a country
        "subject": max(len("drug=;reaction=") + r.DRUG_NAME_CHARS + r.MEDDRA_TERM_CHARS,
                       len("drug=;country=") + r.DRUG_NAME_CHARS + r.COUNTRY_OR_ROUTE_CHARS),
    }
    too_narrow = {name: (narrowest[name], width) for name, width in needed.items() if narrowest[name] < width}
    assert not too_narrow, too_narrow  # column: (its width, what silver lets through)
