"""notebooks/04_signals under nbmake over a silver that hand-made reports filled."""

import pytest

from jobs import pipeline, silver, tables
from jobs.settings import PROJECT_ROOT
from jobs.signals import tables as st
from tests.pipeline.conftest import report, write_bronze
from tests.test_platform_check import run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.spark, pytest.mark.slow]


def test_signals_notebook_runs(spark, fresh_settings):
    s = fresh_settings
    write_bronze(spark, s, [report(safetyreportid=str(20000000 + i)) for i in range(4)])
    pipeline.await_run(silver.start(spark, s, {"availableNow": True}))
    run_notebook(PROJECT_ROOT / "notebooks" / "04_signals.ipynb", {"VIGIL_DATA_ROOT": s.data_root})
    counts = tables.delta_table(spark, s, st.MARGINAL_COUNTS).toDF()
    assert counts.where("dimension = 'total'").first().reports == 4
    assert spark.read.format("delta").load(s.table_path(st.ALERT.name)).columns == st.ALERT.columns
