"""Prove the platform works end to end: Delta writes, MERGE and time travel, and a message
produced to the event transport read back by Spark's Kafka source.

The demo and `notebooks/00_platform_check.ipynb` both call `run`; its result is one row per
check so that it can be displayed anywhere.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.settings import Settings

CHECK_TABLE = "ops.platform_check"
CHECK_TOPIC = "vigil-platform-check"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def run(spark: SparkSession, settings: Settings) -> DataFrame:
    checks = [_timed("delta_write_merge_time_travel", lambda: delta_round_trip(spark, settings))]
    if settings.kafka_bootstrap:
        checks.append(_timed("kafka_to_spark", lambda: kafka_round_trip(spark, settings)))
    else:
        checks.append(Check("kafka_to_spark", False, "no Kafka bootstrap configured", 0.0))
    return spark.createDataFrame(
        [(c.name, c.ok, c.detail, round(c.seconds, 2)) for c in checks],
        "check string, ok boolean, detail string, seconds double",
    )


def delta_round_trip(spark: SparkSession, settings: Settings) -> str:
    """Overwrite, MERGE an update and an insert, then read the first version back."""
    from delta.tables import DeltaTable

    path = settings.table_path(CHECK_TABLE)
    first = spark.createDataFrame([(1, "one"), (2, "two")], "id int, word string")
    first.write.format("delta").mode("overwrite").save(path)
    base_version = DeltaTable.forPath(spark, path).history(1).first()["version"]

    changes = spark.createDataFrame([(2, "TWO"), (3, "three")], "id int, word string")
    (
        DeltaTable.forPath(spark, path).alias("t")
        .merge(changes.alias("s"), "t.id = s.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    now = {r.id: r.word for r in spark.read.format("delta").load(path).collect()}
    before = spark.read.format("delta").option("versionAsOf", base_version).load(path).count()
    expected = {1: "one", 2: "TWO", 3: "three"}
    if now != expected or before != 2:
        raise AssertionError(f"Delta round trip read back {now} (version {base_version}: {before} rows)")
    return f"3 rows after MERGE, 2 rows at version {base_version} by time travel"


def kafka_round_trip(spark: SparkSession, settings: Settings) -> str:
    """Write a message with Spark's Kafka sink, stream it back with `availableNow` into Delta."""
    token = uuid.uuid4().hex
    options = {"kafka.bootstrap.servers": settings.kafka_bootstrap, **settings.kafka_options}
    (
        spark.createDataFrame([(token, f'{{"check": "{token}"}}')], "key string, value string")
        .write.format("kafka").options(**options).option("topic", CHECK_TOPIC).save()
    )
    landed = settings.table_path("ops.platform_check_kafka")
    query = (
        spark.readStream.format("kafka").options(**options)
        .option("subscribe", CHECK_TOPIC)
        .option("startingOffsets", "earliest")
        .load()
        .select(F.col("key").cast("string"), F.col("value").cast("string"), "partition", "offset")
        .writeStream.format("delta")
        .option("checkpointLocation", f"{settings.checkpoint_root}/platform_check_kafka")
        .trigger(availableNow=True)
        .start(landed)
    )
    query.awaitTermination(120)
    got = spark.read.format("delta").load(landed).where(F.col("key") == token).collect()
    if len(got) != 1:
        raise AssertionError(f"expected the message {token} once in {landed}, found {len(got)}")
    row = got[0]
    return f"message {token[:8]} read back from {CHECK_TOPIC} partition {row.partition} offset {row.offset}"


def _timed(name: str, check) -> Check:
    started = time.monotonic()
    try:
        detail = check()
        return Check(name, True, detail, time.monotonic() - started)
    except Exception as err:  # a failed check is a result to show, not a crash
        return Check(name, False, f"{type(err).__name__}: {err}", time.monotonic() - started)
