"""Profile selection: chosen once, at the edge, from an argument or VIGIL_PROFILE."""

import pytest

from jobs.runtime import RuntimeSetupError, get_spark, local_spark_conf
from jobs.settings import SPARK_JARS_DIR, Settings, SettingsError, settings_for

AZURE_ENV = {
    "VIGIL_EVENTHUB_NAMESPACE": "vigil-dev-ehns.servicebus.windows.net",
    "VIGIL_STORAGE_ACCOUNT": "vigildevlake",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ["VIGIL_PROFILE", "VIGIL_DATA_ROOT", "VIGIL_KAFKA_BOOTSTRAP", "VIGIL_CATALOG", *AZURE_ENV]:
        monkeypatch.delenv(var, raising=False)


def test_local_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("VIGIL_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    s = settings_for()
    assert s.profile == "local" and s.is_local
    assert s.data_root == str(tmp_path)
    assert s.kafka_bootstrap == "127.0.0.1:9"
    assert s.table_path("bronze.adverse_event_raw") == f"{tmp_path}/tables/bronze/adverse_event_raw"
    assert s.table_identifier("silver.quarantine") == f"delta.`{tmp_path}/tables/silver/quarantine`"
    assert s.checkpoint_root == f"{tmp_path}/checkpoints"


def test_environment_variable_selects_the_profile(monkeypatch):
    monkeypatch.setenv("VIGIL_PROFILE", "azure")
    for var, value in AZURE_ENV.items():
        monkeypatch.setenv(var, value)
    s = settings_for()
    assert s.profile == "azure" and not s.is_local
    assert s.kafka_bootstrap == "vigil-dev-ehns.servicebus.windows.net:9093"
    assert s.data_root == "abfss://lakehouse@vigildevlake.dfs.core.windows.net/vigil"
    # Checkpoints and landing files have their own containers (infra/bicep/modules/storage.bicep).
    assert s.checkpoint_root == "abfss://checkpoints@vigildevlake.dfs.core.windows.net/vigil"
    assert s.landing_root == "abfss://landing@vigildevlake.dfs.core.windows.net/vigil"
    assert s.table_identifier("gold.safety_signal") == "`vigil`.`gold`.`safety_signal`"


def test_argument_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIL_PROFILE", "azure")
    assert settings_for("local", data_root=str(tmp_path), kafka_bootstrap="h:1").profile == "local"


def test_blank_overrides_are_ignored(monkeypatch, tmp_path):
    """A notebook widget left blank must not erase a setting."""
    monkeypatch.setenv("VIGIL_DATA_ROOT", str(tmp_path))
    assert settings_for("local", data_root="", kafka_bootstrap="h:1").data_root == str(tmp_path)


def test_azure_names_the_missing_variable():
    with pytest.raises(SettingsError, match="VIGIL_EVENTHUB_NAMESPACE"):
        settings_for("azure")


def test_unknown_profile_is_refused():
    with pytest.raises(SettingsError, match="unknown profile 'aws'"):
        settings_for("aws")


@pytest.mark.parametrize("bad", ["adverse_event_raw", "bronze.", ".x", "a.b.c"])
def test_table_names_are_layer_dot_subject(bad):
    with pytest.raises(SettingsError):
        Settings(profile="local", data_root="/d", kafka_bootstrap=None).table_path(bad)


def test_local_spark_conf_loads_delta_and_kafka_from_maven_jars(tmp_path):
    conf = local_spark_conf(Settings(profile="local", data_root=str(tmp_path), kafka_bootstrap=None))
    jars = conf["spark.jars"].split(",")
    assert all(j.startswith(str(SPARK_JARS_DIR)) for j in jars)
    assert any("delta-spark_2.13" in j for j in jars)
    assert any("spark-sql-kafka-0-10_2.13" in j for j in jars)
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"].endswith("DeltaCatalog")
    assert conf["spark.sql.warehouse.dir"] == f"{tmp_path}/warehouse"
    assert int(conf["spark.sql.shuffle.partitions"]) <= 16  # sized for a small machine, not 200
    assert conf["spark.ui.enabled"] == "false"


@pytest.mark.spark
def test_local_spark_runs_the_parallel_garbage_collector(spark):
    """The collector the benchmarks measured (docs/BENCHMARKS.md, session 10) is the one the
    session's JVM really runs: the option has to reach the JVM when it starts."""
    beans = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    assert {bean.getName() for bean in beans} == {"PS Scavenge", "PS MarkSweep"}


def test_azure_profile_does_not_build_a_local_session(monkeypatch):
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    azure = Settings(profile="azure", data_root="abfss://x", kafka_bootstrap="ns:9093", catalog="vigil")
    with pytest.raises(RuntimeSetupError, match="runs on Databricks"):
        get_spark(azure)


def test_pinned_python_and_jvm_versions_agree():
    """pyspark/delta-spark in requirements.txt must equal the jars Maven resolves."""
    import re

    from jobs.settings import PROJECT_ROOT

    reqs = (PROJECT_ROOT / "requirements.txt").read_text()
    pom = (PROJECT_ROOT / "jvm" / "pom.xml").read_text()
    pyspark = re.search(r"^pyspark==(\S+)", reqs, re.M).group(1)
    delta = re.search(r"^delta-spark==(\S+)", reqs, re.M).group(1)
    assert f"<spark.version>{pyspark}</spark.version>" in pom
    assert f"<delta.version>{delta}</delta.version>" in pom
    import pyspark as installed

    assert installed.__version__ == pyspark
