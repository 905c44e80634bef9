"""Delta on the local SparkSession: write, read, MERGE and time travel."""

import pytest
from pyspark.testing import assertDataFrameEqual

pytestmark = pytest.mark.spark


def test_write_read_merge_time_travel(spark, tmp_path):
    from delta.tables import DeltaTable

    path = str(tmp_path / "reports")
    v0 = spark.createDataFrame(
        [("10001", 1, "Nausea"), ("10002", 1, "Headache")],
        "safetyreportid string, safetyreportversion int, reaction string",
    )
    v0.write.format("delta").save(path)

    follow_ups = spark.createDataFrame(
        [("10002", 2, "Migraine"), ("10003", 1, "Rash"), ("10001", 0, "stale")],
        "safetyreportid string, safetyreportversion int, reaction string",
    )
    (
        DeltaTable.forPath(spark, path).alias("t")
        .merge(follow_ups.alias("s"), "t.safetyreportid = s.safetyreportid")
        # The latest version wins; an older one changes nothing.
        .whenMatchedUpdateAll(condition="s.safetyreportversion > t.safetyreportversion")
        .whenNotMatchedInsertAll()
        .execute()
    )

    assertDataFrameEqual(
        spark.read.format("delta").load(path),
        spark.createDataFrame(
            [("10001", 1, "Nausea"), ("10002", 2, "Migraine"), ("10003", 1, "Rash")],
            "safetyreportid string, safetyreportversion int, reaction string",
        ),
    )
    assertDataFrameEqual(spark.read.format("delta").option("versionAsOf", 0).load(path), v0)
    history = DeltaTable.forPath(spark, path).history().orderBy("version").collect()
    assert [h.operation for h in history] == ["WRITE", "MERGE"]
    metrics = history[1].operationMetrics
    assert metrics["numTargetRowsUpdated"] == "1" and metrics["numTargetRowsInserted"] == "1"


def test_sql_reads_the_table_by_its_path(spark, settings):
    path = settings.table_path("ops.sql_check")
    spark.range(3).write.format("delta").mode("overwrite").save(path)
    identifier = settings.table_identifier("ops.sql_check")
    assert spark.sql(f"SELECT sum(id) AS s FROM {identifier}").first().s == 3


def test_tables_keep_statistics_only_on_their_statistics_columns(spark, tmp_path):
    """`tables.ensure` creates a table whose files carry min/max only on `stats_columns`."""
    import json
    from datetime import date

    from jobs import tables
    from jobs.settings import Settings

    settings = Settings(profile="local", data_root=str(tmp_path), kafka_bootstrap=None)
    table = tables.REACTION
    tables.ensure(spark, settings, table)
    row = spark.createDataFrame([("1", 1, 1, "Rash", 1, date(2024, 1, 5), None)], table.schema)
    tables.append(row, settings, table)
    log = tmp_path.glob("**/adverse_event_reaction/_delta_log/*.json")
    stats = [json.loads(json.loads(line)["add"]["stats"]) for path in log
             for line in path.read_text().splitlines() if '"add"' in line]
    assert [sorted(s["minValues"]) for s in stats] == [sorted(table.stats_columns)]
    assert sorted(table.stats_columns) == ["receivedate", "safetyreportid"]
