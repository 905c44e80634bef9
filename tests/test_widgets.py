"""Notebook widget values are text: numbers and flags are read strictly, and a bad one is
named with its widget before Spark starts."""

import pytest

from jobs import signals
from jobs.widgets import open_fraction, true_or_false, whole_number


def test_whole_numbers():
    assert whole_number({"n": " 2000 "}, "n") == 2000
    assert whole_number({"n": ""}, "n") is None and whole_number({}, "n") is None
    assert whole_number({"n": "0"}, "n", minimum=0) == 0
    for bad in ("0", "-5", "1e5", "100,000", "2.0", "five", "²", "٣"):
        with pytest.raises(ValueError, match=f"widget 'n': {bad!r} is not a whole number of at least 1"):
            whole_number({"n": bad}, "n")


def test_fractions():
    assert open_fraction({"a": "1e-7"}, "a") == 1e-7 and open_fraction({"a": "0.05"}, "a") == 0.05
    for bad in ("0", "1", "5", "-0.1", "nan", "inf", "small"):
        with pytest.raises(ValueError, match="is not a number between 0 and 1"):
            open_fraction({"a": bad}, "a")


def test_flags():
    assert [true_or_false({"f": v}, "f") for v in ("true", "TRUE", "1", "yes", "false", "0", "No")] == [
        True, True, True, True, False, False, False]
    with pytest.raises(ValueError, match="'ture' is not true or false"):
        true_or_false({"f": "ture"}, "f")


@pytest.mark.parametrize(("widget", "bad", "says"), [
    ("alpha", "nan", "not a number between 0 and 1"),
    ("alpha", "5", "not a number between 0 and 1"),
    ("min_count", "three", "not a whole number of at least 1"),
    ("lateness_days", "-1", "not a whole number of at least 0"),
    ("include_concomitant", "ture", "not true or false"),
    ("prior_components", "2,x", "not a whole number"),
    ("trigger", "5 sec", "unknown trigger"),
])
def test_the_signals_stage_refuses_a_bad_widget_before_spark_starts(widget, bad, says, monkeypatch):
    import jobs.runtime

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(jobs.runtime, "get_spark", no_spark)
    with pytest.raises(ValueError, match=says):
        signals.run({widget: bad})


def test_the_signals_defaults_read_as_before():
    params = signals.params_from({})
    assert params.spikes.alpha == 1e-7 and params.spikes.lateness_days == 3
    assert params.signals.min_count == 3 and params.signals.prior_components == (2, 3)
    assert params.counts.include_concomitant is False


def test_the_bundles_parameters_pass_the_same_checks():
    """What the Databricks jobs pass is what a person could type: it must read the same way."""
    import yaml

    from jobs import pipeline
    from jobs.settings import PROJECT_ROOT

    variables = yaml.safe_load((PROJECT_ROOT / "databricks.yml").read_text())["variables"]
    for name in ("stream_trigger", "aggregates_trigger"):
        assert "processingTime" in pipeline.parse_trigger(variables[name]["default"])
    assert whole_number({"m": variables["max_offsets_per_trigger"]["default"]}, "m") >= 1
    job = yaml.safe_load((PROJECT_ROOT / "jobs" / "vigil_signals.job.yml").read_text())
    [task] = [t for j in job["resources"]["jobs"].values() for t in j["tasks"]
              if "notebook_task" in t and "signals" in t["notebook_task"]["notebook_path"]]
    params = signals.params_from(task["notebook_task"]["base_parameters"])
    assert params.spikes.alpha == 1e-7 and params.signals.min_count == 3


@pytest.mark.parametrize(("command", "says"), [
    (["dashboard", "--port", "99999"], "argument --port: '99999' is not a whole number from 1 to 65535"),
    (["dashboard", "--port", "-1"], "argument --port: '-1' is not a whole number from 1 to 65535"),
    (["jobs.serving", "load", "--batch-size", "0"],
     "argument --batch-size: '0' is not a whole number of at least 1"),
])
def test_command_line_numbers_are_checked_the_same_way(command, says):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and says in result.stderr.strip().splitlines()[-1], result.stderr
