"""The pipeline notebooks under nbmake, staged (in job order) and realtime: real reports
through the local broker into bronze, silver and gold, each notebook in its own kernel with
its own SparkSession."""

import uuid

import pytest
from confluent_kafka import Producer

from jobs import pipeline, tables
from jobs.settings import PROJECT_ROOT, Settings
from tests.conftest import shared_file
from tests.test_platform_check import run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.kafka, pytest.mark.spark, pytest.mark.slow]


@pytest.mark.parametrize("notebooks", [
    ("01_bronze", "02_silver", "03_gold"),  # the staged job, in job order
    ("06_realtime",),  # the low-latency job: bronze + silver + flags in one query, aggregates after
], ids=["staged", "realtime"])
def test_pipeline_notebooks(spark, kafka_broker, tmp_path, notebooks):
    """The real openFDA sample and one malformed event through the notebooks: every event in
    silver or quarantine, every report flagged and counted once in the daily aggregates."""
    topic = f"adverse-events-{uuid.uuid4().hex[:6]}"
    lines = shared_file("reference/openfda-sample.jsonl").read_bytes().splitlines()
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap})
    for line in [*lines, b"not json"]:
        producer.produce(topic, value=line)
    assert producer.flush(30) == 0

    data_root = tmp_path / "data"
    env = {"VIGIL_DATA_ROOT": str(data_root), "VIGIL_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
           "VIGIL_WIDGET_TOPIC": topic}
    for notebook in notebooks:
        run_notebook(PROJECT_ROOT / "notebooks" / f"{notebook}.ipynb", env)

    settings = Settings(profile="local", data_root=str(data_root), kafka_bootstrap=None)
    counts = pipeline.reconcile(spark, settings).first()
    assert (counts.bronze_events, counts.quarantined, counts.unaccounted) == (50, 1, 0)
    flags = spark.read.format("delta").load(settings.table_path(tables.FLAGS.name))
    assert flags.count() == counts.in_silver == 49
    daily = spark.read.format("delta").load(settings.table_path(tables.COUNTRY_DAILY.name))
    assert daily.agg({"reports": "sum"}).first()[0] == 49
