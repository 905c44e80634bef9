"""Data faults: the broken events a real feed delivers, made on purpose and named in the ground truth.

Every fault starts from a valid report and breaks it in one documented way. The result is the
raw bytes a sink delivers as they are, so the pipeline meets the same bytes it would meet in
production. Faulty payloads never contain a newline, so JSON-lines files keep one event a line.
"""

from __future__ import annotations

import random

import orjson

# fields the contract requires; missing_required removes one of them, in this rotation
REQUIRED_FIELDS = ("safetyreportid", "receivedate", "patient", "patient.reaction", "patient.drug")
# wrong_types changes one field's JSON type, in this rotation
WRONG_TYPES = (
    ("patient.patientonsetage", lambda report: 45),
    ("serious", lambda report: 1),
    ("safetyreportversion", lambda report: 2),
    ("patient.drug", lambda report: report["patient"]["drug"][0]),  # an object, not an array
    ("receivedate", lambda report: int(report["receivedate"])),
)
FUTURE_YEARS = 30


def _without(report: dict, path: str) -> dict:
    head, _, rest = path.partition(".")
    copy = dict(report)
    if rest:
        copy[head] = _without(copy[head], rest)
    else:
        del copy[head]
    return copy


def _with(report: dict, path: str, value) -> dict:
    head, _, rest = path.partition(".")
    copy = dict(report)
    copy[head] = _with(copy[head], rest, value) if rest else value
    return copy


def make_fault(kind: str, k: int, report: dict, rng: random.Random,
               oversize_bytes: int) -> tuple[bytes, str | None, str | None]:
    """(payload, the field it concerns or None, the report id the event still carries or None).

    `k` is the fault's index within its scenario entry; it picks the field where there is a
    rotation, so a scenario's faults cover every variant.
    """
    report_id = report["safetyreportid"]
    if kind == "malformed_json":
        text = orjson.dumps(report)
        cut = rng.randrange(len(text) // 3, len(text) - 2)
        return text[:cut], None, report_id
    if kind == "missing_required":
        path = REQUIRED_FIELDS[k % len(REQUIRED_FIELDS)]
        return (orjson.dumps(_without(report, path)), path,
                None if path == "safetyreportid" else report_id)
    if kind == "impossible_age":
        patient = dict(report["patient"])
        patient = {"patientonsetage": "250", "patientonsetageunit": "801",
                   **{f: v for f, v in patient.items()
                      if f not in ("patientonsetage", "patientonsetageunit", "patientagegroup")}}
        return orjson.dumps({**report, "patient": patient}), "patient.patientonsetage", report_id
    if kind == "future_date":
        future = f"{int(report['receivedate'][:4]) + FUTURE_YEARS}{report['receivedate'][4:]}"
        return orjson.dumps(_with(report, "receivedate", future)), "receivedate", report_id
    if kind == "wrong_types":
        path, make = WRONG_TYPES[k % len(WRONG_TYPES)]
        return orjson.dumps(_with(report, path, make(report))), path, report_id
    if kind == "empty_payload":
        return b"", None, None
    if kind == "concatenated_json":
        # the same report twice in one event, as a producer that retried into its send buffer
        # would send it; a JSON reader that stops after the first object would see one report
        text = orjson.dumps(report)
        return text + text, None, report_id
    if kind == "duplicate_key":
        # the id twice, with two values, as a producer that puts its own record id in front of
        # the report's fields; JSON readers disagree on which one counts
        other = str(rng.randrange(10_000_000, 100_000_000)).encode()
        return b'{"safetyreportid":"' + other + b'",' + orjson.dumps(report)[1:], "safetyreportid", report_id
    if kind == "invalid_utf8":
        text = orjson.dumps(report)
        name = report["patient"]["drug"][0]["medicinalproduct"].encode()
        at = text.index(name) + len(name) // 2
        # 0xC3 starts a two-byte sequence; 0x28 '(' cannot continue it
        return text[:at] + b"\xc3\x28" + text[at:], "patient.drug[0].medicinalproduct", report_id
    if kind == "oversize":
        filler = "ADDITIONAL NARRATIVE FOLLOWS. " * (oversize_bytes // 30 + 1)
        patient = {**report["patient"], "summary": {"narrativeincludeclinical": filler}}
        return (orjson.dumps({**report, "patient": patient}), "patient.summary.narrativeincludeclinical",
                report_id)
    raise ValueError(f"unknown fault kind {kind!r}")
