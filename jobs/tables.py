"""Every Delta table Vigil writes: its name, its columns, its key. One place, so that the
pipeline, the signal job, the serving load and the SQL star model all agree.

Column names follow openFDA where the value is openFDA's (`safetyreportid`, `reactionmeddrapt`,
`drugcharacterization`, …) and say their unit where Vigil derives one (`patient_age_years`,
`patient_weight_kg`). The same name is used in Delta, in SQL and in Power BI.

Dates that openFDA gives partially (`201602`, `2009`) are stored as the first day of the
period, with the precision beside them (`receivedate_precision`: day, month or year).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import StructType


@dataclass(frozen=True)
class Table:
    name: str  # <layer>.<subject>
    ddl: str  # Spark DDL of the columns, in order
    key: tuple[str, ...]  # the columns that identify one row
    change_data_feed: bool = False  # the serving load reads this table's changes
    # The columns Delta keeps file statistics (min/max/nulls) on, for skipping files: those
    # that reads filter on. Empty: Delta's default, the first 32 columns (the small daily
    # aggregates keep it). Every written row updates the statistics of every such column
    # (measured: 5-15% less CPU for the low-latency query than with the default,
    # docs/BENCHMARKS.md, session 8).
    stats_columns: tuple[str, ...] = ()

    @property
    def schema(self) -> StructType:
        """The Spark schema (needs an active SparkSession to parse the DDL)."""
        return StructType.fromDDL(self.ddl)

    @property
    def column_types(self) -> dict[str, str]:
        """Column name → Spark SQL type, without Spark (the serving side has none)."""
        columns, depth, start = {}, 0, 0
        for i, ch in enumerate(self.ddl + ","):
            depth += {"<": 1, ">": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                name, _, sql_type = self.ddl[start:i].strip().partition(" ")
                columns[name.strip("`")] = sql_type.strip()
                start = i + 1
        return columns

    @property
    def columns(self) -> list[str]:
        return list(self.column_types)


def _ddl(*columns: str) -> str:
    return ", ".join(columns)


SOURCE_COLUMNS = (
    "source STRING",  # kafka | eventhubs | files
    "topic STRING",  # Kafka topic / event hub; null for files
    "`partition` INT",
    "`offset` BIGINT",
    "enqueued_at TIMESTAMP",  # broker / Event Hubs enqueued time
    "file_path STRING",  # landing file for the files source
    "ingested_at TIMESTAMP",  # when bronze committed the event
)

BRONZE_RAW = Table(
    "bronze.adverse_event_raw",
    _ddl(
        "bronze_id STRING",  # <topic>/<partition>/<offset>, or <file>#<line>: unique per delivery
        "key STRING",
        "payload BINARY",  # exactly as received; bronze never parses
        "headers MAP<STRING, STRING>",
        *SOURCE_COLUMNS,
        "ingest_date DATE",
    ),
    key=("bronze_id",),
    stats_columns=("bronze_id", "enqueued_at", "ingest_date"),
)

REPORT = Table(
    "silver.adverse_event_report",
    _ddl(
        "safetyreportid STRING",
        "safetyreportversion INT",
        "receivedate DATE",
        "receivedate_precision STRING",
        "receiptdate DATE",
        "transmissiondate DATE",
        "serious BOOLEAN",
        "seriousnessdeath BOOLEAN",
        "seriousnesslifethreatening BOOLEAN",
        "seriousnesshospitalization BOOLEAN",
        "seriousnessdisabling BOOLEAN",
        "seriousnesscongenitalanomali BOOLEAN",
        "seriousnessother BOOLEAN",
        "reporttype INT",
        "occurcountry STRING",
        "reportercountry STRING",
        "qualification INT",  # primarysource.qualification
        "senderorganization STRING",
        "patient_age_years DOUBLE",
        "patient_age_group STRING",  # neonate … elderly, from age or patientagegroup
        "patient_sex STRING",  # male | female | unknown
        "patient_weight_kg DOUBLE",
        "patient_death_date DATE",
        "drug_count INT",
        "reaction_count INT",
        "payload_sha256 STRING",  # identity of the version's content: exact duplicates match
        "bronze_id STRING",  # the delivery this version came from
        "enqueued_at TIMESTAMP",
        "ingested_at TIMESTAMP",
        "silver_updated_at TIMESTAMP",
    ),
    key=("safetyreportid",),
    change_data_feed=True,
    stats_columns=("safetyreportid", "receivedate"),
)

DRUG = Table(
    "silver.adverse_event_drug",
    _ddl(
        "safetyreportid STRING",
        "safetyreportversion INT",
        "drug_seq INT",  # position in patient.drug, from 1
        "medicinalproduct STRING",  # as reported
        "product_name STRING",  # trimmed, upper-cased
        "generic_name STRING",  # from the reference data, else null
        "drugcharacterization INT",  # 1 suspect, 2 concomitant, 3 interacting
        "drugindication STRING",
        "drugdosagetext STRING",
        "dose_amount DOUBLE",  # drugstructuredosagenumb, else read from the dosage text
        "dose_unit STRING",  # mg, ug, g, … from drugstructuredosageunit (or the text)
        "dose_mg DOUBLE",  # the dose in mg where the unit converts
        "daily_dose_mg DOUBLE",  # dose × doses per day where the interval (or the text) says so
        "drugadministrationroute STRING",
        "actiondrug INT",
        "receivedate DATE",
        "silver_updated_at TIMESTAMP",
        # structured | dosage text | structured, frequency from text (silver.drug_rows); this
        # and the columns after it came later, and a table made before them gets them at its
        # end (`ensure`)
        "dose_source STRING",
        "drugdosageform STRING",  # as reported: TABLET, GEL, TRANSDERMAL PATCH, …
        # dose × doses per day in `dose_unit`: the daily dose of a unit with no mg equivalent
        # (2 DF, 40 IU) as well
        "daily_dose_amount DOUBLE",
    ),
    key=("safetyreportid", "drug_seq"),
    change_data_feed=True,
    stats_columns=("safetyreportid", "receivedate"),
)

REACTION = Table(
    "silver.adverse_event_reaction",
    _ddl(
        "safetyreportid STRING",
        "safetyreportversion INT",
        "reaction_seq INT",
        "reactionmeddrapt STRING",  # MedDRA preferred term, as reported (British spelling)
        "reactionoutcome INT",  # 1 recovered … 5 fatal, 6 unknown
        "receivedate DATE",
        "silver_updated_at TIMESTAMP",
    ),
    key=("safetyreportid", "reaction_seq"),
    change_data_feed=True,
    stats_columns=("safetyreportid", "receivedate"),
)

QUARANTINE = Table(
    "silver.quarantine",
    _ddl(
        "bronze_id STRING",
        "safetyreportid STRING",  # when it could be read
        "payload BINARY",
        "payload_text STRING",  # the payload as UTF-8 where it decodes, for people to read
        "broken_rules ARRAY<STRING>",
        "error STRING",
        *SOURCE_COLUMNS,
        "quarantined_at TIMESTAMP",
    ),
    key=("bronze_id",),
    change_data_feed=True,
    stats_columns=("bronze_id", "enqueued_at", "quarantined_at"),
)

FLAGS = Table(
    "gold.adverse_event_flags",
    _ddl(
        "safetyreportid STRING",
        "safetyreportversion INT",
        "receivedate DATE",
        "occurcountry STRING",
        "serious BOOLEAN",
        "is_death BOOLEAN",
        "is_overdose BOOLEAN",
        "overdose_reasons ARRAY<STRING>",
        "overdose_intent STRING",  # intentional | accidental | unknown; null when no overdose
        "is_anomaly BOOLEAN",
        "anomaly_reasons ARRAY<STRING>",
        "suspect_generic_names ARRAY<STRING>",
        "gold_updated_at TIMESTAMP",
    ),
    key=("safetyreportid",),
    change_data_feed=True,
    stats_columns=("safetyreportid", "receivedate"),
)

# Daily aggregates for the dashboards, by event date (receivedate). Counts are of distinct
# reports; a report with two suspect drugs counts once for each drug.
_COUNTS = (
    "reports BIGINT",
    "serious_reports BIGINT",
    "deaths BIGINT",
    "overdoses BIGINT",
    "anomalies BIGINT",
    "gold_updated_at TIMESTAMP",
)

DRUG_DAILY = Table(
    "gold.drug_daily",
    _ddl("receivedate DATE", "generic_name STRING", "occurcountry STRING", *_COUNTS),
    key=("receivedate", "generic_name", "occurcountry"),
    change_data_feed=True,
)

DRUG_REACTION_DAILY = Table(  # the common reactions per drug
    "gold.drug_reaction_daily",
    _ddl("receivedate DATE", "generic_name STRING", "reactionmeddrapt STRING", *_COUNTS),
    key=("receivedate", "generic_name", "reactionmeddrapt"),
    change_data_feed=True,
)

REACTION_DEMOGRAPHIC_DAILY = Table(  # the age groups and sexes most affected per reaction
    "gold.reaction_demographic_daily",
    _ddl(
        "receivedate DATE", "reactionmeddrapt STRING", "patient_age_group STRING",
        "patient_sex STRING", *_COUNTS,
    ),
    key=("receivedate", "reactionmeddrapt", "patient_age_group", "patient_sex"),
    change_data_feed=True,
)

COUNTRY_DAILY = Table(
    "gold.country_daily",
    _ddl("receivedate DATE", "occurcountry STRING", *_COUNTS),
    key=("receivedate", "occurcountry"),
    change_data_feed=True,
)

ALL = (
    BRONZE_RAW, REPORT, DRUG, REACTION, QUARANTINE, FLAGS,
    DRUG_DAILY, DRUG_REACTION_DAILY, REACTION_DEMOGRAPHIC_DAILY, COUNTRY_DAILY,
)
BY_NAME = {t.name: t for t in ALL}


def ensure(spark, settings, table: Table) -> str:
    """Create the table if it does not exist (with Change Data Feed where the serving load
    reads changes, and its statistics columns) and return the identifier Spark SQL reads it by.
    A table made by an earlier version gets the columns it lacks, at its end (null in its old
    rows); it keeps its properties (`ALTER TABLE … SET TBLPROPERTIES` changes them)."""
    identifier = settings.table_identifier(table.name)
    properties = []
    if table.change_data_feed:
        properties.append("'delta.enableChangeDataFeed' = 'true'")
    if table.stats_columns:
        properties.append(f"'delta.dataSkippingStatsColumns' = '{','.join(table.stats_columns)}'")
    if settings.catalog:
        layer = table.name.split(".")[0]
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS `{settings.catalog}`.`{layer}`")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {identifier} ({table.ddl}) USING DELTA"
        + (f" TBLPROPERTIES ({', '.join(properties)})" if properties else "")
    )
    have = set(read(spark, settings, table).columns)
    missing = [f"`{c}` {t}" for c, t in table.column_types.items() if c not in have]
    if missing:
        spark.sql(f"ALTER TABLE {identifier} ADD COLUMNS ({', '.join(missing)})")
    return identifier


def delta_table(spark, settings, table: Table):
    """The DeltaTable handle for MERGEs: by name under Unity Catalog, by path locally."""
    from delta.tables import DeltaTable

    if settings.catalog:
        return DeltaTable.forName(spark, f"{settings.catalog}.{table.name}")
    return DeltaTable.forPath(spark, settings.table_path(table.name))


def read(spark, settings, table: Table):
    """The table's current rows (a batch read)."""
    return delta_table(spark, settings, table).toDF()


