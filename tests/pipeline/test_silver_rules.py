"""Every validation rule, both ways: the base report passes all of them, and each case below
breaks exactly the rule it names. A rule added without a case here fails the last test."""

import pytest

from jobs import silver, silver_rules
from tests.pipeline.conftest import BASE_REPORT, bronze_frame, payload, report

pytestmark = pytest.mark.spark

BREAKS = {
    "payload_present": b"",
    "payload_within_size_limit": payload(report(sender={"senderorganization": "x" * 2_100_000})),
    "payload_is_utf8": b'{"safetyreportid": "10000001", "x": "\xff\xfe"}',
    "payload_is_json_object": b'{"safetyreportid": "10000001", ',
    "payload_keys_unique": b'{"safetyreportid": "10000002", ' + payload(BASE_REPORT)[1:],
    "payload_escapes_are_characters": payload(BASE_REPORT).replace(b"Nausea", b"Naus\\ud800ea"),
    "fields_match_contract": payload(report(patient_patientonsetage=45)),  # a number, not text
    "report_id_present": payload(report(safetyreportid=None)),
    "report_id_format": payload(report(safetyreportid="ABC-123")),
    "version_is_number": payload(report(safetyreportversion="two")),
    "receivedate_is_date": payload(report(receivedate="2024-13-45")),
    "serious_code_known": payload(report(serious="yes")),
    "patient_sex_known": payload(report(patient_patientsex="7")),
    "age_is_number": payload(report(patient_patientonsetage="fifty")),
    "age_unit_known": payload(report(patient_patientonsetageunit="999")),
    "weight_is_number": payload(report(patient_patientweight="heavy")),
    "has_reaction": payload(report(patient_reaction=[])),
    "reaction_outcome_known": payload(report(patient_reaction=[{"reactionmeddrapt": "Rash",
                                                                "reactionoutcome": "9"}])),
    "has_drug": payload(report(patient_drug=None)),
    "drug_characterization_known": payload(report(patient_drug=[{"medicinalproduct": "X",
                                                                 "drugcharacterization": "4"}])),
    "structured_dose_is_number": payload(report(patient_drug=[{"medicinalproduct": "X",
                                                               "drugstructuredosagenumb": "a lot"}])),
    "text_within_limits": payload(report(patient_reaction=[{"reactionmeddrapt": "N" * 101}])),
    "drug_reaction_pairs_within_limit": payload(report(
        patient_drug=[{"medicinalproduct": f"D{i}"} for i in range(401)],
        patient_reaction=[{"reactionmeddrapt": f"R{i}"} for i in range(250)])),
}


def _broken(spark, payloads):
    checked = silver_rules.with_broken_rules(silver.parse(bronze_frame(spark, payloads))).orderBy("offset")
    return [r.broken_rules for r in checked.select("offset", "broken_rules").collect()]


