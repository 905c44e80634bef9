"""Generated reports look like FAERS: consistent seriousness, real drugs and terms, doses
within label, demographics that depend on the drug, follow-ups, duplicates and late reports."""

from __future__ import annotations

import re
import statistics
from collections import Counter

import orjson
import pytest

from generators.drug_entries import INTERVALS, dosing_day_amount, strength_name
from generators.ids import is_valid_report_id
from generators.reference import DOSE_UNIT_CODES, load_reference
from tests.generators.conftest import BACKGROUND_REPORTS

SERIOUSNESS = ("seriousnessdeath", "seriousnesslifethreatening", "seriousnesshospitalization",
               "seriousnessdisabling", "seriousnesscongenitalanomali", "seriousnessother")
# American spellings of MedDRA words; the lookbehinds let the British forms (oedema,
# haemorrhage, oesophagus, paraesthesia, …) through
AMERICAN = re.compile(r"diarrhea|(?<![a-z])edema|(?<!a)emorrhag|(?<![a-z])anemi|(?<!o)esophag|"
                      r"(?<![a-z])hemat|dyspnea|leukemi|ischemi|(?<!a)esthesia|(?<![a-z])fetal|"
                      r"tumor\b|(?<!o)estrogen|(?<![a-z])hemoglobin", re.I)


@pytest.fixture(scope="module")
def ref():
    return load_reference()


@pytest.fixture(scope="module")
def reports(background_events):
    return [(e, orjson.loads(e.payload)) for e in background_events]


@pytest.fixture(scope="module")
def originals(reports):
    return [(e, r) for e, r in reports if e.seq % 4 == 0]


def _primary(ref, report):
    return ref.drug_by_name[report["patient"]["drug"][0]["medicinalproduct"].upper()]


def test_reference_data_is_big_enough_and_consistent(ref):
    assert len(ref.drugs) >= 150
    assert len(ref.terms) >= 300
    terms = {t.pt for t in ref.terms}
    classes = ref.demographics["class_profiles"]
    for drug in ref.drugs:
        assert drug.brand_names and drug.product_names and drug.indications, drug.generic_name
        assert all(re.fullmatch(r"0([0-5]\d|6[0-7])", r) for r in drug.routes), drug.generic_name
        assert drug.dose_unit_code == DOSE_UNIT_CODES[drug.dose_unit]
        assert drug.usual_frequency in INTERVALS
        assert {pt for pt, _ in drug.labelled_reactions} <= terms, drug.generic_name
        assert drug.drug_class in classes
        if drug.max_daily_dose is not None:
            assert dosing_day_amount(drug.usual_single_dose, drug.usual_frequency) \
                <= drug.max_daily_dose, drug.generic_name
    names = Counter(n.upper() for d in ref.drugs for n in {d.generic_name, *d.product_names})
    assert [n for n, c in names.items() if c > 1] == [], "a product name maps to one generic"
    assert [t.pt for t in ref.terms if AMERICAN.search(t.pt)] == []


def test_ids_versions_and_dates(reports):
    for event, report in reports:
        assert event.key == report["safetyreportid"] and is_valid_report_id(event.key)
        assert re.fullmatch(r"\d{8}", report["receivedate"])
        assert report["receivedate"] <= report["receiptdate"] <= report["transmissiondate"]
        assert int(report["safetyreportversion"]) == 1 + (event.seq % 4 if event.seq % 4 != 3 else 0)
    first = [e.key for e, r in reports if e.seq % 4 == 0]
    assert len(first) == len(set(first)) == BACKGROUND_REPORTS


def test_seriousness_follows_the_outcomes(originals):
    serious = 0
    for _, report in originals:
        flags = [f for f in SERIOUSNESS if report.get(f) == "1"]
        fatal = any(r.get("reactionoutcome") == "5" for r in report["patient"]["reaction"])
        assert (report["serious"] == "1") == bool(flags)
        assert ("seriousnessdeath" in flags) == fatal
        assert report["fulfillexpeditecriteria"] == report["serious"]
        assert ("patientdeath" in report["patient"]) <= fatal
        serious += report["serious"] == "1"
    assert 0.45 < serious / len(originals) < 0.8  # FAERS: most reports are serious


def test_reactions_are_meddra_terms_in_british_spelling(ref, originals):
    terms = {t.pt for t in ref.terms}
    seen = Counter(r["reactionmeddrapt"] for _, rep in originals for r in rep["patient"]["reaction"])
    assert set(seen) <= terms
    assert not [t for t in seen if AMERICAN.search(t)]
    assert len(seen) > 250, "a broad vocabulary, not a handful of terms"
    per_report = Counter(len(rep["patient"]["reaction"]) for _, rep in originals)
    assert per_report[1] > per_report[2] > per_report[4] > 0