def read_pinned(spark, settings, table: Table):
    """The table's current rows, pinned to its current version. Delta re-caches the DataFrames
    that read a table when it writes to it, so a cached DataFrame read the plain way changes
    under a batch that writes the table; one read this way keeps its rows."""
    version = delta_table(spark, settings, table).history(1).select("version").first()[0]
    reader = spark.read.format("delta").option("versionAsOf", version)
    if settings.catalog:
        return reader.table(f"{settings.catalog}.{table.name}")
    return reader.load(settings.table_path(table.name))


def read_stream(spark, settings, table: Table, **options):
    """A streaming read of a Delta table (options such as readChangeFeed pass through)."""
    reader = spark.readStream.format("delta").options(**options)
    if settings.catalog:
        return reader.table(f"{settings.catalog}.{table.name}")
    return reader.load(settings.table_path(table.name))



def batch_txn(batch_df, app: str, batch_id: int) -> tuple[str, int]:
    """The (txnAppId, txnVersion) that makes a foreachBatch write idempotent: the app id carries
    the streaming query's id, which lives in the checkpoint — a restart keeps it (a re-run batch
    is skipped), a fresh checkpoint gets a new one (its batch ids, from 0 again, are not)."""
    query_id = batch_df.sparkSession.sparkContext.getLocalProperty("sql.streaming.queryId")
    return (f"{app}-{query_id}" if query_id else app), batch_id


