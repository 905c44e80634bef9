"""The Databricks bundle validator accepts a well-formed bundle and reports each kind of
breakage. (Vigil's own databricks.yml is checked once it exists.)"""

import shutil
from pathlib import Path

import pytest
from offline_checks.bundle import load_bundle, validate_bundle

VALID = Path(__file__).parent / "fixtures" / "bundle_valid"


@pytest.fixture
def bundle(tmp_path) -> Path:
    """A private copy of the valid bundle, for a test to break."""
    return Path(shutil.copytree(VALID, tmp_path / "bundle"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_valid_bundle_passes(bundle_schema_path):
    assert validate_bundle(VALID, bundle_schema_path) == []


def test_includes_are_merged():
    loaded, problems = load_bundle(VALID)
    assert problems == []
    assert set(loaded.jobs()) == {"vigil_streaming", "vigil_signals", "vigil_serving_load"}
    assert loaded.origin("resources", "jobs", "vigil_signals").name == "batch.job.yml"


def test_misspelled_key_is_reported(bundle, bundle_schema_path):
    _edit(
        bundle / "jobs" / "streaming.job.yml",
        "- task_key: silver\n          notebook_task:",
        "- task_key: silver\n          notebook_taks:",
    )
    problems = "\n".join(validate_bundle(bundle, bundle_schema_path))
    assert "streaming.job.yml: resources.jobs.vigil_streaming.tasks[1]" in problems
    assert "'notebook_taks' was unexpected" in problems


def test_wrong_type_is_reported(bundle, bundle_schema_path):
    _edit(bundle / "jobs" / "batch.job.yml", "${var.max_signal_runs}", "many")
    assert validate_bundle(bundle, bundle_schema_path) == [
        f"{bundle / 'jobs' / 'batch.job.yml'}: resources.jobs.vigil_signals.max_concurrent_runs: "
        "'many' is not valid under any of the given schemas"
    ]


def test_missing_notebook_is_reported(bundle, bundle_schema_path):
    (bundle / "notebooks" / "02_silver.ipynb").unlink()
    assert validate_bundle(bundle, bundle_schema_path) == [
        f"{bundle / 'jobs' / 'streaming.job.yml'}: job vigil_streaming, task silver: "
        "notebook '../notebooks/02_silver' does not exist"
    ]


def test_widget_the_job_does_not_set_is_reported(bundle, bundle_schema_path):
    _edit(bundle / "jobs" / "batch.job.yml", "              profile: azure\n", "")
    assert validate_bundle(bundle, bundle_schema_path) == [
        f"{bundle / 'jobs' / 'batch.job.yml'}: job vigil_signals, task signals: 04_signals.ipynb "
        "reads widget 'profile', which neither the task's base_parameters nor the job's parameters set"
    ]


def test_job_parameters_count_as_set(bundle, bundle_schema_path):
    _edit(
        bundle / "jobs" / "streaming.job.yml",
        "        - name: catalog\n          default: ${var.catalog}\n",
        "",
    )
    problems = validate_bundle(bundle, bundle_schema_path)
    assert problems == [
        f"{bundle / 'jobs' / 'streaming.job.yml'}: job vigil_streaming, task bronze: "
        "01_bronze.ipynb reads widget 'catalog', which neither the task's base_parameters nor "
        "the job's parameters set"
    ]


def test_include_that_matches_nothing_is_reported(bundle, bundle_schema_path):
    _edit(bundle / "databricks.yml", "- jobs/*.job.yml", "- resources/*.yml")
    problems = validate_bundle(bundle, bundle_schema_path)
    assert problems == [f"{bundle / 'databricks.yml'}: include 'resources/*.yml' matches no file"]


def test_job_defined_twice_is_reported(bundle, bundle_schema_path):
    shutil.copy(bundle / "jobs" / "batch.job.yml", bundle / "jobs" / "copy.job.yml")
    problems = "\n".join(validate_bundle(bundle, bundle_schema_path))
    assert "jobs 'vigil_signals' is already defined in" in problems


def test_schedule_and_continuous_together_are_reported(bundle, bundle_schema_path):
    _edit(
        bundle / "jobs" / "streaming.job.yml",
        "      continuous:",
        "      schedule:\n        quartz_cron_expression: '0 0 * * * ?'\n        timezone_id: UTC\n"
        "      continuous:",
    )
    problems = "\n".join(validate_bundle(bundle, bundle_schema_path))
    assert "job vigil_streaming: has both `schedule` and `continuous`" in problems
