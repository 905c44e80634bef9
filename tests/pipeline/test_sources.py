"""The Kafka / Event Hubs source: notebook widgets → `SourceParams` → Spark's Kafka options,
for the local broker and for each way of signing in to Event Hubs; and where a query with no
checkpoint starts (`starting_offsets`), through the real broker."""

import uuid
import zipfile

import pytest

from jobs import pipeline, tables
from jobs.settings import SPARK_JARS_DIR, Settings
from jobs.sources import SourceParams, kafka_options
from tests.pipeline.test_end_to_end import produce

EVENTHUBS = Settings(profile="azure", data_root="abfss://lakehouse@acct.dfs.core.windows.net/vigil",
                     kafka_bootstrap="vigil-ns.servicebus.windows.net:9093", topic="adverse-events")


class ScopeSecrets:
    """What `dbutils.secrets` answers, from a dict of scope → key → value."""

    def __init__(self, scopes: dict):
        self.scopes = scopes

    def get(self, scope: str, key: str) -> str:
        return self.scopes[scope][key]


def test_widgets_become_source_params():
    params = pipeline.source_params({"source": "kafka", "max_offsets_per_trigger": "5000",
                                     "starting_offsets": "latest"})
    assert (params.max_offsets_per_trigger, params.starting_offsets) == (5000, "latest")
    # a blank widget (as a job passes an unset variable) keeps the safe default: everything retained
    assert pipeline.source_params({"starting_offsets": ""}).starting_offsets == "earliest"
    assert pipeline.WIDGET_DEFAULTS["starting_offsets"] == "earliest"


@pytest.mark.parametrize("bad", ["1e5", "100,000", "0", "-5", "five", "²"])
@pytest.mark.parametrize("widget", ["max_offsets_per_trigger", "max_files_per_trigger"])
def test_a_batch_limit_must_be_a_whole_number_of_at_least_one(widget, bad):
    with pytest.raises(ValueError, match=f"widget '{widget}': .* is not a whole number of at least 1"):
        pipeline.source_params({widget: bad})
    assert getattr(pipeline.source_params({widget: " 2000 "}), widget) == 2000
    assert getattr(pipeline.source_params({widget: ""}), widget) is None


def test_secrets_come_from_the_jobs_scope_and_only_for_the_chosen_sign_in():
    secrets = ScopeSecrets({"vigil": {"eventhubs-connection-string": "Endpoint=sb://x/;K=v",
                                      "tenant-id": "t", "client-id": "c", "client-secret": "s"}})
    by_sas = pipeline.source_params({"eventhubs_auth": "connection_string", "secret_scope": "vigil"},
                                    secrets)
    assert by_sas.connection_string == "Endpoint=sb://x/;K=v" and by_sas.client_secret is None
    by_entra = pipeline.source_params({"eventhubs_auth": "oauth", "secret_scope": "vigil"}, secrets)
    assert (by_entra.tenant_id, by_entra.client_id, by_entra.client_secret) == ("t", "c", "s")
    assert by_entra.connection_string is None


def test_local_broker_options_are_plain_and_say_where_to_start(tmp_path):
    settings = Settings(profile="local", data_root=str(tmp_path), kafka_bootstrap="127.0.0.1:9092",
                        topic="adverse-events")
    options = kafka_options(settings, SourceParams(max_offsets_per_trigger=1000,
                                                   starting_offsets="latest"))
    assert options["kafka.bootstrap.servers"] == "127.0.0.1:9092"
    assert options["subscribe"] == "adverse-events"
    assert options["startingOffsets"] == "latest"
    assert options["maxOffsetsPerTrigger"] == "1000"
    assert options["failOnDataLoss"] == "true"  # expired retention is lost reports: fail, say so
    assert not any(key.startswith("kafka.sasl") or key.startswith("databricks.") for key in options)


def test_event_hubs_by_service_credential():
    options = kafka_options(EVENTHUBS, SourceParams(service_credential="vigil-eh-reader"))
    assert options["kafka.bootstrap.servers"] == "vigil-ns.servicebus.windows.net:9093"
    assert options["databricks.serviceCredential"] == "vigil-eh-reader"
    assert options["startingOffsets"] == "earliest"


