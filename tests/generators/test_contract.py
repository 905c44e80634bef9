"""The event contract (JSON Schema): real openFDA reports and generated reports both satisfy it;
each kind of data fault breaks what it says it breaks."""

from __future__ import annotations

import json

import orjson
import pytest

from generators import contract
from generators.stream import generate
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def validator():
    return contract.validator()


def test_the_49_real_openfda_reports_validate(validator):
    path = shared_file("reference/openfda-sample.jsonl")
    reports = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(reports) == 49
    problems = {r["safetyreportid"]: [e.message for e in validator.iter_errors(r)] for r in reports}
    assert {k: v for k, v in problems.items() if v} == {}
    # they exercise the leniency the schema promises
    ids = [r["safetyreportid"] for r in reports]
    assert any("-" in i for i in ids), "a legacy id with a hyphenated check digit"
    assert any("safetyreportversion" not in r for r in reports)
    assert any(r.get("primarysource") is None for r in reports), "a top-level null"
    starts = [d.get("drugstartdate") for r in reports for d in r["patient"]["drug"]]
    assert any(s and len(s) == 6 for s in starts) and any(s and len(s) == 4 for s in starts)


def test_the_schema_rejects_what_the_contract_forbids(validator):
    good = {"safetyreportid": "50000009", "receivedate": "20250101",
            "patient": {"reaction": [{"reactionmeddrapt": "Nausea"}],
                        "drug": [{"medicinalproduct": "ASPIRIN", "drugcharacterization": "1"}]}}
    assert validator.is_valid(good)
    broken = [
        {**good, "serious": 1},  # a number where openFDA sends text
        {**good, "receivedate": "2025-01-01"},  # not YYYYMMDD
        {**good, "safetyreportid": "ABC"},
        {k: v for k, v in good.items() if k != "patient"},
        {**good, "patient": {**good["patient"], "reaction": []}},
        {**good, "patient": {**good["patient"], "drug": good["patient"]["drug"][0]}},
        {**good, "patient": {**good["patient"], "patientonsetage": 45}},
    ]
    assert [validator.is_valid(b) for b in broken] == [False] * len(broken)


def test_generated_reports_that_are_not_faults_validate(validator, demo_stream):
    """Every report made off the fast path (anomalies, follow-ups, re-sends), and every fifth
    background report (jsonschema is slow; every report comes from the same builder)."""
    stream, events = demo_stream
    lines = stream.ground_truth.lines()
    faults = {s for line in lines if line["type"] == "data_fault" for s in line["event_seqs"]}
    special = {s for line in lines if line["type"] != "data_fault" for s in line["event_seqs"]}
    checked = 0
    for event in events:
        if event.seq in faults or (event.seq not in special and event.seq % 20):
            continue
        report = orjson.loads(event.payload)
        errors = [e.message for e in validator.iter_errors(report)]
        assert errors == [], (event.seq, errors)
        checked += 1
    assert checked > 1000


def test_every_event_carries_the_contract_metadata(demo_stream):
    _, events = demo_stream
    for event in events:
        assert set(event.headers) == set(contract.HEADER_NAMES)
        assert event.headers[contract.H_EVENT_TYPE] == contract.EVENT_TYPE == "adverse_event"
        assert event.headers[contract.H_SCHEMA_VERSION] == contract.SCHEMA_VERSION == "1"
        assert event.headers[contract.H_EVENT_SEQ] == str(event.seq)
        assert all(isinstance(v, str) for v in event.headers.values())
    stamp = events[0].headers[contract.H_GENERATED_AT]
    assert len(stamp) == 24 and stamp.endswith("Z") and stamp[10] == "T"


def _fault_events(stream, events, kind):
    by_seq = {e.seq: e for e in events}
    return [(line, by_seq[line["event_seqs"][0]]) for line in stream.ground_truth.lines()
            if line["type"] == "data_fault" and line["params"]["kind"] == kind]


