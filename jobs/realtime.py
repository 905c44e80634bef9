"""Low latency: bronze, silver and gold flags in one streaming query.

The staged job runs one query per stage, each reading the table the stage before wrote, so a
report waits for every stage's trigger and Delta round trip in turn — and on a small cluster
the stages compete for the same cores. Here each micro-batch of the source goes through all
three at once: appended to bronze, parsed into silver and quarantine (`silver.SilverWriter`),
and the reports it changes flagged in gold (`gold.FlagsWriter`) straight from the batch's own
rows, beside the drug and reaction rows and before silver's report rows: the same tables,
written by the same code, without reading silver back.

Every write is idempotent — an append per batch id (Delta txn app id + version, the app id
carrying the query's id from the checkpoint), a MERGE by content — so a restart re-runs an
interrupted batch without writing anything twice; the report rows, written last, mark a
batch's work on them complete, so a re-run finds the same winners and writes the same flags.
The daily aggregates keep their own query (`start_aggregates`): dashboards read them, alerts
do not wait for them. It follows silver's report changes, not the flags' — a flags row here
commits before the silver rows the aggregates join it with, and a day recomputed in between
would miss them.

Kafka / Event Hubs only: a landing file's lines get random delivery ids (see
`sources.files_to_bronze`), which a re-run would not reproduce; files go through the staged job.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from jobs import gold, silver, tables
from jobs.settings import Settings
from jobs.sources import SourceParams, read_events

APP_ID = "vigil-realtime"


class RealtimeWriter:
    def __init__(self, spark: SparkSession, settings: Settings):
        for table in (tables.BRONZE_RAW, *tables.ALL):
            tables.ensure(spark, settings, table)
        self.settings = settings
        self.silver = silver.SilverWriter(spark, settings, app_id=f"{APP_ID}-silver")
        self.flags = gold.FlagsWriter(spark, settings, app_id=f"{APP_ID}-gold")

    def process_batch(self, batch: DataFrame, batch_id: int) -> None:
        rows = batch.persist()  # read from the source once, for bronze and for silver
        try:
            bronze_txn = tables.batch_txn(rows, f"{APP_ID}-bronze", batch_id)
            flags_txn = tables.batch_txn(rows, f"{APP_ID}-flags", batch_id)
            # bronze beside silver and gold: nothing downstream reads it in this query
            tables.concurrently(
                lambda: tables.append(rows, self.settings, tables.BRONZE_RAW, txn=bronze_txn),
                lambda: self.silver.upsert_batch(
                    rows, batch_id,
                    before_reports=lambda changes: self.flags.flag_silver_changes(changes, flags_txn)),
            )
        finally:
            rows.unpersist()


def start(spark: SparkSession, settings: Settings, source: SourceParams, trigger: dict,
          query_name: str = "realtime"):
    """Stream the source → bronze + silver + quarantine + gold flags, batch by batch."""
    if source.source != "kafka":
        raise ValueError("the low-latency query reads Kafka or Event Hubs; landing files go "
                         "through the staged job (bronze, silver, gold)")
    writer = RealtimeWriter(spark, settings)
    return (
        read_events(spark, settings, source)
        .writeStream.queryName(query_name)
        .foreachBatch(writer.process_batch)
        .option("checkpointLocation", f"{settings.checkpoint_root}/{query_name}")
        .trigger(**trigger)
        .start()
    )


def start_aggregates(spark: SparkSession, settings: Settings, trigger: dict):
    """The daily aggregates of the days silver's report changes touch (see the module's note)."""
    return gold.start_aggregates(spark, settings, trigger, query_name="realtime_aggregates",
                                 follow=tables.REPORT)


def start_with_aggregates(spark: SparkSession, settings: Settings, source: SourceParams,
                          trigger: dict, aggregates_trigger: dict | None = None) -> list:
    """The low-latency query and, beside it, its aggregates query (processing-time triggers;
    for availableNow see `run_available_now`)."""
    return [start(spark, settings, source, trigger),
            start_aggregates(spark, settings, aggregates_trigger or trigger)]


def run_available_now(spark: SparkSession, settings: Settings, source: SourceParams) -> list:
    """Everything available now, then the aggregates of what it flagged."""
    from jobs.pipeline import await_run

    trigger = {"availableNow": True}
    return [await_run(start(spark, settings, source, trigger)),
            await_run(start_aggregates(spark, settings, trigger))]
