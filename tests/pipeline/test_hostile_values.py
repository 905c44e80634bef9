"""Real reports with values that are well-typed but extreme — long text, odd codes, numbers at a
double's edge, impossible dates, version 0, weight 0 — through every stage: silver, gold, the
signals and the serving load. Whatever silver accepts, the serving database must take whole:
a row it rejects is missing from the dashboards while the daily counts include its report, so
the pages would disagree. Whatever silver refuses is quarantined, and the serving database
takes the quarantine row too.

`test_silver_fuzz.py` breaks the JSON and the types; this breaks the values.
"""

from __future__ import annotations

import json
import random

import pytest

from jobs import pipeline, signals, silver, silver_rules, tables
from jobs.serving.connections import DuckDBDatabase, local_database_path
from jobs.serving.load import load_all
from tests.conftest import shared_file
from tests.pipeline.conftest import table, write_bronze

pytestmark = pytest.mark.spark

NUMBERS = ["1e308", "99999999999999999999999", "0", "0.0", "-0", "-5", " 12 ", "1,5", "1,000",
           "12abc", ".5", "5.", "0.0001", "1" + "0" * 308, "1" + "0" * 309, "１２", "+5"]
DATES = ["99991231", "00010101", "19000101", "18991231", "20240230", "2024", "202413", "1", "",
         " ", "２０２４０１０１", "20240101000000", "2024-01-01", "20991231", "20000229"]
CODES = ["0", "1", "2", "3", "5", "6", "7", "99", "01", " 1 ", "", "1.0", "-1", "800", "805",
         "806", "001", "007", "031", "032", "804", "9" * 40]
LIMITS = [silver_rules.COUNTRY_OR_ROUTE_CHARS, silver_rules.MEDDRA_TERM_CHARS,
          silver_rules.DRUG_NAME_CHARS, silver_rules.FREE_TEXT_CHARS]
TEXT = ["", " ", "é中😷", "'; DROP TABLE x; --", "\u0000", "\u200b", "a\nb", "NULL", "\\", '"',
        "İ", "ß", "ﬃ", "\U0010ffff", "\t", "x" * 5000,
        # at and just over each limit, with spaces around, and letters that grow upper-cased
        *[f" {c * n} " for n in LIMITS for c in ("x", "ß")],
        *["y" * (n + 1) for n in LIMITS], *["ß" * (n // 2 + 1) for n in LIMITS]]
REPORT_FIELDS = {"safetyreportversion": ["0", "00", "000001", "999999", " 7 ", "1", "1000000"],
                 "receivedate": DATES, "receiptdate": DATES, "transmissiondate": DATES,
                 "serious": CODES, "seriousnessdeath": CODES, "reporttype": CODES,
                 "occurcountry": TEXT + ["us", " GB "], "primarysourcecountry": TEXT}
PATIENT_FIELDS = {"patientonsetage": NUMBERS, "patientonsetageunit": CODES,
                  "patientagegroup": CODES, "patientsex": CODES, "patientweight": NUMBERS}
DRUG_FIELDS = {"medicinalproduct": TEXT + ["TYLENOL", " tylenol "], "drugcharacterization": CODES,
               "drugdosagetext": TEXT, "drugstructuredosagenumb": NUMBERS,
               "drugstructuredosageunit": CODES, "drugseparatedosagenumb": NUMBERS,
               "drugintervaldosageunitnumb": NUMBERS, "drugintervaldosagedefinition": CODES,
               "drugadministrationroute": TEXT + CODES, "drugindication": TEXT,
               "drugdosageform": TEXT + ["GEL", "TRANSDERMAL PATCH"]}
REACTION_FIELDS = {"reactionmeddrapt": TEXT + ["Overdose", "Intentional overdose", "Death"],
                   "reactionoutcome": CODES}


def _set(report: dict, rng: random.Random) -> None:
    """One field of the report, of its patient, a drug or a reaction given an extreme value."""
    patient = report.setdefault("patient", {})
    where = rng.randrange(5)
    if where == 0:
        target, fields = report, REPORT_FIELDS
    elif where == 1:
        target, fields = patient, PATIENT_FIELDS
    elif where == 2:
        if not isinstance(report.get("primarysource"), dict):  # absent, or null in the report
            report["primarysource"] = {}
        target, fields = report["primarysource"], {"reportercountry": TEXT}
    elif where == 3 and patient.get("drug"):
        target, fields = rng.choice(patient["drug"]), DRUG_FIELDS
        if rng.random() < 0.2:
            target.setdefault("openfda", {})["generic_name"] = [rng.choice(TEXT)]
            return
    elif patient.get("reaction"):
        target, fields = rng.choice(patient["reaction"]), REACTION_FIELDS
    else:
        return
    field = rng.choice(list(fields))
    target[field] = rng.choice(fields[field])


def extreme_reports(count: int, seed: int) -> list[bytes]:
    lines = shared_file("reference/openfda-sample.jsonl").read_text().splitlines()
    reports = [json.loads(line) for line in lines if line.strip()]
    rng = random.Random(seed)
    payloads = []
    for _ in range(count):
        report = json.loads(json.dumps(rng.choice(reports)))
        # ids shared by several events, so versions and corrections are decided among them too
        report["safetyreportid"] = str(10_000_000 + rng.randrange(count // 2))
        for _ in range(rng.randint(1, 4)):
            _set(report, rng)
        payloads.append(json.dumps(report, ensure_ascii=rng.random() < 0.5).encode())
    return payloads


def test_what_silver_accepts_the_serving_database_takes_whole(spark, fresh_settings):
    payloads = extreme_reports(800, seed=17)
    write_bronze(spark, fresh_settings, payloads)
    available_now = {"availableNow": True}
    pipeline.await_run(silver.start(spark, fresh_settings, available_now))
    pipeline.run_gold(spark, fresh_settings, available_now)
    signals.run_available_now(spark, fresh_settings)
    counts = pipeline.reconcile(spark, fresh_settings).first()
    assert counts.unaccounted == 0
    assert counts.in_silver > 200 and counts.quarantined > 200, counts  # both paths taken

    summary = load_all(spark, fresh_settings)

    with DuckDBDatabase(local_database_path(fresh_settings), read_only=True) as db:
        rejects = db.query("SELECT table_name, reason, row_json FROM vigil.load_reject")
        served = {name: db.query(f"SELECT COUNT(*) FROM vigil.{name}")[0][0]
                  for name in ("fact_report", "fact_report_drug", "fact_report_reaction",
                               "fact_flags", "fact_quarantine")}
    assert summary.rows_rejected == 0, rejects[:5]
    assert served == {
        "fact_report": table(spark, fresh_settings, tables.REPORT).count(),
        "fact_report_drug": table(spark, fresh_settings, tables.DRUG).count(),
        "fact_report_reaction": table(spark, fresh_settings, tables.REACTION).count(),
        "fact_flags": table(spark, fresh_settings, tables.FLAGS).count(),
        "fact_quarantine": counts.quarantined,
    }
