"""The local stand-in for Databricks' dbutils.widgets."""

import pytest

from jobs.notebook import InputWidgetNotDefined, LocalDBUtils


def test_widgets_take_defaults_and_job_overrides(monkeypatch):
    monkeypatch.setenv("VIGIL_WIDGET_TRIGGER", "processingTime")
    dbutils = LocalDBUtils()
    dbutils.widgets.text("profile", "local")
    dbutils.widgets.text("trigger", "availableNow")
    assert dbutils.widgets.get("profile") == "local"
    assert dbutils.widgets.get("trigger") == "processingTime"
    assert dbutils.widgets.getAll() == {"profile": "local", "trigger": "processingTime"}


def test_undefined_widget_raises_like_databricks():
    with pytest.raises(InputWidgetNotDefined):
        LocalDBUtils().widgets.get("nope")


def test_dropdown_rejects_a_value_outside_its_choices(monkeypatch):
    monkeypatch.setenv("VIGIL_WIDGET_PROFILE", "aws")
    with pytest.raises(ValueError, match="not one of"):
        LocalDBUtils().widgets.dropdown("profile", "local", ["local", "azure"])