def test_base_report_and_lenient_real_world_shapes_pass_every_rule(spark):
    lenient = [
        payload(BASE_REPORT),
        payload(report(safetyreportversion=None)),  # old reports have no version
        payload(report(safetyreportid="6251678-1")),  # legacy id with a hyphenated check digit
        payload(report(receivedate="201602")),  # partial date
        payload(report(patient_patientonsetage=None, patient_patientonsetageunit=None)),
        payload(report(patient_drug=[{"medicinalproduct": "X", "drugstructuredosagenumb": ".5"}])),
        b'{"@epoch": 1417466131.85, ' + payload(BASE_REPORT)[1:],  # openFDA's own metadata
        payload(report(sender={"senderorganization": 'says "age": 5 in text'})),
        b"\r\n\t " + payload(BASE_REPORT) + b" \n",  # JSON whitespace around the object
        payload(BASE_REPORT) + b" \r\n" * 40,  # much whitespace after the object
        b"\xef\xbb\xbf" + payload(BASE_REPORT),  # a byte order mark, as Windows tools write
        payload(report(sender={"senderorganization": 'brackets in text: }{ }] ]} }, {'})),
        # text that starts like a list or object is still text
        payload(report(patient_drug=[{"medicinalproduct": "[BRAND] X", "drugcharacterization": "1",
                                      "drugdosagetext": '{1 tablet} "daily"'}])),
        payload(report(sender={"senderorganization": "{ACME}"}, occurcountry="[US]")),
        payload(report(patient_drug=[{"medicinalproduct": "X", "openfda": {
            "generic_name": ["5-FLUOROURACIL", "[X] {Y}", "true", "-"]}}])),
        # the same key in different objects, or in another case, is not a key given twice
        payload(report(patient_drug=[{"medicinalproduct": "X", "drugcharacterization": "1"},
                                     {"medicinalproduct": "Y", "drugcharacterization": "2"}])),
        b'{"SafetyReportId": "10000009", ' + payload(BASE_REPORT)[1:],
        # a whole surrogate pair is one character; an escaped backslash before "ud800" is text
        payload(BASE_REPORT).replace(b"Nausea", b"Nausea \\ud83d\\ude37"),
        payload(BASE_REPORT).replace(b"Nausea", b"Nausea \\\\ud800"),
        payload(BASE_REPORT).replace(b"Nausea", b"Nausea " + b"\\" * 34 + b"ud800"),  # 17 of them
        payload(BASE_REPORT).replace(b"Nausea", b"Nausea \\\\\\ud83d\\ude37"),  # "\\" then a pair
        payload(BASE_REPORT).replace(b"Nausea", "Nausée 😷".encode()),
        # text up to Vigil's limits, spaces around it not counted; drug-reaction pairs up to theirs
        payload(report(occurcountry=" " + "U" * 64 + " ", sender={"senderorganization": "S" * 400},
                       patient_reaction=[{"reactionmeddrapt": "  " + "N" * 100 + "  "}],
                       patient_drug=[{"medicinalproduct": "ß" * 100, "drugindication": "I" * 400,
                                      "drugdosageform": " " + "F" * 400 + " ",
                                      "drugadministrationroute": "R" * 64,
                                      "openfda": {"generic_name": ["G" * 200]}}])),
        payload(report(patient_drug=[{"medicinalproduct": f"D{i}"} for i in range(400)],
                       patient_reaction=[{"reactionmeddrapt": f"R{i}"} for i in range(250)])),
        payload(report(safetyreportversion="000001")),
    ]
    assert _broken(spark, lenient) == [[]] * len(lenient)


def test_each_case_breaks_exactly_its_rule(spark):
    names = list(BREAKS)
    got = _broken(spark, list(BREAKS.values()))
    assert dict(zip(names, got, strict=True)) == {name: [name] for name in names}


@pytest.mark.parametrize("wrong", [
    report(serious=1), report(safetyreportversion=2), report(receivedate=20240105),
    report(seriousnessother=True),
    # a list or object: from_json would read it as its JSON text, a term like any other
    report(patient_reaction=[{"reactionmeddrapt": ["Nausea", "Rash"]}]),
    report(patient_drug=[{"medicinalproduct": {"name": "TYLENOL"}, "drugcharacterization": "1"}]),
    report(occurcountry=["US"]),
    report(sender={"senderorganization": {"name": "ACME"}}),
    # an item of the list of generic names: it has no key of its own
    report(patient_drug=[{"medicinalproduct": "X", "drugcharacterization": "1",
                          "openfda": {"generic_name": ["ASPIRIN", 5]}}]),
    report(patient_drug=[{"medicinalproduct": "X", "drugcharacterization": "1"},
                         {"medicinalproduct": "Y", "openfda": {"generic_name": [{}]}}]),
    report(patient_drug=[{"medicinalproduct": "X", "openfda": {"generic_name": [True]}}]),
    # keys written with an escape, which JSON reads as the keys they spell
    payload(BASE_REPORT).replace(b'"serious": "1"', b'"seri\\u006fus": 1'),
    payload(BASE_REPORT).replace(b'"reactionmeddrapt": "Nausea"', b'"reactionmeddrap\\u0074": ["Nausea"]'),
    payload(BASE_REPORT).replace(b'"seriousnesshospitalization": "1"',
                                 b'"seriousnesshospitalizati\\u006fn": 1e999'),
])
def test_numbers_booleans_lists_and_objects_where_openfda_sends_text_break_the_contract(spark, wrong):
    assert _broken(spark, [payload(wrong)]) == [["fields_match_contract"]]