def test_event_hubs_by_connection_string():
    options = kafka_options(EVENTHUBS, SourceParams(eventhubs_auth="connection_string",
                                                    connection_string="Endpoint=sb://x/;K=v"))
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.mechanism"] == "PLAIN"
    assert options["kafka.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="$ConnectionString" password="Endpoint=sb://x/;K=v";')


def test_event_hubs_by_entra_id_service_principal():
    options = kafka_options(EVENTHUBS, SourceParams(eventhubs_auth="oauth", tenant_id="t",
                                                    client_id="c", client_secret="s"))
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.mechanism"] == "OAUTHBEARER"
    assert options["kafka.sasl.oauthbearer.token.endpoint.url"] == (
        "https://login.microsoftonline.com/t/oauth2/v2.0/token")
    assert 'clientId="c" clientSecret="s"' in options["kafka.sasl.jaas.config"]
    assert 'scope="https://vigil-ns.servicebus.windows.net/.default"' in options["kafka.sasl.jaas.config"]


@pytest.mark.parametrize("auth, missing", [("service_credential", "service_credential"),
                                           ("connection_string", "connection_string"),
                                           ("oauth", "tenant_id")])
def test_a_missing_sign_in_is_named(auth, missing):
    with pytest.raises(ValueError, match=missing):
        kafka_options(EVENTHUBS, SourceParams(eventhubs_auth=auth))


def test_the_sign_in_classes_are_in_the_kafka_client_spark_loads():
    """The class names the options give (unshaded, as Spark's own Kafka client has them; on
    Databricks they carry `kafkashaded.`) exist in the jar the local runtime loads."""
    jar = next(SPARK_JARS_DIR.glob("kafka-clients-*.jar"), None)
    if jar is None:
        pytest.skip(f"no kafka-clients jar in {SPARK_JARS_DIR}: run `make setup`")
    sas = kafka_options(EVENTHUBS, SourceParams(eventhubs_auth="connection_string",
                                                connection_string="x"))
    entra = kafka_options(EVENTHUBS, SourceParams(eventhubs_auth="oauth", tenant_id="t",
                                                  client_id="c", client_secret="s"))
    named = {sas["kafka.sasl.jaas.config"].split()[0], entra["kafka.sasl.jaas.config"].split()[0],
             entra["kafka.sasl.login.callback.handler.class"]}
    entries = set(zipfile.ZipFile(jar).namelist())
    assert {name.replace(".", "/") + ".class" for name in named} <= entries
    # not the handler's deprecated name, which Kafka 4's clients no longer have
    assert ".secured." not in entra["kafka.sasl.login.callback.handler.class"]


@pytest.mark.spark
@pytest.mark.kafka
@pytest.mark.parametrize("start, first_run", [("earliest", 30), ("latest", 0)])
def test_starting_offsets_apply_to_a_first_run_and_the_checkpoint_to_the_next(
        spark, kafka_broker, tmp_path, monkeypatch, start, first_run):
    """Through the bronze notebook's own call: with `latest`, what the topic held before the
    first run is skipped; either way a second run reads exactly what arrived since."""
    topic = f"offsets-{uuid.uuid4().hex[:6]}"
    produce(kafka_broker.bootstrap, topic, [(None, b'{"safetyreportid": "%d"}' % i, [])
                                            for i in range(30)])
    monkeypatch.setenv("VIGIL_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    widgets = {"data_root": str(tmp_path / "data"), "topic": topic, "starting_offsets": start}
    settings = Settings(profile="local", data_root=str(tmp_path / "data"), kafka_bootstrap=None)

    def bronze_rows() -> int:
        tables.ensure(spark, settings, tables.BRONZE_RAW)
        return tables.read(spark, settings, tables.BRONZE_RAW).count()

    pipeline.run_stage("bronze", widgets)
    assert bronze_rows() == first_run
    produce(kafka_broker.bootstrap, topic, [(None, b'{"safetyreportid": "%d"}' % i, [])
                                            for i in range(30, 42)])
    pipeline.run_stage("bronze", {**widgets, "starting_offsets": "earliest"})  # the checkpoint wins
    assert bronze_rows() == first_run + 12


@pytest.mark.spark
def test_bronze_keeps_each_header_keys_last_value_however_many_headers(spark):
    """Kafka lets a header key repeat, and one message may carry tens of thousands of headers:
    each key's last value wins, in time that grows with the headers, not with their square."""
    from pyspark.sql import functions as F

    from jobs.sources import kafka_to_bronze

    many = [(f"k{i % 7}", str(i).encode()) for i in range(50_000)]
    rows = [
        ("t", 0, 1, [("hop", b"a"), ("case", b"x"), ("hop", b"b"), ("none", None)]),
        ("t", 0, 2, []),
        ("t", 0, 3, None),
        ("t", 0, 4, many),
    ]
    raw = spark.createDataFrame(
        rows, "topic string, partition int, offset long, headers array<struct<key:string,value:binary>>"
    ).select("*", F.lit(None).cast("binary").alias("key"), F.lit(b"{}").alias("value"),
             F.current_timestamp().alias("timestamp"))
    bronze = kafka_to_bronze(raw, Settings(profile="local", data_root="/tmp/x", kafka_bootstrap="k"))
    got = {r.bronze_id: r.headers for r in bronze.select("bronze_id", "headers").collect()}
    assert got["t/0/1"] == {"hop": "b", "case": "x", "none": None}
    assert got["t/0/2"] == {} and got["t/0/3"] == {}
    assert got["t/0/4"] == {f"k{k}": str(max(i for i in range(50_000) if i % 7 == k)) for k in range(7)}
