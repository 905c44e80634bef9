"""The stage notebooks, in job order, under nbmake: real reports through the local broker
into bronze, silver and gold, each notebook in its own kernel with its own SparkSession."""

import uuid

import pytest
from confluent_kafka import Producer

from jobs import pipeline, tables
from jobs.settings import PROJECT_ROOT, Settings
from tests.conftest import shared_file
from tests.test_platform_check import run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.kafka, pytest.mark.spark, pytest.mark.slow]


def test_bronze_silver_gold_notebooks(spark, kafka_broker, tmp_path):
    topic = f"adverse-events-{uuid.uuid4().hex[:6]}"
    lines = shared_file("reference/openfda-sample.jsonl").read_bytes().splitlines()
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap})
    for line in [*lines, b"not json"]:
        producer.produce(topic, value=line)
    assert producer.flush(30) == 0

    data_root = tmp_path / "data"
    env = {"VIGIL_DATA_ROOT": str(data_root), "VIGIL_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
           "VIGIL_WIDGET_TOPIC": topic}
    for notebook in ("01_bronze", "02_silver", "03_gold"):
        run_notebook(PROJECT_ROOT / "notebooks" / f"{notebook}.ipynb", env)

    settings = Settings(profile="local", data_root=str(data_root), kafka_bootstrap=None)
    counts = pipeline.reconcile(spark, settings).first()
    assert (counts.bronze_events, counts.quarantined, counts.unaccounted) == (50, 1, 0)
    flags = spark.read.format("delta").load(settings.table_path(tables.FLAGS.name))
    assert flags.count() == counts.in_silver == 49


def test_realtime_notebook(spark, kafka_broker, tmp_path):
    """06_realtime under nbmake: the real openFDA sample and one malformed event through the
    low-latency query, then the aggregates."""
    topic = f"adverse-events-{uuid.uuid4().hex[:6]}"
    lines = shared_file("reference/openfda-sample.jsonl").read_bytes().splitlines()
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap})
    for line in [*lines, b"not json"]:
        producer.produce(topic, value=line)
    assert producer.flush(30) == 0

    data_root = tmp_path / "data"
    env = {"VIGIL_DATA_ROOT": str(data_root), "VIGIL_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
           "VIGIL_WIDGET_TOPIC": topic}
    run_notebook(PROJECT_ROOT / "notebooks" / "06_realtime.ipynb", env)

    settings = Settings(profile="local", data_root=str(data_root), kafka_bootstrap=None)
    counts = pipeline.reconcile(spark, settings).first()
    assert (counts.bronze_events, counts.quarantined, counts.unaccounted) == (50, 1, 0)
    flags = spark.read.format("delta").load(settings.table_path(tables.FLAGS.name))
    assert flags.count() == counts.in_silver == 49
    daily = spark.read.format("delta").load(settings.table_path(tables.COUNTRY_DAILY.name))
    assert daily.agg({"reports": "sum"}).first()[0] == 49
