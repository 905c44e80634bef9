"""The incremental serving load: Delta changes → staging → MERGE → targets, one table at a time.

For each entry of `targets.LOADS`:

1. Read the watermark (the last Delta version already in the target) and the table's latest
   version. Nothing new: done. No watermark (first load), or a table re-created behind it:
   a full reload from the latest snapshot, replacing the target's rows.
2. Read the Change Data Feed from watermark+1 to latest, keep inserts, post-images and deletes,
   and only the last change per key (latest `_commit_version`; within one commit a re-insert
   beats a delete, since the row exists after it).
3. Replace the staging table's rows with those changes (its own transaction).
4. In one transaction: mark rows the target would refuse, MERGE (sql/merge/<target>.sql),
   copy the marked rows to vigil.load_reject, advance the watermark.

A failure anywhere leaves the watermark where it was, so the next run reads the same changes
again and MERGEs them to the same result: nothing is duplicated or lost. A transient Azure SQL
error reruns the table's load after reconnecting.
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jobs.serving.connections import Changes, Database, database_for, with_retries
from jobs.serving.migrations import MERGE_DIR, migrate
from jobs.serving.targets import CONTROL_COLUMNS, LOADS, Load

# Called with (target, phase) at "staged" and "merged" (before commit): tests interrupt there.
Hook = Callable[[str, str], None]

VIEWS = (
    "vw_report", "vw_report_drug", "vw_report_reaction", "vw_overdose_trend",
    "vw_reactions_by_drug", "vw_age_sex_by_reaction", "vw_alert", "vw_data_quality",
)


@dataclass
class TableLoad:
    target: str
    source: str
    status: str  # loaded | up_to_date | absent
    from_version: int | None = None  # exclusive; None on a full reload
    to_version: int | None = None
    full_reload: bool = False
    rows_staged: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0

    @property
    def rows_merged(self) -> int:
        return self.rows_staged - self.rows_rejected


@dataclass
class LoadSummary:
    tables: list[TableLoad] = field(default_factory=list)

    @property
    def rows_staged(self) -> int:
        return sum(t.rows_staged for t in self.tables)

    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.tables)

    def rows(self) -> list[dict]:
        return [{**vars(t), "rows_merged": t.rows_merged} for t in self.tables]

    def to_frame(self, spark):
        """The summary as a DataFrame, for a notebook's `display`."""
        schema = ("target STRING, source STRING, status STRING, from_version BIGINT, to_version BIGINT, "
                  "full_reload BOOLEAN, rows_staged BIGINT, rows_rejected BIGINT, seconds DOUBLE, "
                  "rows_merged BIGINT")
        return spark.createDataFrame(self.rows(), schema)

    def __str__(self) -> str:
        header = f"{'target':34} {'status':10} {'versions':>12} {'staged':>9} {'rejected':>8} {'seconds':>8}"
        lines = [header]
        for t in self.tables:
            versions = "" if t.to_version is None else (
                f"full@{t.to_version}" if t.full_reload else f"{t.from_version + 1}..{t.to_version}")
            lines.append(f"{t.target:34} {t.status:10} {versions:>12} {t.rows_staged:>9} "
                         f"{t.rows_rejected:>8} {t.seconds:>8.2f}")
        lines.append(f"total: {self.rows_staged} rows staged, {self.rows_rejected} rejected")
        return "\n".join(lines)


def load_all(spark, settings, *, db: Database | None = None, loads: Sequence[Load] = LOADS,
             batch_size: int | None = None, hook: Hook | None = None) -> LoadSummary:
    """Migrate the serving database, then load every table's changes since the last load."""
    db = db or database_for(settings, batch_size=batch_size)
    summary = LoadSummary()
    with db:
        migrate(db)
        for load in loads:
            summary.tables.append(load_table(spark, settings, db, load, hook=hook))
    return summary