@pytest.mark.parametrize("twice", [
    # in the patient, in a drug, in a reaction
    payload(BASE_REPORT).replace(b'"patient": {', b'"patient": {"patientsex": "1", ', 1),
    payload(report(patient_drug=[{"medicinalproduct": "ASPIRIN", "drugcharacterization": "1"}]))
    .replace(b'"medicinalproduct": "ASPIRIN"',
             b'"medicinalproduct": "ASPIRIN", "medicinalproduct": "FENTANYL"'),
    payload(report(patient_reaction=[{"reactionmeddrapt": "Rash", "reactionoutcome": "1"}]))
    .replace(b'"reactionoutcome": "1"', b'"reactionoutcome": "1", "reactionoutcome": "5"'),
    # the same key once escaped: JSON reads both as "safetyreportid"
    b'{"safetyreport\\u0069d": "10000002", ' + payload(BASE_REPORT)[1:],
    # given twice, once with the wrong type: both parsers refuse it, yet it is one JSON object
    b'{"patient": "x", ' + payload(BASE_REPORT)[1:],
    b'{"serious": 1, ' + payload(BASE_REPORT)[1:],
])
def test_a_key_given_twice_at_any_depth_is_ambiguous(spark, twice):
    assert _broken(spark, [twice]) == [["payload_keys_unique"]]


@pytest.mark.parametrize("half", [
    b"\\udc00",  # a low half alone
    b"\\uD83D",  # a high half at the end of the text, in capitals
    b"\\ud83d\\ud83d\\ude37",  # a high half followed by a whole pair
    b"\\\\\\ud800",  # an escaped backslash, then the escape
    b"\\" * 35 + b"ud800",  # 17 escaped backslashes, then the escape: any run is read
    b"\\\\uD83D\\udc00",  # the text "\\uD83D", then a low half alone
])
def test_half_a_surrogate_pair_is_no_character(spark, half):
    """JSON can escape it, Unicode has no character for it: Spark would store "?"."""
    broken = payload(BASE_REPORT).replace(b"Nausea", b"Nausea " + half)
    assert _broken(spark, [broken]) == [["payload_escapes_are_characters"]]


@pytest.mark.parametrize("too_long", [
    report(occurcountry="U" * 65), report(primarysourcecountry="U" * 65, occurcountry=None),
    report(primarysource={"reportercountry": "U" * 65}),
    report(sender={"senderorganization": "S" * 401}),
    report(patient_reaction=[{"reactionmeddrapt": "Rash"}, {"reactionmeddrapt": " " + "N" * 101}]),
    report(patient_drug=[{"medicinalproduct": "X"}, {"medicinalproduct": "P" * 201}]),
    # upper-cased, as silver names products: "ß" becomes "SS"
    report(patient_drug=[{"medicinalproduct": "ß" * 101}]),
    report(patient_drug=[{"activesubstance": {"activesubstancename": "A" * 201}}]),
    report(patient_drug=[{"medicinalproduct": "X", "openfda": {"generic_name": ["G", "G" * 201]}}]),
    report(patient_drug=[{"medicinalproduct": "X", "drugindication": "I" * 401}]),
    report(patient_drug=[{"medicinalproduct": "X", "drugdosageform": "F" * 401}]),
    report(patient_drug=[{"medicinalproduct": "X", "drugadministrationroute": "R" * 65}]),
    # many texts just under the limit, then one over it: the pattern looks at each
    report(patient_reaction=[{"reactionmeddrapt": "N" * 100}] * 50 + [{"reactionmeddrapt": "N" * 101}]),
])
def test_text_longer_than_vigil_stores_breaks_its_rule(spark, too_long):
    """Silver would take it and the serving load reject the row, so that the dashboards'
    reports and counts disagree; the reason names the limits."""
    assert _broken(spark, [payload(too_long)]) == [["text_within_limits"]]


