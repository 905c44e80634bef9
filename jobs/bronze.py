"""Bronze: every event exactly as received, plus where and when it came from. Append-only;
never parses, never drops. Exactly once through the Delta sink's checkpointed commits."""

from __future__ import annotations

from pyspark.sql import SparkSession

from jobs import tables
from jobs.settings import Settings
from jobs.sources import SourceParams, read_events


def start(spark: SparkSession, settings: Settings, source: SourceParams, trigger: dict,
          query_name: str = "bronze"):
    tables.ensure(spark, settings, tables.BRONZE_RAW)
    writer = (
        read_events(spark, settings, source)
        .writeStream.queryName(query_name)
        .format("delta")
        .outputMode("append")
        .option("checkpointLocation", f"{settings.checkpoint_root}/{query_name}-{source.source}")
        .trigger(**trigger)
    )
    if settings.catalog:
        return writer.toTable(f"{settings.catalog}.{tables.BRONZE_RAW.name}")
    return writer.start(settings.table_path(tables.BRONZE_RAW.name))
