"""The manifest names every injected anomaly and exactly the events that carry it."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from generators.clock import parse_instant
from generators.drug_entries import UNIT_TEXT, UNIT_WORD, strength_name
from generators.ground_truth import GroundTruth, read_manifest
from generators.reference import OVERDOSE_PTS, load_reference
from generators.runner import _drive
from generators.scenario import load_scenario
from generators.stream import generate
from ingesters.sink import Sink
from tests.generators.conftest import DEMO_SEED

DAY = 86_400


@pytest.fixture(scope="module")
def manifest(demo_stream):
    stream, _ = demo_stream
    return {line["anomaly_id"]: line for line in stream.ground_truth.lines()}


@pytest.fixture(scope="module")
def by_seq(demo_stream):
    return {e.seq: e for e in demo_stream[1]}


def _report(event):
    try:
        return orjson.loads(event.payload)
    except orjson.JSONDecodeError:
        return None


def _dosage_text_unit(entry) -> str:
    """The unit the generator's dosage text names after its amount ("30 DF, ONCE" → DF)."""
    return entry.get("drugdosagetext", "").partition(" ")[2].split(",")[0]


def _dose(entry, drug) -> float | None:
    """The structured dose, else the one the dosage text gives, in the drug's unit ("2400 MG,
    ONCE"; not "1 DF, UNK" of a drug dosed in mg), or in tablets (DF) of the product name that
    states their strength ("OXYCODONE 10 MG", 30 DF)."""
    if "drugstructuredosagenumb" in entry:
        amount = entry["drugstructuredosagenumb"]
        unit = "DF" if entry["drugstructuredosageunit"] == "032" else UNIT_TEXT[drug.dose_unit]
    else:
        amount, unit = entry.get("drugdosagetext", "").partition(" ")[0], _dosage_text_unit(entry)
    if unit in (UNIT_TEXT[drug.dose_unit], UNIT_WORD[drug.dose_unit]):
        return float(amount)
    if unit in ("DF", UNIT_WORD["DF"]) and entry["medicinalproduct"] == strength_name(drug):
        return float(amount) * drug.usual_single_dose
    return None


def _over_max(report) -> bool:
    ref = load_reference()
    entry = report["patient"]["drug"][0]
    drug = ref.drug_by_name[entry["medicinalproduct"].upper()]
    dose = _dose(entry, drug)
    return drug.max_daily_dose is not None and dose is not None and dose > drug.max_daily_dose


def test_every_anomaly_of_the_scenario_has_a_line(manifest):
    scenario = load_scenario("demo")
    named = {a.anomaly_id for a in scenario.anomalies}
    assert named - {"faults"} <= manifest.keys()
    fault_lines = [k for k in manifest if k.startswith("faults#")]
    assert len(fault_lines) == sum(scenario.anomalies[-1].counts.values()) == 25
    assert {"followups", "duplicates"} <= manifest.keys()
    for line in manifest.values():
        assert line["count"] == len(line["event_seqs"])
        assert line["event_seqs"] == sorted(line["event_seqs"])


def test_manifest_seqs_are_emitted_events(manifest, by_seq):
    for line in manifest.values():
        for seq in line["event_seqs"]:
            assert seq in by_seq
        ids = {by_seq[s].key for s in line["event_seqs"]} - {None}
        assert ids == set(line["safetyreportids"])


def test_overdose_cluster_exactly(manifest, by_seq, demo_stream):
    line = manifest["overdose-oxycodone-us"]
    start = parse_instant(line["params"]["start"])
    end = start + line["params"]["duration_seconds"]
    carriers = set(line["event_seqs"])
    first_versions = [s for s in carriers if s % 4 == 0]
    assert len(first_versions) == 60  # 30 a day for 2 days
    named, dose_as_text, in_tablets = 0, 0, 0
    for seq in carriers:
        report = _report(by_seq[seq])
        assert report["occurcountry"] == "US"
        suspect = report["patient"]["drug"][0]
        assert suspect["activesubstance"]["activesubstancename"] == "OXYCODONE"
        named += bool({r["reactionmeddrapt"] for r in report["patient"]["reaction"]} & set(OVERDOSE_PTS))
        dose_as_text += "drugstructuredosagenumb" not in suspect
        in_tablets += (suspect.get("drugstructuredosageunit") == "032"
                       or _dosage_text_unit(suspect) in ("DF", UNIT_WORD["DF"]))
        assert report["serious"] == "1"
        assert _over_max(report)  # every one shows its dose, structured or as text
        if seq % 4 == 0:
            assert start <= by_seq[seq].time < end
    # most name the overdose; some give only the dose, some give the dose only as text, some
    # count tablets of the product name's strength
    assert 0.6 * len(carriers) < named < len(carriers)
    assert 0 < dose_as_text < 0.5 * len(carriers)
    assert 0 < in_tablets < 0.5 * len(carriers)
    # and nothing else: no other report has a dose above the maximum
    faults = {s for x in manifest.values() if x["type"] == "data_fault" for s in x["event_seqs"]}
    others = [e for e in demo_stream[1]
              if e.seq not in carriers and e.seq not in faults and _over_max(_report(e))]
    assert others == []