def test_version_zero_is_no_version_and_many_empty_drugs_do_not_overflow(spark):
    """openFDA's versions start at 1. And 300,000 empty drug and reaction objects fit in the
    payload limit: their counts multiplied as ints would overflow, which ANSI SQL raises."""
    many = b'{"safetyreportid": "10000001", "receivedate": "20240105", "patient": {"drug": [' + \
        b",".join([b"{}"] * 150_000) + b'], "reaction": [' + b",".join([b"{}"] * 150_000) + b"]}}"
    got = _broken(spark, [payload(report(safetyreportversion="0")), many])
    assert got[0] == ["version_is_number"]
    assert got[1] == ["has_reaction", "has_drug", "drug_reaction_pairs_within_limit"]


@pytest.mark.parametrize("reactions", [
    [{"reactionoutcome": "1"}], [{"reactionmeddrapt": "Rash"}, {"reactionmeddrapt": None}],
    [{"reactionmeddrapt": "Rash"}, {}], [{"reactionmeddrapt": "  "}],
])
def test_a_reaction_without_a_term_breaks_has_reaction(spark, reactions):
    """A missing term, not only a blank one (the rule read a missing one as passing)."""
    assert _broken(spark, [payload(report(patient_reaction=reactions))]) == [["has_reaction"]]


def test_text_where_an_object_is_expected_breaks_the_contract_and_what_follows(spark):
    """No patient object: the reactions and drugs are missing too, and all three are said."""
    got = _broken(spark, [payload(report(patient="not an object"))])
    assert got == [["fields_match_contract", "has_reaction", "has_drug"]]


def test_every_rule_has_a_case():
    assert {rule.name for rule in silver_rules.RULES} == set(BREAKS)


@pytest.mark.parametrize("lenient", [
    b"{'safetyreportid': '10000001'}",  # single quotes: Spark's reader takes them, JSON does not
    b'{"safetyreportid": "10000001", "x": NaN}',
    b'{"safetyreportid": "10000001", "x": Infinity}',
    b'{safetyreportid: "10000001"}',
    b'{"safetyreportid": "10000001",}',
    b'["not", "an object"]',
    # what follows the object: the JSON readers stop after it and would take the report
    payload(BASE_REPORT) + b"xyz",
    payload(BASE_REPORT) + b" 42",
    payload(BASE_REPORT) + b'"',
    # a second report after the first: the readers would take the first and lose the second
    payload(BASE_REPORT) + payload(report(safetyreportid="10000002")),
    payload(BASE_REPORT) + b"\n" + payload(report(safetyreportid="10000002")),
    payload(BASE_REPORT) + b", " + payload(report(safetyreportid="10000002")),
    # ... after closing a bracket the report never opened, to get past a check that wraps it
    payload(BASE_REPORT) + b"], " + payload(report(safetyreportid="10000002")),
    payload(BASE_REPORT) + b"}, " + payload(report(safetyreportid="10000002")),
])
def test_what_is_not_strict_json_is_not_a_json_object(spark, lenient):
    assert _broken(spark, [lenient]) == [["payload_is_json_object"]]


@pytest.mark.parametrize(("field", "rule"), [
    ("patient_patientonsetage", "age_is_number"), ("patient_patientweight", "weight_is_number"),
])
def test_a_number_too_large_for_a_double_breaks_its_rule(spark, field, rule):
    """1 followed by 400 zeros is a number, but not one a double holds: it would be stored as
    Infinity, which Azure SQL cannot take."""
    assert _broken(spark, [payload(report(**{field: "1" + "0" * 400}))]) == [[rule]]


@pytest.mark.parametrize("beyond", [
    b'{"safetyreportid": "10000001", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}",  # nesting
    payload(BASE_REPORT)[:-1] + b', "x": ' + b"9" * 5000 + b"}",  # a 5,000-digit number
])
def test_json_beyond_the_parsers_limits_is_quarantined_not_raised(spark, beyond):
    """Jackson refuses nesting deeper than 1,000 and numbers longer than 1,000 digits. Both
    parsers must turn that into a verdict rather than an exception: an exception would fail
    the batch, and the stream would fail on it again at every restart."""
    assert _broken(spark, [beyond]) == [["payload_is_json_object"]]


def test_no_payload_at_all_is_an_empty_payload(spark):
    """A Kafka tombstone (a null value) is empty, and nothing else."""
    assert _broken(spark, [None]) == [["payload_present"]]


