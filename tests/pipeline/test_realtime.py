"""The low-latency query (bronze + silver + gold flags in one foreachBatch) against the staged
job: the same demo scenario through the real broker gives the same tables, and a crash inside a
batch (in its gold flags write, or in its silver report write after the flags), then a restart
from the checkpoint, still gives them, once."""

import uuid

import pytest

from generators.stream import generate
from jobs import gold, pipeline, realtime, silver, tables
from jobs.settings import Settings
from jobs.sources import SourceParams
from tests.pipeline.test_end_to_end import produce

pytestmark = [pytest.mark.spark, pytest.mark.kafka, pytest.mark.slow]

# what each table must hold the same in both runs (timestamps of the run itself left out)
COMPARED = {
    tables.BRONZE_RAW: ["bronze_id", "key", "payload"],
    tables.REPORT: ["safetyreportid", "safetyreportversion", "payload_sha256", "serious",
                    "patient_age_years", "receivedate"],
    tables.DRUG: ["safetyreportid", "drug_seq", "generic_name", "daily_dose_mg"],
    tables.REACTION: ["safetyreportid", "reaction_seq", "reactionmeddrapt", "reactionoutcome"],
    tables.QUARANTINE: ["bronze_id", "broken_rules"],
    tables.FLAGS: ["safetyreportid", "safetyreportversion", "is_overdose", "overdose_reasons",
                   "is_anomaly", "anomaly_reasons"],
    tables.DRUG_DAILY: ["receivedate", "generic_name", "occurcountry", "reports", "overdoses"],
}


def rows(spark, settings, table) -> list:
    df = spark.read.format("delta").load(settings.table_path(table.name))
    return sorted(tuple(r) for r in df.select(*COMPARED[table]).collect())


def run_realtime(spark, settings, batch_events: int) -> None:
    realtime.run_available_now(spark, settings, SourceParams(max_offsets_per_trigger=batch_events))


@pytest.fixture(scope="module")
def topic_and_staged(spark, kafka_broker, tmp_path_factory):
    events = list(generate("demo", seed=5))
    topic = f"realtime-{uuid.uuid4().hex[:6]}"
    produce(kafka_broker.bootstrap, topic, [(e.key, e.payload, e.headers) for e in events])
    staged = Settings(profile="local", data_root=str(tmp_path_factory.mktemp("staged")),
                      kafka_bootstrap=kafka_broker.bootstrap, topic=topic)
    pipeline.run_available_now(spark, staged, SourceParams())
    return topic, staged, len(events)


def test_realtime_query_writes_what_the_staged_job_writes(spark, kafka_broker, tmp_path,
                                                          topic_and_staged):
    topic, staged, n_events = topic_and_staged
    settings = Settings(profile="local", data_root=str(tmp_path / "rt"),
                        kafka_bootstrap=kafka_broker.bootstrap, topic=topic)
    run_realtime(spark, settings, batch_events=2000)  # several batches
    assert len(rows(spark, settings, tables.BRONZE_RAW)) == n_events
    assert len(rows(spark, staged, tables.DRUG_DAILY)) > 100, "the staged job made aggregates"
    for table in COMPARED:
        assert rows(spark, settings, table) == rows(spark, staged, table), table.name
    assert pipeline.reconcile(spark, settings).first().unaccounted == 0


def _crash_on_batch_1(monkeypatch, crash_point: str) -> None:
    """Make batch 1 fail at `crash_point`: in its gold flags write ("flags": the drug and
    reaction rows may be committed, the reports not), or in its silver report write, after its
    flags are committed ("reports")."""
    owner, name = {"flags": (gold.FlagsWriter, "flag_silver_changes"),
                   "reports": (silver.SilverWriter, "_write_reports")}[crash_point]
    original = getattr(owner, name)
    calls = {"n": 0}

    def write(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError(f"simulated crash in the {crash_point} write")
        original(self, *args)

    monkeypatch.setattr(owner, name, write)


@pytest.mark.parametrize("crash_point", ["flags", "reports"])
def test_crash_inside_a_batch_then_restart_is_exactly_once(
        spark, kafka_broker, tmp_path, topic_and_staged, monkeypatch, crash_point):
    topic, staged, n_events = topic_and_staged
    settings = Settings(profile="local", data_root=str(tmp_path / "rt"),
                        kafka_bootstrap=kafka_broker.bootstrap, topic=topic)

    def count(table) -> int:
        return spark.read.format("delta").load(settings.table_path(table.name)).count()

    _crash_on_batch_1(monkeypatch, crash_point)
    with pytest.raises(Exception, match="simulated crash"):
        pipeline.await_run(realtime.start(spark, settings, SourceParams(max_offsets_per_trigger=2000),
                                          {"availableNow": True}))
    monkeypatch.undo()
    reports = spark.read.format("delta").load(settings.table_path(tables.REPORT.name))
    drugs = spark.read.format("delta").load(settings.table_path(tables.DRUG.name))
    assert count(tables.BRONZE_RAW) > 0
    if crash_point == "flags":
        assert drugs.join(reports, "safetyreportid", "left_anti").count() > 0, \
            "the crash left drug rows of batch 1 whose reports are not written"
    else:
        assert count(tables.FLAGS) > count(tables.REPORT), "batch 1's flags are written, its reports not"

    run_realtime(spark, settings, batch_events=2000)  # restart from the checkpoint
    bronze = spark.read.format("delta").load(settings.table_path(tables.BRONZE_RAW.name))
    assert bronze.count() == bronze.select("bronze_id").distinct().count() == n_events
    for table in COMPARED:
        assert rows(spark, settings, table) == rows(spark, staged, table), table.name
    for table in (tables.FLAGS, tables.REPORT):
        assert count(table) == spark.read.format("delta").load(
            settings.table_path(table.name)).select("safetyreportid").distinct().count(), table.name


def test_landing_files_are_refused_with_the_reason(spark, fresh_settings):
    with pytest.raises(ValueError, match="staged job"):
        realtime.start(spark, fresh_settings, SourceParams(source="files"), {"availableNow": True})


def test_run_stage_realtime_as_a_notebook_would_call_it(spark, kafka_broker, tmp_path,
                                                         topic_and_staged, monkeypatch):
    """`pipeline.run_stage("realtime", widgets)`: the widgets' settings, availableNow, one row
    per query (the low-latency query, then the aggregates)."""
    topic, staged, n_events = topic_and_staged
    monkeypatch.setenv("VIGIL_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    run = pipeline.run_stage("realtime", {"data_root": str(tmp_path / "nb"), "topic": topic})
    assert [r.stage for r in run.collect()] == ["realtime", "realtime_aggregates"]
    assert run.collect()[0].input_rows == n_events
    settings = Settings(profile="local", data_root=str(tmp_path / "nb"), kafka_bootstrap=None)
    assert rows(spark, settings, tables.FLAGS) == rows(spark, staged, tables.FLAGS)
