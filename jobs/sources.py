"""Where raw events come from: Kafka (the local broker or Event Hubs' Kafka endpoint) or a
landing folder of JSON-lines files. Chosen by parameters and the profile, at the edge; every
source returns the same columns, the bronze table's, so nothing downstream knows which ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.settings import Settings

SOURCES = ("kafka", "files")
# The Kafka client inside Databricks Runtime is shaded; open-source Spark's is not.
_PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
_SHADED_PLAIN_LOGIN = "kafkashaded." + _PLAIN_LOGIN


EVENTHUBS_AUTH = ("service_credential", "oauth", "connection_string")


@dataclass(frozen=True)
class SourceParams:
    source: str = "kafka"  # kafka | files
    max_offsets_per_trigger: int | None = None  # Kafka: rows per micro-batch
    max_files_per_trigger: int | None = None  # files: files per micro-batch
    starting_offsets: str = "earliest"
    # Event Hubs' Kafka endpoint. The deployed namespace disables SAS keys (infra/bicep), so
    # the default is Entra ID through a Unity Catalog service credential on the access
    # connector; `oauth` uses a service principal; `connection_string` suits namespaces
    # that still allow SAS. Secrets come from a secret scope, never from the repo.
    eventhubs_auth: str = "service_credential"
    service_credential: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    connection_string: str | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}: use one of {', '.join(SOURCES)}")
        if self.eventhubs_auth not in EVENTHUBS_AUTH:
            raise ValueError(f"unknown Event Hubs auth {self.eventhubs_auth!r}: "
                             f"use one of {', '.join(EVENTHUBS_AUTH)}")


def read_events(spark: SparkSession, settings: Settings, params: SourceParams) -> DataFrame:
    """A streaming DataFrame of raw events with the bronze table's columns."""
    if params.source == "kafka":
        return kafka_to_bronze(_kafka_stream(spark, settings, params), settings)
    return files_to_bronze(_files_stream(spark, settings, params))


def kafka_options(settings: Settings, params: SourceParams) -> dict[str, str]:
    """Options for Spark's Kafka source: plain locally, SASL_SSL against Event Hubs."""
    if not settings.kafka_bootstrap:
        raise ValueError("no Kafka bootstrap configured: start the local broker (`make kafka-start`)")
    options = {
        "kafka.bootstrap.servers": settings.kafka_bootstrap,
        "subscribe": settings.topic,
        "startingOffsets": params.starting_offsets,
        "includeHeaders": "true",
        # A deleted topic or expired retention is data loss; say so instead of skipping.
        "failOnDataLoss": "true",
    }
    if params.max_offsets_per_trigger:
        options["maxOffsetsPerTrigger"] = str(params.max_offsets_per_trigger)
    if not settings.is_local:
        options.update(eventhubs_kafka_options(params, settings.kafka_bootstrap))
    options.update(settings.kafka_options)
    return options


def eventhubs_kafka_options(params: SourceParams, bootstrap: str) -> dict[str, str]:
    """Authentication options for the Event Hubs Kafka endpoint (port 9093, SASL_SSL)."""

    def need(field: str) -> str:
        value = getattr(params, field)
        if not value:
            raise ValueError(f"Event Hubs auth {params.eventhubs_auth!r} needs {field} "
                             f"(read it from the job's secret scope)")
        return value

    if params.eventhubs_auth == "service_credential":
        # Databricks Runtime 16.1+ signs in with the credential's managed identity itself.
        return {"databricks.serviceCredential": need("service_credential")}
    options = {"kafka.security.protocol": "SASL_SSL", "kafka.request.timeout.ms": "60000",
               "kafka.session.timeout.ms": "30000"}
    if params.eventhubs_auth == "connection_string":
        login = _SHADED_PLAIN_LOGIN if "DATABRICKS_RUNTIME_VERSION" in os.environ else _PLAIN_LOGIN
        options.update({
            "kafka.sasl.mechanism": "PLAIN",
            "kafka.sasl.jaas.config": f'{login} required username="$ConnectionString" '
                                      f'password="{need("connection_string")}";',
        })
        return options
    # oauth: client-credentials flow against Entra ID for the namespace's audience.
    prefix = "kafkashaded." if "DATABRICKS_RUNTIME_VERSION" in os.environ else ""
    namespace = bootstrap.rsplit(":", 1)[0]
    options.update({
        "kafka.sasl.mechanism": "OAUTHBEARER",
        "kafka.sasl.oauthbearer.token.endpoint.url":
            f"https://login.microsoftonline.com/{need('tenant_id')}/oauth2/v2.0/token",
        # the name since Kafka 3.4; the older `…oauthbearer.secured.` one is gone in Kafka 4
        "kafka.sasl.login.callback.handler.class":
            f"{prefix}org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        "kafka.sasl.jaas.config":
            f"{prefix}org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
            f'clientId="{need("client_id")}" clientSecret="{need("client_secret")}" '
            f'scope="https://{namespace}/.default";',
    })
    return options