def test_payload_rules_short_circuit_field_rules(spark):
    """A payload that is not JSON is reported as such, not as twenty missing fields."""
    assert _broken(spark, [b"not json at all"]) == [["payload_is_json_object"]]


def test_error_text_joins_the_reasons(spark):
    df = spark.createDataFrame([(["payload_present", "payload_is_json_object"],)], "r array<string>")
    text = df.select(silver_rules.error_text(df.r).alias("e")).first().e
    assert text == ("the event's payload is empty; the payload is not one JSON object: not JSON, "
                    "or followed by more (a second report)")


FREE_TEXT_NUMBERS = [
    ("12", 12.0), (" 12 ", 12.0), (".5", 0.5), ("1.", 1.0), ("007", 7.0), ("3.14159", 3.14159),
    ("0,5", 0.5), ("1,000", 1000.0), ("12,500.5", 12500.5), ("1 000", 1000.0), ("1\t000", 1000.0),
    ("1 ,000", 1000.0),
    # not a plain non-negative decimal
    ("abc", None), ("1e5", None), ("-1", None), ("+1", None), ("NaN", None), ("Infinity", None),
    ("0x10", None), ("1d", None), ("1.2.3", None), ("1,2,3", None), (".", None), ("", None),
    (None, None), ("2,5 mg", None), ("１２", None), ("\u00a012", None),
    ("1" + "0" * 400, None),  # beyond a double: Infinity
]


def test_free_text_numbers(spark):
    df = spark.createDataFrame([(text,) for text, _ in FREE_TEXT_NUMBERS], "v string")
    parsed = [r.n for r in df.select(silver_rules.number(df.v).alias("n")).collect()]
    assert parsed == [expected for _, expected in FREE_TEXT_NUMBERS]


OPENFDA_DATES = [
    ("20160215", "2016-02-15", "day"), ("  20160215 ", "2016-02-15", "day"),
    ("201602", "2016-02-01", "month"), ("2016", "2016-01-01", "year"),
    ("2016021", None, None), ("2016-02-15", None, None), ("20161315", None, None),
    ("20160230", None, None), ("18000101", None, None), ("２０１６", None, None), ("", None, None),
    (None, None, None), ("19000101", "1900-01-01", "day"), ("18991231", None, None),
    ("190001", "1900-01-01", "month"), ("1899", None, None),
]


def test_openfda_dates_full_and_partial(spark):
    df = spark.createDataFrame([(text,) for text, _, _ in OPENFDA_DATES], "v string")
    date, precision = silver.openfda_date(df.v)
    rows = df.select(date.cast("string").alias("d"), precision.alias("p")).collect()
    assert [(r.d, r.p) for r in rows] == [(d, p) for _, d, p in OPENFDA_DATES]


AGES = [  # (patientonsetage, unit, patientagegroup) → (age in years, age group)
    (("45", "801", None), (45.0, "adult")),
    (("3", "802", None), (0.25, "infant")),  # months
    (("10", "804", None), (10 / 365.25, "neonate")),  # days
    (("5", "801", None), (5.0, "child")),
    (("17", "801", None), (17.0, "adolescent")),
    (("0,5", "801", None), (0.5, "infant")),  # a decimal comma
    (("7", "800", None), (70.0, "elderly")),  # decades
    (("40", "801", "1"), (40.0, "adult")),  # the age wins over the reported group
    ((None, None, "6"), (None, "elderly")),  # no age: the reported group
    ((None, None, None), (None, "unknown")),
]


def test_age_in_years_and_age_group_from_the_age_else_the_reported_group(spark):
    payloads = [payload(report(patient_patientonsetage=age, patient_patientonsetageunit=unit,
                               patient_patientagegroup=group)) for (age, unit, group), _ in AGES]
    rows = silver.compact(silver.parse(bronze_frame(spark, payloads))).orderBy("offset").collect()
    assert [r.broken_rules for r in rows] == [[]] * len(AGES)
    got = [(r.patient_age_years, r.patient_age_group) for r in rows]
    assert got == [(pytest.approx(age) if age is not None else None, group)
                   for _, (age, group) in AGES]