def concurrently(*writes) -> None:
    """Run independent writes (to different tables) at once and wait for all; the first error
    is raised. A Delta commit of a small batch spends much of its time waiting on its log and
    the file system rather than on the cores, so a few overlap well (measured: three small
    appends 1.5 s one after another, 0.7 s at once). Threads inherit the caller's Spark local
    properties (scheduler pool, streaming query id). None stands for a write not needed."""
    from concurrent.futures import ThreadPoolExecutor

    from pyspark import inheritable_thread_target
    from pyspark.sql import SparkSession

    writes = [w for w in writes if w is not None]
    if len(writes) <= 1:
        for write in writes:
            write()
        return
    # the session itself, so that its tags are inherited too (foreachBatch's thread may have
    # no active session set: the running one is then the only one)
    session = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    inherit = inheritable_thread_target(session)
    with ThreadPoolExecutor(len(writes)) as pool:
        futures = [pool.submit(inherit(write)) for write in writes]
        for future in futures:
            future.result()


def merge_source(df):
    """`df`'s rows, computed now, as the source to give a Delta MERGE. Delta plans a MERGE's
    source again from its lineage and does not use Spark's cache for it (delta-io/delta#2011),
    so a source built on a micro-batch's cached rows parsed the batch's payloads again, three
    times for a child table's MERGE. A local checkpoint cuts the lineage (measured: 2,000
    events against 100,000 stored reports, the child and flags MERGEs 22-27 s each before,
    2.8-3.8 s after; docs/BENCHMARKS.md, session 14). Its blocks go when the DataFrame is
    garbage-collected."""
    return df.localCheckpoint(eager=True)


def append(df, settings, table: Table, txn: tuple[str, int] | None = None) -> None:
    """Append rows; with `txn` = (app id, batch id) a re-run of the same batch is skipped by
    Delta itself (idempotent writes in foreachBatch)."""
    writer = df.select(*table.columns).write.format("delta").mode("append")
    if txn:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", txn[1])
    if settings.catalog:
        writer.saveAsTable(f"{settings.catalog}.{table.name}")
    else:
        writer.save(settings.table_path(table.name))
