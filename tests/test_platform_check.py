"""The platform check that the demo and notebook 00 run, and the notebook itself under nbmake."""

import os
import subprocess
import sys

import pytest

from jobs import platform_check
from jobs.settings import PROJECT_ROOT, Settings


@pytest.mark.spark
@pytest.mark.kafka
def test_platform_check_passes(spark, kafka_settings):
    rows = {r.check: r for r in platform_check.run(spark, kafka_settings).collect()}
    assert set(rows) == {"delta_write_merge_time_travel", "kafka_to_spark"}
    assert all(r.ok for r in rows.values()), [r.detail for r in rows.values()]


@pytest.mark.spark
def test_platform_check_reports_a_missing_transport_instead_of_crashing(spark, data_root):
    settings = Settings(profile="local", data_root=str(data_root / "no-kafka"), kafka_bootstrap=None)
    rows = {r.check: r for r in platform_check.run(spark, settings).collect()}
    assert rows["delta_write_merge_time_travel"].ok
    assert not rows["kafka_to_spark"].ok and "no Kafka bootstrap" in rows["kafka_to_spark"].detail


def run_notebook(notebook, env_overrides: dict) -> None:
    """Run a notebook top to bottom under nbmake, in its own kernel, as a job task would."""
    env = {**os.environ, "VIGIL_PROFILE": "local", **env_overrides}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "--nbmake-timeout=600", "-q",
         "-p", "no:cacheprovider", "-o", "addopts=", str(notebook)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.notebook
@pytest.mark.kafka
def test_platform_check_notebook_runs_under_nbmake(kafka_broker, tmp_path):
    run_notebook(PROJECT_ROOT / "notebooks" / "00_platform_check.ipynb", {
        "VIGIL_DATA_ROOT": str(tmp_path / "data"), "VIGIL_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
    })


def test_every_notebook_is_run_by_a_test():
    """A notebook added without a test that runs it fails here: each notebook's name appears in
    a test module that calls `run_notebook` (the bundle's offline checks do not count)."""
    texts = [p.read_text() for p in (PROJECT_ROOT / "tests").rglob("test_*.py") if "infra" not in p.parts]
    runners = [text for text in texts if "run_notebook(" in text]
    untested = [n.stem for n in (PROJECT_ROOT / "notebooks").glob("*.ipynb")
                if not any(n.stem in text for text in runners)]
    assert not untested, f"no test runs {untested}"