def load_table(spark, settings, db: Database, load: Load, *, hook: Hook | None = None) -> TableLoad:
    started = time.monotonic()
    delta = _delta_table(spark, settings, load.source)
    if delta is None:
        return TableLoad(load.target, load.source, "absent")
    latest, committed_at = _latest_version(delta)
    last = _watermark(db, load.target)
    if last == latest:
        return TableLoad(load.target, load.source, "up_to_date", last, latest)
    full = last is None or last > latest  # first load, or the Delta table was re-created
    frame = read_changes(spark, settings, load, None if full else last + 1, latest)
    changes = SparkChanges(frame, staging_folder(settings, load))
    result = TableLoad(load.target, load.source, "loaded", None if full else last, latest, full)

    def attempt() -> None:
        _stage(db, load, changes)
        if hook:
            hook(load.target, "staged")
        db.begin()
        try:
            if full:
                db.run(f"DELETE FROM vigil.{load.target}")
            db.run(merge_sql(load))
            result.rows_rejected = _move_rejects(db, load)
            result.rows_staged = db.query(f"SELECT COUNT(*) FROM vigil.{load.staging}")[0][0]
            if hook:
                hook(load.target, "merged")
            _set_watermark(db, load, latest, committed_at, result)
            db.commit()
        except BaseException:
            db.rollback()
            raise

    with_retries(attempt, on_retry=lambda exc: db.reconnect())
    result.seconds = time.monotonic() - started
    return result


def merge_sql(load: Load) -> str:
    return (MERGE_DIR / f"{load.target}.sql").read_text(encoding="utf-8")


def staging_folder(settings, load: Load) -> str:
    return f"{settings.data_root}/serving/staging/{load.target}"


# --- the serving database side ------------------------------------------------------------------

def _stage(db: Database, load: Load, changes: Changes) -> None:
    db.begin()
    try:
        db.run(f"TRUNCATE TABLE vigil.{load.staging}")  # transactional in T-SQL, and no row log
        db.write_staging(load.staging, [*load.columns, *CONTROL_COLUMNS], changes)
        db.commit()
    except BaseException:
        db.rollback()
        raise


def _move_rejects(db: Database, load: Load) -> int:
    rows = db.query(f"SELECT * FROM vigil.{load.staging} WHERE _reject_reason IS NOT NULL")
    if not rows:
        return 0
    columns = db.last_columns
    records = []
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        key = json.dumps({k: values[k] for k in load.key}, default=str)
        data = {c: values[c] for c in load.columns}
        records.append((load.target, key, values["_reject_reason"], json.dumps(data, default=str),
                        values["_commit_version"]))
    db.executemany("INSERT INTO vigil.load_reject (table_name, key_value, reason, row_json, commit_version, "
                   "rejected_at) VALUES (?, ?, ?, ?, ?, SYSUTCDATETIME())", records)
    return len(records)


def _watermark(db: Database, target: str) -> int | None:
    rows = db.query("SELECT last_version FROM vigil.load_watermark WHERE target_table = ?", (target,))
    db.commit()  # ODBC opened a transaction for the read
    return rows[0][0] if rows else None


def _set_watermark(db: Database, load: Load, version: int, committed_at: datetime | None,
                   result: TableLoad) -> None:
    db.run("DELETE FROM vigil.load_watermark WHERE target_table = ?", (load.target,))
    db.run("INSERT INTO vigil.load_watermark (target_table, source_table, last_version, source_committed_at, "
           "rows_loaded, rows_rejected, loaded_at) VALUES (?, ?, ?, ?, ?, ?, SYSUTCDATETIME())",
           (load.target, load.source, version, committed_at, result.rows_merged, result.rows_rejected))


# --- the Delta side -----------------------------------------------------------------------------

def _delta_table(spark, settings, name: str):
    from delta.tables import DeltaTable

    if settings.catalog:
        identifier = settings.table_identifier(name)
        return DeltaTable.forName(spark, identifier) if spark.catalog.tableExists(
            identifier.replace("`", "")) else None
    path = settings.table_path(name)
    return DeltaTable.forPath(spark, path) if DeltaTable.isDeltaTable(spark, path) else None