def test_drugs_are_known_products_at_doses_within_label(ref, originals):
    per_report, in_tablets = Counter(), 0
    for _, report in originals:
        drugs = report["patient"]["drug"]
        per_report[len(drugs)] += 1
        assert drugs[0]["drugcharacterization"] == "1", "the primary suspect comes first"
        for entry in drugs:
            drug = ref.drug_by_name[entry["medicinalproduct"].upper()]
            assert entry["drugcharacterization"] in ("1", "2", "3")
            route = entry.get("drugadministrationroute")
            assert route is None or route in (*drug.routes, "065")
            if "drugstructuredosagenumb" in entry:
                amount = float(entry["drugstructuredosagenumb"])
                if entry["drugstructuredosageunit"] == "032" and drug.dose_unit_code != "032":
                    # tablets of the strength the product name states
                    assert entry["medicinalproduct"] == strength_name(drug), entry
                    amount *= drug.usual_single_dose
                    in_tablets += 1
                else:
                    assert entry["drugstructuredosageunit"] == drug.dose_unit_code
                if drug.max_daily_dose is not None:
                    daily = dosing_day_amount(amount, drug.usual_frequency)
                    assert daily <= drug.max_daily_dose + 1e-9, (drug.generic_name, entry)
    assert per_report[1] > per_report[2] > per_report[3] > 0
    assert in_tablets > 0


def test_demographics_depend_on_the_drug_class(ref, originals):
    ages, female, sexed = {}, Counter(), Counter()
    for _, report in originals:
        cls = _primary(ref, report).drug_class
        patient = report["patient"]
        if patient.get("patientonsetageunit") == "801":
            ages.setdefault(cls, []).append(float(patient["patientonsetage"]))
        if patient.get("patientsex") in ("1", "2"):
            sexed[cls] += 1
            female[cls] += patient["patientsex"] == "2"
    assert female["hormonal_contraceptive"] / sexed["hormonal_contraceptive"] > 0.97
    assert female["bone_resorption_inhibitor"] / sexed["bone_resorption_inhibitor"] > 0.75
    assert 0.3 < female["statin"] / sexed["statin"] < 0.6
    assert statistics.median(ages["adhd_stimulant"]) < 20 < 55 < statistics.median(ages["statin"])
    assert statistics.median(ages["antidementia"]) > 75


def test_fields_are_missing_as_often_as_in_faers(originals):
    n = len(originals)
    with_age = sum("patientonsetage" in r["patient"] for _, r in originals)
    with_weight = sum("patientweight" in r["patient"] for _, r in originals)
    with_country = sum("occurcountry" in r for _, r in originals)
    us = sum(r.get("occurcountry") == "US" for _, r in originals)
    assert 0.55 < with_age / n < 0.75
    assert 0.2 < with_weight / n < 0.36
    assert 0.83 < with_country / n < 0.93
    assert 0.45 < us / with_country < 0.7


def test_follow_ups_duplicates_and_late_reports(reports):
    by_seq = {e.seq: (e, r) for e, r in reports}
    followups = [(e, r) for e, r in reports if e.seq % 4 in (1, 2)]
    duplicates = [e for e, _ in reports if e.seq % 4 == 3]
    originals = [e for e, _ in reports if e.seq % 4 == 0]
    assert 0.03 < len({e.key for e, _ in followups}) / len(originals) < 0.07  # share 0.05
    assert 0.005 < len(duplicates) / len(originals) < 0.015  # share 0.01
    for event, report in followups:
        first, first_report = by_seq[event.seq - event.seq % 4]
        assert event.key == first.key and event.time > first.time
        assert int(report["safetyreportversion"]) == event.seq % 4 + 1
        assert report["receiptdate"] >= first_report["receiptdate"]
    for event in duplicates:
        first, _ = by_seq[event.seq - 3]
        assert event.payload == first.payload and event.time >= first.time
    late = [r for e, r in reports if e.seq % 4 == 0 and r["receivedate"] < r["transmissiondate"]]
    assert 0.06 < len(late) / len(originals) < 0.14  # share 0.10
    arrival_order = [r["receivedate"] for e, r in reports]
    assert arrival_order != sorted(arrival_order), "event time is out of order at arrival"


def test_a_follow_up_changes_only_what_a_follow_up_changes(reports):
    """Version, receipt and transmission dates, reaction outcomes, and what a new death implies
    (seriousnessdeath, patientdeath); the same terms in the same order, everything else as
    it was in the version before."""
    by_seq = {e.seq: r for e, r in reports}
    followups = [(e, r) for e, r in reports if e.seq % 4 in (1, 2)]
    deaths = 0
    for event, report in followups:
        before = by_seq[event.seq - 1]  # the version this one was made from
        terms = [x["reactionmeddrapt"] for x in report["patient"]["reaction"]]
        assert terms == [x["reactionmeddrapt"] for x in before["patient"]["reaction"]]
        died = any(x.get("reactionoutcome") == "5" for x in report["patient"]["reaction"])
        if died:
            assert report["serious"] == report["seriousnessdeath"] == "1"
            assert "patientdeath" in report["patient"]
            deaths += before.get("seriousnessdeath") != "1"
        changed = {"safetyreportversion", "receiptdate", "transmissiondate", "patient"}
        if died and before.get("seriousnessdeath") != "1":
            changed |= {k for k in report.keys() | before.keys() if k.startswith("serious")}
            changed.add("fulfillexpeditecriteria")
        assert {k: v for k, v in report.items() if k not in changed} == \
               {k: v for k, v in before.items() if k not in changed}
        assert list(report) == [k for k in report if k in before or k.startswith("serious")]
        patient_keys = {"reaction", "patientdeath"}
        assert {k: v for k, v in report["patient"].items() if k not in patient_keys} == \
               {k: v for k, v in before["patient"].items() if k not in patient_keys}
    assert deaths > 0, "some follow-ups report a new death"