def test_signal_carriers_have_the_drug_and_the_reaction(manifest, by_seq, demo_stream):
    line = manifest["signal-dupilumab-alopecia"]
    start = parse_instant(line["params"]["start"])
    carriers = [s for s in line["event_seqs"] if s % 4 == 0]
    # Strength is the share of the drug's *background* reports that carry the reaction: reports
    # made by other anomalies (the spike, faults) never go through the signal's draw.
    others = {s for x in manifest.values() if x["anomaly_id"] != line["anomaly_id"]
              and x["type"] not in ("followup", "duplicate") for s in x["event_seqs"]}
    ref = load_reference()
    eligible = 0
    for event in demo_stream[1]:
        report = _report(event)
        if event.seq % 4 or event.time < start or event.seq in others:
            continue
        drug = ref.drug_by_name.get(str(report["patient"]["drug"][0].get("medicinalproduct"))
                                    .upper())
        if drug is not None and drug.generic_name == "DUPILUMAB":
            eligible += 1
    for seq in line["event_seqs"]:
        report = _report(by_seq[seq])
        assert ref.drug_by_name[report["patient"]["drug"][0]["medicinalproduct"].upper()] \
            .generic_name == "DUPILUMAB"
        assert "Alopecia" in {r["reactionmeddrapt"] for r in report["patient"]["reaction"]}
        assert by_seq[seq].time >= start
    # strength 0.35 of the drug's reports from the start on
    assert 0.15 < len(carriers) / eligible < 0.55


def test_spike_carriers(manifest, by_seq):
    line = manifest["spike-gb"]
    start = parse_instant(line["params"]["start"])
    end = start + line["params"]["duration_seconds"]
    first_versions = [s for s in line["event_seqs"] if s % 4 == 0]
    # (multiplier - 1) × background rate × duration = 5 × 4000/14 per day × 0.5 day
    assert len(first_versions) == round(5 * 4000 / 14 * 0.5)
    for seq in first_versions:
        assert start <= by_seq[seq].time < end
        assert _report(by_seq[seq])["occurcountry"] == "GB"


def test_data_faults_identify_their_events(manifest, by_seq):
    for line in manifest.values():
        if line["type"] != "data_fault":
            continue
        (seq,) = line["event_seqs"]
        event = by_seq[seq]
        assert hashlib.sha256(event.payload).hexdigest() == line["params"]["payload_sha256"]
        assert len(event.payload) == line["params"]["payload_bytes"]
        assert line["safetyreportids"] == ([event.key] if event.key else [])


def test_follow_up_and_duplicate_lines(manifest, by_seq, demo_stream):
    events = demo_stream[1]
    assert set(manifest["followups"]["event_seqs"]) == {e.seq for e in events if e.seq % 4 in (1, 2)}
    assert set(manifest["duplicates"]["event_seqs"]) == {e.seq for e in events if e.seq % 4 == 3}
    # anomalies are carried by their reports' later versions too
    overdose = set(manifest["overdose-oxycodone-us"]["event_seqs"])
    for seq in manifest["followups"]["event_seqs"] + manifest["duplicates"]["event_seqs"]:
        assert (seq in overdose) == ((seq - seq % 4) in overdose)


def test_written_manifest_round_trips(tmp_path, demo_stream):
    stream, _ = demo_stream
    path = stream.ground_truth.write(tmp_path / "gt" / "manifest.jsonl")
    assert read_manifest(path) == stream.ground_truth.lines()
    assert not list(path.parent.glob(".*")), "written through a temporary file, then renamed"


class _Recorder(Sink):
    def __init__(self, stop_after: int):
        super().__init__()
        self.seqs: list[int] = []
        self.stop_after = stop_after

    def send(self, events, starts=None):
        if len(self.seqs) >= self.stop_after:
            raise KeyboardInterrupt
        self.seqs.extend(e.seq for e in events)


def test_an_interrupted_run_names_only_events_it_handed_over():
    scenario = load_scenario("demo").with_overrides(reports=3000)
    stream = generate(scenario, seed=DEMO_SEED)
    sink = _Recorder(stop_after=1500)
    handed, interrupted, _ = _drive(stream, sink, rate=None, deadline=None)
    assert interrupted and handed == len(sink.seqs) < 3000
    named = {s for line in stream.ground_truth.lines() for s in line["event_seqs"]}
    assert named and named <= set(sink.seqs)
    complete = generate(scenario, seed=DEMO_SEED)
    list(complete)
    expected = {s for line in complete.ground_truth.lines() for s in line["event_seqs"]}
    assert named == expected & set(sink.seqs)


def test_discard_drops_fault_lines_left_empty():
    truth = GroundTruth("run")
    truth.declare("signal-1", "signal", {}, (0, 0, 0))
    truth.stage("faults#0000", "data_fault", {"kind": "empty_payload"}, (0, 1, 0), None, 8)
    truth.record("signal-1", "50000009", 4)
    truth.commit()
    truth.discard({4, 8})
    assert [(line["anomaly_id"], line["count"]) for line in truth.lines()] == [("signal-1", 0)]