def _kafka_stream(spark, settings, params) -> DataFrame:
    return spark.readStream.format("kafka").options(**kafka_options(settings, params)).load()


def _files_stream(spark, settings, params) -> DataFrame:
    """JSON-lines landing files read as text, one event per line: parsing belongs to silver."""
    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        reader = (spark.readStream.format("cloudFiles").option("cloudFiles.format", "text")
                  .option("cloudFiles.includeExistingFiles", "true"))
        if params.max_files_per_trigger:
            reader = reader.option("cloudFiles.maxFilesPerTrigger", params.max_files_per_trigger)
    else:
        reader = spark.readStream.format("text")
        if params.max_files_per_trigger:
            reader = reader.option("maxFilesPerTrigger", params.max_files_per_trigger)
    # Only complete files: writers rename `*.tmp` to `*.jsonl` when done.
    return (reader.option("recursiveFileLookup", "true").option("pathGlobFilter", "*.jsonl")
            .load(settings.landing_root))


def _headers_by_key(headers: Column) -> Column:
    """Each Kafka header (key, binary value) with its position, sorted by key and, within a
    key, latest first."""
    return F.array_sort(F.transform(headers, lambda h, i: F.struct(
        h["key"].alias("k"), (-i).alias("latest_first"), h["value"].cast("string").alias("v"))))


def _header_map(headers: Column, by_key: Column) -> Column:
    """Kafka headers as a map of strings; last value per key wins, as Kafka clients'
    `lastHeader` reads them. Kafka lets a key repeat (each hop of a tracer may add its own),
    and Spark's map builders raise on a repeated key: the stream would stop at that event on
    every restart. So only each key's last entry goes in: the first of its run in `by_key`
    (`_headers_by_key`, a column of its own, so that the lambda reads it rather than sorting
    again for each header). Comparing each header with all later ones instead took 127 s for
    one event of 16,000 headers, which fit in one Kafka message; sorted, 64,000 take 1 s."""
    last = F.filter(by_key, lambda e, i: (i == 0) | (by_key[i - 1]["k"] != e["k"]))
    return F.when(headers.isNull(), F.create_map().cast("map<string,string>")).otherwise(
        F.map_from_entries(F.transform(last, lambda e: F.struct(e["k"], e["v"])))
    )


def kafka_to_bronze(raw: DataFrame, settings: Settings) -> DataFrame:
    """Kafka source rows → bronze columns. Pure: no parsing, nothing dropped."""
    ingested = F.current_timestamp()
    return raw.withColumn("_headers_by_key", _headers_by_key(F.col("headers"))).select(
        F.concat_ws("/", "topic", F.col("partition").cast("string"), F.col("offset").cast("string"))
        .alias("bronze_id"),
        F.col("key").cast("string").alias("key"),
        F.col("value").alias("payload"),
        _header_map(F.col("headers"), F.col("_headers_by_key")).alias("headers"),
        F.lit("kafka" if settings.is_local else "eventhubs").alias("source"),
        "topic",
        F.col("partition").cast("int").alias("partition"),
        F.col("offset").cast("long").alias("offset"),
        F.col("timestamp").alias("enqueued_at"),
        F.lit(None).cast("string").alias("file_path"),
        ingested.alias("ingested_at"),
        F.to_date(ingested).alias("ingest_date"),
    )


def files_to_bronze(raw: DataFrame) -> DataFrame:
    """Text-source rows (one per line) → bronze columns.

    Spark's text source gives no line number, and identical lines (re-sent duplicates) may
    share a file, so each line's delivery gets a UUID after its file path. A failed batch is
    rewritten whole by the Delta sink, so a re-run cannot leave two ids for one line.
    """
    ingested = F.current_timestamp()
    path = F.col("_metadata.file_path")
    with_ids = raw.select(
        F.col("value"), path.alias("file_path"),
        F.col("_metadata.file_modification_time").alias("enqueued_at"),
    )
    return with_ids.select(
        F.concat(F.col("file_path"), F.lit("#"), F.expr("uuid()")).alias("bronze_id"),
        F.get_json_object("value", "$.safetyreportid").alias("key"),
        # the line's bytes as read: `encode` would replace bytes that are no UTF-8 with U+FFFD,
        # and silver could no longer tell such a line from a good one
        F.col("value").cast("binary").alias("payload"),
        F.create_map().cast("map<string,string>").alias("headers"),
        F.lit("files").alias("source"),
        F.lit(None).cast("string").alias("topic"),
        F.lit(None).cast("int").alias("partition"),
        F.lit(None).cast("long").alias("offset"),
        "enqueued_at",
        "file_path",
        ingested.alias("ingested_at"),
        F.to_date(ingested).alias("ingest_date"),
    )

