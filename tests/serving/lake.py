"""A small hand-made lake for the serving tests: write Delta tables the way the pipeline does
(MERGE reports; delete and re-insert a report's child rows), then compare SQL with Delta."""

from __future__ import annotations

import json
from datetime import date, datetime

from jobs import tables
from jobs.serving.targets import BY_TARGET, Load
from jobs.settings import Settings


def report(rid: str, version: int = 1, **values) -> dict:
    return {"safetyreportid": rid, "safetyreportversion": version, "receivedate": date(2024, 3, 1),
            "serious": True, "occurcountry": "US", "patient_sex": "female", "patient_age_years": 61.0,
            "patient_age_group": "adult", "drug_count": 1, "reaction_count": 1,
            "silver_updated_at": datetime(2024, 3, 2, 10, 0, 0), **values}


def drug(rid: str, seq: int, version: int = 1, **values) -> dict:
    return {"safetyreportid": rid, "safetyreportversion": version, "drug_seq": seq,
            "medicinalproduct": "Tylenol", "product_name": "TYLENOL", "generic_name": "ACETAMINOPHEN",
            "drugcharacterization": 1, "dose_mg": 500.0, "receivedate": date(2024, 3, 1), **values}


def reaction(rid: str, seq: int, version: int = 1, **values) -> dict:
    return {"safetyreportid": rid, "safetyreportversion": version, "reaction_seq": seq,
            "reactionmeddrapt": "Nausea", "reactionoutcome": 1, "receivedate": date(2024, 3, 1), **values}


def flags(rid: str, version: int = 1, **values) -> dict:
    return {"safetyreportid": rid, "safetyreportversion": version, "receivedate": date(2024, 3, 1),
            "is_overdose": False, "overdose_reasons": [], "suspect_generic_names": ["ACETAMINOPHEN"],
            "gold_updated_at": datetime(2024, 3, 2, 10, 0, 0), **values}


def drug_daily(generic_name: str | None, country: str | None, reports: int, **values) -> dict:
    return {"receivedate": date(2024, 3, 1), "generic_name": generic_name, "occurcountry": country,
            "reports": reports, "overdoses": 0, **values}


class Lake:
    """Delta tables under one data root, written like the pipeline writes them."""

    def __init__(self, spark, settings: Settings) -> None:
        self.spark = spark
        self.settings = settings

    def frame(self, table: tables.Table, rows: list[dict]):
        columns = table.columns
        return self.spark.createDataFrame([tuple(r.get(c) for c in columns) for r in rows], table.schema)

    def merge(self, table: tables.Table, rows: list[dict]) -> None:
        """MERGE by key: update matched rows, insert new ones (silver report, gold tables)."""
        from delta.tables import DeltaTable

        tables.ensure(self.spark, self.settings, table)
        target = DeltaTable.forPath(self.spark, self.settings.table_path(table.name))
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in table.key)
        (target.alias("t").merge(self.frame(table, rows).alias("s"), on)
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())

    def replace_children(self, table: tables.Table, report_ids: list[str], rows: list[dict]) -> None:
        """A follow-up version: delete the reports' old child rows, insert the new ones."""
        from delta.tables import DeltaTable

        tables.ensure(self.spark, self.settings, table)
        target = DeltaTable.forPath(self.spark, self.settings.table_path(table.name))
        if report_ids:
            target.delete("safetyreportid IN ({})".format(", ".join(f"'{r}'" for r in report_ids)))
        if rows:
            self.frame(table, rows).write.format("delta").mode("append").save(
                self.settings.table_path(table.name))

    def delete(self, table: tables.Table, condition: str) -> None:
        from delta.tables import DeltaTable

        DeltaTable.forPath(self.spark, self.settings.table_path(table.name)).delete(condition)

    def truth(self, load: Load) -> set[tuple]:
        """The Delta table's rows as the serving target should hold them."""
        frame = self.spark.read.format("delta").load(self.settings.table_path(load.source))
        return {normalize(load, tuple(row[c] for c in load.columns)) for row in frame.collect()}


def normalize(load: Load, row: tuple) -> tuple:
    out = []
    for spark_type, value in zip(load.column_types.values(), row, strict=True):
        if spark_type.upper().startswith("ARRAY") and isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, list):
            value = tuple(value)
        out.append(value)
    return tuple(out)


def served(db, target: str) -> set[tuple]:
    load = BY_TARGET[target]
    cols = ", ".join(f"[{c}]" for c in load.columns)
    return {normalize(load, row) for row in db.query(f"SELECT {cols} FROM vigil.{target}")}