def test_each_data_fault_breaks_the_event_as_the_manifest_says(validator, demo_stream):
    stream, events = demo_stream

    def parse(payload):
        try:
            return json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    kinds = {line["params"]["kind"] for line in stream.ground_truth.lines()
             if line["type"] == "data_fault"}
    assert kinds == {"malformed_json", "missing_required", "impossible_age", "future_date",
                     "wrong_types", "empty_payload", "invalid_utf8"}
    for _, event in _fault_events(stream, events, "malformed_json"):
        assert event.payload and parse(event.payload) is None
    for line, event in _fault_events(stream, events, "missing_required"):
        report = parse(event.payload)
        head, _, rest = line["params"]["field"].partition(".")
        assert (rest not in report[head]) if rest else (head not in report)
        assert not validator.is_valid(report)
    for _, event in _fault_events(stream, events, "impossible_age"):
        report = parse(event.payload)
        assert report["patient"]["patientonsetage"] == "250"
        assert validator.is_valid(report), "plausibility is silver's rule, not the shape's"
    for _, event in _fault_events(stream, events, "future_date"):
        report = parse(event.payload)
        assert int(report["receivedate"][:4]) >= 2050 and validator.is_valid(report)
    fields = set()
    for line, event in _fault_events(stream, events, "wrong_types"):
        fields.add(line["params"]["field"])
        assert not validator.is_valid(parse(event.payload))
    assert len(fields) == 5, "five wrong-type faults cover the five fields of the rotation"
    for line, event in _fault_events(stream, events, "empty_payload"):
        assert event.payload == b"" and event.key is None and line["safetyreportids"] == []
    for _, event in _fault_events(stream, events, "invalid_utf8"):
        with pytest.raises(UnicodeDecodeError):
            event.payload.decode("utf-8")
    for event in events:
        assert b"\n" not in event.payload, "every payload fits on one JSON line"


def _faults_asked_by_name(tmp_path, kind):
    """Three faults of `kind` among 50 background reports, from a scenario that names it."""
    scenario = tmp_path / f"{kind}.yaml"
    scenario.write_text(f"name: {kind}\nstart: \"2025-01-01T00:00:00Z\"\ndays: 2\n"
                        "background: {reports: 50}\n"
                        f"anomalies:\n  - type: data_faults\n    counts: {{{kind}: 3}}\n")
    stream = generate(str(scenario), seed=3)
    return _fault_events(stream, list(stream), kind)


def test_a_concatenated_json_fault_is_the_report_twice_in_one_event(validator, tmp_path):
    """Not in the shipped scenarios (it would change their seeded streams); a scenario asks
    for it by name. The event holds two whole reports and no newline."""
    glued = _faults_asked_by_name(tmp_path, "concatenated_json")
    assert len(glued) == 3
    for line, event in glued:
        text = event.payload.decode("utf-8")
        first, end = json.JSONDecoder().raw_decode(text)
        assert json.loads(text[end:]) == first and validator.is_valid(first)
        assert line["safetyreportids"] == [first["safetyreportid"]] and "\n" not in text
        with pytest.raises(json.JSONDecodeError, match="Extra data"):
            json.loads(text)


def test_a_duplicate_key_fault_gives_the_id_twice_with_two_values(validator, tmp_path):
    """Not in the shipped scenarios either. Without its first key the payload is the valid
    report; with it, which id is meant depends on the reader."""
    twice = _faults_asked_by_name(tmp_path, "duplicate_key")
    assert len(twice) == 3
    for line, event in twice:
        pairs = json.loads(event.payload, object_pairs_hook=list)
        ids = [value for key, value in pairs if key == "safetyreportid"]
        assert len(ids) == 2 and ids[0] != ids[1] == line["safetyreportids"][0] == event.key
        assert validator.is_valid(json.loads(event.payload))  # a reader that keeps the last
        assert line["params"]["field"] == "safetyreportid" and b"\n" not in event.payload
