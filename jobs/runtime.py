"""The one SparkSession factory.

On Databricks the platform owns the session (and brings Delta and the Kafka connector), so
we return the active one. Locally we build `local[*]` with Delta and the Kafka connector
loaded from the Maven-resolved jars in `.jvm/spark-jars` — nothing is fetched at run time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from jobs.settings import PROJECT_ROOT, SPARK_JARS_DIR, Settings, settings_for

LOG4J_CONFIG = PROJECT_ROOT / "jvm" / "log4j2-spark.properties"


class RuntimeSetupError(RuntimeError):
    """A missing prerequisite for the local runtime; the message names the fix."""


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def get_spark(settings: Settings | None = None, app_name: str = "vigil"):
    """The SparkSession for these settings: Databricks' own, or a local Delta-enabled one."""
    from pyspark.sql import SparkSession

    settings = settings or settings_for()
    if on_databricks():
        return SparkSession.builder.getOrCreate()
    if not settings.is_local:
        raise RuntimeSetupError(
            f"profile {settings.profile!r} runs on Databricks; locally use VIGIL_PROFILE=local"
        )
    # Loopback only, and said before the JVM starts so Spark does not warn about the hostname.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name)
    for key, value in local_spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("VIGIL_SPARK_LOG_LEVEL", "WARN"))
    return spark


CODEGEN_CACHE_ENTRIES = "2000"  # also on the job clusters (jobs/*.job.yml)
# HotSpot does not compile a method of more than 8,000 bytes of bytecode (HugeMethodLimit), and
# runs it interpreted; Spark's own limit is 65,535. A stage whose generated method lands
# between the two ran about twice as slow (silver's drug rows: 5.1-6.3 s per 200,000 reports,
# 3.3-3.8 s with this). Spark's documentation advises 8000 on HotSpot: above it, Spark splits
# the stage instead. Also on the job clusters.
CODEGEN_HUGE_METHOD_LIMIT = "8000"


def local_spark_conf(settings: Settings) -> dict[str, str]:
    """The local session's configuration, as data so that tests can check it."""
    _check_java()
    jars = local_spark_jars()
    cores = os.cpu_count() or 2
    data_root = Path(settings.data_root)
    java_opts = (f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()} -Dderby.system.home={data_root} "
                 # The throughput collector: with the JVM's default (G1) the same batches used
                 # 20-35% more CPU here, and local runs need throughput more than short pauses
                 # (docs/BENCHMARKS.md, session 10).
                 "-XX:+UseParallelGC")
    return {
        "spark.master": os.environ.get("VIGIL_SPARK_MASTER", "local[*]"),
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": str(data_root / "warehouse"),
        # A small machine: Spark's default of 200 shuffle partitions is 200 tiny tasks here.
        "spark.sql.shuffle.partitions": str(max(2, 2 * cores)),
        "spark.default.parallelism": str(max(2, 2 * cores)),
        "spark.databricks.delta.snapshotPartitions": str(max(2, cores)),
        # A micro-batch runs ~100 Spark jobs whose generated classes do not fit Spark's default
        # cache of 100: every batch compiled them all again (measured: 450 compiles per
        # 2,000-event batch of the low-latency query, 20-40 with this; batches 20% shorter).
        "spark.sql.codegen.cache.maxEntries": CODEGEN_CACHE_ENTRIES,
        "spark.sql.codegen.hugeMethodLimit": CODEGEN_HUGE_METHOD_LIMIT,
        "spark.driver.memory": os.environ.get("VIGIL_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.session.timeZone": "UTC",
        # The stages run as concurrent streaming queries in one application: share the cores
        # between their jobs instead of running each job to the end before the next starts.
        "spark.scheduler.mode": "FAIR",
        "spark.ui.enabled": os.environ.get("VIGIL_SPARK_UI", "false"),
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": java_opts,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
    }


def local_spark_jars() -> list[Path]:
    jars = sorted(SPARK_JARS_DIR.glob("*.jar"))
    names = " ".join(j.name for j in jars)
    if "delta-spark" not in names or "spark-sql-kafka" not in names:
        raise RuntimeSetupError(
            f"Spark's Delta and Kafka jars are missing from {SPARK_JARS_DIR}; run `make setup`"
        )
    return jars


def _check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise RuntimeSetupError("Java 17+ is required for Spark but was not found; install a JDK")
