"""Serving load speed: rows/s from Delta into the local DuckDB (staging + MERGE), for 1,000,000
report rows — first load and a 1% incremental change — against a baseline in the same run (DuckDB
copying the same Parquet into a table with no key, no checks and no MERGE); and the time from a
gold commit to its rows being visible in a Power BI view at demo scale.

    .venv/bin/python bench/bench_serving.py [--rows 1000000] [--no-write]

Figures go to the "Serving" section of docs/BENCHMARKS.md (the other sections are left alone).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs import tables  # noqa: E402
from jobs.serving.connections import Changes, database_for  # noqa: E402
from jobs.serving.load import _stage, load_all, load_table, merge_sql  # noqa: E402
from jobs.serving.migrations import migrate  # noqa: E402
from jobs.serving.targets import BY_TARGET  # noqa: E402
from jobs.settings import PROJECT_ROOT, Settings  # noqa: E402

DOC = PROJECT_ROOT / "docs" / "BENCHMARKS.md"
REPORT = BY_TARGET["fact_report"]


def report_rows(spark, n: int, start: int = 0, version: int = 1):
    """n valid report rows with every column of the contract filled."""
    from pyspark.sql import functions as F

    i = F.col("id")

    def pick(*values):
        return F.element_at(F.array(*map(F.lit, values)), (i % len(values) + 1).cast("int"))

    special = {
        "safetyreportid": F.concat(F.lit("R"), i.cast("string")),
        "safetyreportversion": F.lit(version),
        "patient_sex": pick("male", "female", "unknown"),
        "patient_age_group": pick("child", "adult", "elderly"),
        "occurcountry": pick("US", "GB", "FR", "DE", "JP"),
        "patient_age_years": (i % 90).cast("double"),
        "patient_weight_kg": (i % 120 + 3).cast("double"),
    }
    generic = {"STRING": lambda c: F.concat(F.lit(c[:6]), (i % 97).cast("string")),
               "INT": lambda c: (i % 5 + 1).cast("int"), "DOUBLE": lambda c: (i % 7).cast("double"),
               "BOOLEAN": lambda c: i % 2 == 0, "DATE": lambda c: F.date_add(F.lit("2024-01-01").cast("date"),
                                                                              (i % 365).cast("int")),
               "TIMESTAMP": lambda c: F.current_timestamp()}
    columns = [(special.get(c) if c in special else generic[t](c)).alias(c)
               for c, t in tables.REPORT.column_types.items()]
    return spark.range(start, start + n).select(*columns)


class ParquetChanges(Changes):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def parquet_dir(self) -> str:
        return self.folder


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--demo-rows", type=int, default=2_000)
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave the doc alone")
    args = parser.parse_args()

    root = PROJECT_ROOT / ".vigil" / "bench" / "serving"
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(profile="local", data_root=str(root), kafka_bootstrap=None)
    from jobs.runtime import get_spark

    spark = get_spark(settings, app_name="vigil-bench-serving")
    path = settings.table_path(tables.REPORT.name)
    tables.ensure(spark, settings, tables.REPORT)
    report_rows(spark, args.rows).write.format("delta").mode("append").save(path)

    # First load, end to end: Spark reads the snapshot and writes Parquet, DuckDB stages and MERGEs.
    db = database_for(settings)
    with db:
        migrate(db)
        first = load_table(spark, settings, db, REPORT)
    assert first.rows_staged == args.rows and first.rows_rejected == 0, first

    # The database's share alone, from the same Parquet: staging + MERGE into an empty target.
    staged = ParquetChanges(f"{settings.data_root}/serving/staging/{REPORT.target}")
    with db:
        db.run(f"DELETE FROM vigil.{REPORT.target}")
        stage_s = timed(lambda: _stage(db, REPORT, staged))

        def merge():
            db.begin()
            db.run(merge_sql(REPORT))
            db.commit()

        merge_s = timed(merge)
        files = (staged.parquet_dir() + "/*.parquet",)
        plain = "CREATE TABLE vigil.bench_plain AS SELECT * FROM read_parquet(?)"
        baseline_s = timed(lambda: db.run(plain, files))
        db.run("DROP TABLE vigil.bench_plain")

    # Incremental 1%: half updates of existing reports (version 2), half new reports.
    from delta.tables import DeltaTable

    change = max(2, args.rows // 100)
    updates = report_rows(spark, change // 2, start=0, version=2)
    inserts = report_rows(spark, change - change // 2, start=args.rows)
    (DeltaTable.forPath(spark, path).alias("t").merge(updates.unionByName(inserts).alias("s"),
                                                       "t.safetyreportid = s.safetyreportid")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    with db:
        incremental = load_table(spark, settings, db, REPORT)
        total = db.query("SELECT COUNT(*) FROM vigil.fact_report")[0][0]
    new = change - change // 2
    assert incremental.rows_staged == change and total == args.rows + new, (incremental, total)

    freshness = commit_to_view(spark, args.demo_rows)

    n = args.rows
    lines = [
        "## Serving",
        "",
        "Delta → local DuckDB through `jobs.serving` (staging + MERGE in T-SQL, translated by sqlglot).",
        f"Command: `.venv/bin/python bench/bench_serving.py --rows {n}`; "
        f"machine: {os.cpu_count()} cores shared, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| measurement | rows | seconds | rows/s |",
        "|---|---:|---:|---:|",
        f"| first load, end to end (Spark snapshot → Parquet → staging → MERGE) | {n:,} | "
        f"{first.seconds:.2f} | {n / first.seconds:,.0f} |",
        f"| first load, database only (staging + MERGE into empty target) | {n:,} | "
        f"{stage_s + merge_s:.2f} | {n / (stage_s + merge_s):,.0f} |",
        f"| … of which staging insert | {n:,} | {stage_s:.2f} | {n / stage_s:,.0f} |",
        f"| … of which reject rules + MERGE + dimensions | {n:,} | {merge_s:.2f} | {n / merge_s:,.0f} |",
        f"| baseline: DuckDB copies the same Parquet into a bare table | {n:,} | {baseline_s:.2f} | "
        f"{n / baseline_s:,.0f} |",
        f"| incremental 1% (CDF read, {change // 2:,} updates + {new:,} inserts), end to end "
        f"| {change:,} | {incremental.seconds:.2f} | {change / incremental.seconds:,.0f} |",
        "",
        f"Gold commit → visible in `vigil.vw_report` at demo scale ({args.demo_rows:,} reports, all ten "
        f"loads run): **{freshness:.2f} s** (a flags MERGE committed, then one `load_all`).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(text)
    spark.stop()


def commit_to_view(spark, n: int) -> float:
    """Seconds from a gold.adverse_event_flags commit until vw_report shows the change."""
    from pyspark.sql import functions as F

    root = PROJECT_ROOT / ".vigil" / "bench" / "serving-demo"
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(profile="local", data_root=str(root), kafka_bootstrap=None)
    tables.ensure(spark, settings, tables.REPORT)
    tables.ensure(spark, settings, tables.FLAGS)
    report_rows(spark, n).write.format("delta").mode("append").save(settings.table_path(tables.REPORT.name))

    def flags(overdose: bool):
        columns = {c: F.lit(None).cast(t) for c, t in tables.FLAGS.column_types.items()}
        columns["safetyreportid"] = F.concat(F.lit("R"), F.col("id").cast("string"))
        columns["is_overdose"] = F.lit(overdose)
        return spark.range(0, 10).select(*[v.alias(k) for k, v in columns.items()])

    flags(False).write.format("delta").mode("append").save(settings.table_path(tables.FLAGS.name))
    load_all(spark, settings)
    from delta.tables import DeltaTable

    (DeltaTable.forPath(spark, settings.table_path(tables.FLAGS.name)).alias("t")
     .merge(flags(True).alias("s"), "t.safetyreportid = s.safetyreportid").whenMatchedUpdateAll().execute())
    committed = time.perf_counter()
    load_all(spark, settings)
    with database_for(settings, read_only=True) as db:
        assert db.query("SELECT COUNT(*) FROM vigil.vw_report WHERE is_overdose = 1")[0][0] == 10
    return time.perf_counter() - committed


def write_section(text: str) -> None:
    """Replace (or append) the "## Serving" section; every other section stays as it is."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    current = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    lines = current.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Serving"), None)
    if start is None:
        DOC.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    DOC.write_text("".join(lines[:start]) + text + ("\n" if end < len(lines) else "") + "".join(lines[end:]))


if __name__ == "__main__":
    main()