def _latest_version(delta) -> tuple[int, datetime]:
    from pyspark.sql import functions as F

    row = delta.history(1).select("version", F.col("timestamp").cast("double").alias("ts")).first()
    return row.version, datetime.fromtimestamp(row.ts, UTC).replace(tzinfo=None)


def read_changes(spark, settings, load: Load, start: int | None, end: int):
    """The rows to stage: a snapshot at `end` (start None) or the last change per key in start..end."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    reader = spark.read.format("delta")
    if start is None:
        frame = _read(reader.option("versionAsOf", end), settings, load.source)
        frame = frame.withColumn("_change_type", F.lit("insert")).withColumn("_commit_version", F.lit(end))
    else:
        reader = reader.option("readChangeFeed", "true").option("startingVersion", start)
        frame = _read(reader.option("endingVersion", end), settings, load.source)
        frame = frame.where(F.col("_change_type") != "update_preimage")
        survives = F.when(F.col("_change_type") == "delete", 0).otherwise(1)
        latest_first = Window.partitionBy(*load.key).orderBy(F.col("_commit_version").desc(), survives.desc())
        frame = frame.withColumn("_rank", F.row_number().over(latest_first)).where("_rank = 1")
    timezone = spark.conf.get("spark.sql.session.timeZone")
    return frame.select(
        *[_serving_column(F, name, spark_type, timezone) for name, spark_type in load.column_types.items()],
        F.col("_change_type"),
        F.col("_commit_version").cast("bigint").alias("_commit_version"),
        F.lit(None).cast("string").alias("_reject_reason"),
    )


def _read(reader, settings, name: str):
    return reader.table(settings.table_identifier(name)) if settings.catalog else reader.load(
        settings.table_path(name))


def _serving_column(F, name: str, spark_type: str, timezone: str):  # noqa: N803 - pyspark's F
    column = F.col(f"`{name}`")
    upper = spark_type.upper()
    if upper.startswith("ARRAY"):
        return F.to_json(column).alias(name)  # SQL keeps arrays as JSON text
    if upper == "TIMESTAMP":  # UTC wall-clock, as DATETIME2 holds it
        return F.to_utc_timestamp(column, timezone).cast("timestamp_ntz").alias(name)
    return column.alias(name)


class SparkChanges(Changes):
    """A DataFrame of changes, written once as Parquet (DuckDB) or streamed as row batches (ODBC)."""

    def __init__(self, frame, folder: str) -> None:
        self.frame = frame
        self.folder = folder
        self._written = False

    def parquet_dir(self) -> str | None:
        if not self._written:
            self.frame.write.mode("overwrite").parquet(self.folder)
            self._written = True
        return self.folder if glob.glob(str(Path(self.folder) / "*.parquet")) else None

    def row_batches(self, size: int) -> Iterable[list[tuple]]:
        batch = []
        for row in self.frame.toLocalIterator():
            batch.append(tuple(row))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


# --- a look at the result -------------------------------------------------------------------------

def preview_views(settings, *, rows: int = 3, views: Sequence[str] = VIEWS,
                  db: Database | None = None) -> str:
    """A few rows of each Power BI view, as text (the demo prints it)."""
    db = db or database_for(settings, read_only=True)
    if getattr(db, "path", None) and not Path(db.path).exists():
        return f"no serving database yet at {db.path}: run `python -m jobs.serving load`"
    out = []
    with db:
        for view in views:
            total = db.query(f"SELECT COUNT(*) FROM vigil.{view}")[0][0]
            sample = db.query(f"SELECT TOP {int(rows)} * FROM vigil.{view}")
            out.append(f"vigil.{view}: {total} rows")
            out.append("  " + " | ".join(db.last_columns))
            out.extend("  " + " | ".join(_short(v) for v in row) for row in sample)
    return "\n".join(out)


def _short(value, width: int = 24) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
