"""A message produced to the local broker is read back by Spark's Kafka source."""

import time
import uuid

import pytest
from confluent_kafka import Producer
from pyspark.sql import functions as F

pytestmark = [pytest.mark.spark, pytest.mark.kafka]


def _produce(bootstrap, topic, messages):
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in messages:
        producer.produce(topic, key=key, value=value, headers={"event_type": b"adverse_event"})
    assert producer.flush(30) == 0


def _stream(spark, bootstrap, topic):
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("includeHeaders", "true")
        .load()
        .select(
            F.col("key").cast("string").alias("key"),
            F.col("value").cast("string").alias("value"),
            F.col("headers")[0]["value"].cast("string").alias("event_type"),
        )
    )


def test_available_now_reads_every_message(spark, kafka_broker, tmp_path):
    topic = f"t-{uuid.uuid4().hex[:8]}"
    sent = [(f"{i:08d}", f'{{"safetyreportid": "{i:08d}"}}') for i in range(50)]
    _produce(kafka_broker.bootstrap, topic, sent)

    out = str(tmp_path / "landed")
    query = (
        _stream(spark, kafka_broker.bootstrap, topic).writeStream.format("delta")
        .option("checkpointLocation", str(tmp_path / "cp"))
        .trigger(availableNow=True)
        .start(out)
    )
    query.awaitTermination(120)
    rows = spark.read.format("delta").load(out).collect()
    assert sorted((r.key, r.value) for r in rows) == sent
    assert {r.event_type for r in rows} == {"adverse_event"}


def test_processing_time_trigger_picks_up_messages_sent_while_running(spark, kafka_broker, tmp_path):
    topic = f"t-{uuid.uuid4().hex[:8]}"
    _produce(kafka_broker.bootstrap, topic, [("before", "1")])
    out = str(tmp_path / "landed")
    query = (
        _stream(spark, kafka_broker.bootstrap, topic).writeStream.format("delta")
        .option("checkpointLocation", str(tmp_path / "cp"))
        .trigger(processingTime="1 second")
        .start(out)
    )
    try:
        _produce(kafka_broker.bootstrap, topic, [("after", "2")])
        deadline = time.monotonic() + 90
        keys = set()
        while time.monotonic() < deadline and keys != {"before", "after"}:
            time.sleep(1)
            if query.lastProgress:
                keys = {r.key for r in spark.read.format("delta").load(out).collect()}
        assert keys == {"before", "after"}
        assert query.isActive and query.exception() is None
    finally:
        query.stop()
