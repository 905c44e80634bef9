"""Scenario files: the shipped ones load and say what they promise; bad ones fail with one
message that names the file and the field."""

from __future__ import annotations

import pytest

from generators.scenario import (
    DataFaults,
    OverdoseCluster,
    ScenarioError,
    Signal,
    Spike,
    load_scenario,
    scenario_from_dict,
    scenario_names,
)


def test_shipped_scenarios_load():
    assert {"demo", "signals_benchmark", "load_test"} <= set(scenario_names())
    for name in scenario_names():
        assert load_scenario(name).name == name


def test_signals_benchmark_has_what_issue_5_needs():
    scenario = load_scenario("signals_benchmark")
    kinds = [type(a) for a in scenario.anomalies]
    assert scenario.background_reports >= 200_000
    assert kinds.count(Signal) >= 5
    assert kinds.count(OverdoseCluster) == 3
    assert kinds.count(Spike) == 3
    assert kinds.count(DataFaults) >= 1


def test_demo_is_small_and_has_one_of_each():
    scenario = load_scenario("demo")
    assert scenario.background_reports <= 5000
    assert {type(a) for a in scenario.anomalies} == {OverdoseCluster, Signal, Spike, DataFaults}


def test_offsets_and_names():
    scenario = scenario_from_dict({
        "start": "2025-03-01T00:00:00Z", "days": 10,
        "anomalies": [{"type": "signal", "drug": "lipitor", "reaction": "pancreatitis",
                       "start": "36h", "strength": 0.2}],
    })
    (signal,) = scenario.anomalies
    assert signal.drug == "ATORVASTATIN", "brand names resolve to the generic"
    assert signal.reaction == "Pancreatitis", "terms resolve case-insensitively"
    assert signal.start - scenario.start == 36 * 3600
    assert signal.anomaly_id == "signal-1"


@pytest.mark.parametrize(("data", "message"), [
    ({"background": {"reports": -1}}, "background.reports: must be at least 0"),
    ({"bogus": 1}, "bogus: unknown field"),
    ({"days": "soon"}, "days: not a duration"),
    ({"anomalies": [{"type": "meteor"}]}, "anomalies[0].type: must be one of"),
    ({"anomalies": [{"type": "overdose_cluster", "drug": "UNOBTAINIUM", "country": "US",
                     "rate": 5}]}, "anomalies[0].drug: unknown drug 'UNOBTAINIUM'"),
    ({"anomalies": [{"type": "overdose_cluster", "drug": "OXYCODONE", "country": "USA",
                     "rate": 5}]}, "anomalies[0].country: must be an ISO 3166 alpha-2 code"),
    ({"anomalies": [{"type": "signal", "drug": "OXYCODONE", "reaction": "Grumpiness",
                     "strength": 0.1}]}, "anomalies[0].reaction: unknown MedDRA preferred term"),
    ({"anomalies": [{"type": "signal", "drug": "OXYCODONE", "reaction": "Nausea",
                     "strength": 2}]}, "anomalies[0].strength: must be at most 1"),
    ({"anomalies": [{"type": "data_faults", "counts": {"gremlins": 3}}]},
     "anomalies[0].counts.gremlins: unknown field"),
    ({"followups": {"share": 0.7}, "duplicates": {"share": 0.5}}, "must not exceed 1"),
])
def test_bad_scenarios_fail_with_the_field_named(data, message):
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, source="bad.yaml")
    text = str(caught.value)
    assert text.startswith("bad.yaml: ") and message in text
    assert "\n" not in text


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ScenarioError, match="not found: give a path"):
        load_scenario("no-such-scenario")
    broken = tmp_path / "broken.yaml"
    broken.write_text("anomalies: [\n  - type: spike\n  start: [\n")
    with pytest.raises(ScenarioError, match="is not valid YAML"):
        load_scenario(broken)
