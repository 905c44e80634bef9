"""What `jobs.dosage_text` reads from free-text doses, and what it refuses to guess. Texts from
the real openFDA sample first, then the forms senders use and hostile ones."""

import pytest
from pyspark.sql import functions as F

from jobs import dosage_text
from jobs.silver_rules import upper_words

pytestmark = pytest.mark.spark

MG, UG, G, DF, IU = "003", "004", "002", "032", "025"
DAY, WEEK = 1.0, 7.0

# text → (amount, unit code, (doses, every days)); None where nothing may be read
CASES = {
    # from shared/reference/openfda-sample.jsonl
    "157.3 MCG/DAY": (157.3, UG, (1, DAY)),
    "0.5 MG, QD": (0.5, MG, (1, DAY)),
    "25 MG, BID": (25.0, MG, (2, DAY)),
    "380 MILLIGRAM": (380.0, MG, None),
    "30 MG FOR 2 WEEKS": (30.0, MG, None),
    "25 MG, ONCE AT NIGHT": (25.0, MG, None),
    "50 MG, UNK (FREQUENCY 2)": (50.0, MG, None),
    "15 MG, Q 4 WEEKS, INTRAVENOUS": (15.0, MG, (1, 4 * WEEK)),
    "1 DF, TID  (SPRAY) (MORNING, NOON AND NIGHT)": (1.0, DF, (3, DAY)),
    "UNK, QOD": (None, None, (1, 2.0)),
    "0.1 U/KG": (None, None, None),
    "50/140 MG, UNKNOWN": (None, None, None),
    "160/4.5MCG 2 PUFFS TWICE DAILY": (None, None, (2, DAY)),
    "HALF A TABLET CRUSHED, TOOK WITH ICE CREAM": (None, None, None),
    "DILUTED WITH 1 ML": (None, None, None),
    "UNK UNK, UNKNOWN FREQ.": (None, None, None),
    # forms senders use
    "40 MG, 1 IN 1 D": (40.0, MG, (1, DAY)),
    "100 MG, 1 IN 2 WK": (100.0, MG, (1, 2 * WEEK)),
    "2 g qid": (2.0, G, (4, DAY)),
    "1,000 mg bid": (1000.0, MG, (2, DAY)),
    "0,5 mg 2x/day": (0.5, MG, (2, DAY)),
    ".5 MG 3 TIMES A DAY": (0.5, MG, (3, DAY)),
    "10 MG PER DAY": (10.0, MG, (1, DAY)),
    "10 MG / DAY": (10.0, MG, (1, DAY)),
    "20 MG 2/DAY": (20.0, MG, (2, DAY)),
    "100 MG Q4H": (100.0, MG, (1, 4 / 24)),
    "10 MG Q72H": (10.0, MG, (1, 3.0)),
    "70 MG WEEKLY": (70.0, MG, (1, WEEK)),
    "10 mg TIW": (10.0, MG, (3, WEEK)),
    "40 MG, QOW": (40.0, MG, (1, 2 * WEEK)),
    "40 MG EVERY OTHER WEEK": (40.0, MG, (1, 2 * WEEK)),
    "40 MG BIWEEKLY": (40.0, MG, None),  # twice a week or every two weeks: not said
    "5 MG Q3M": (5.0, MG, (1, 3 * 30.4375)),
    "10 µg daily": (10.0, UG, (1, DAY)),
    "  60   G  ": (60.0, G, None),
    "10000 MG, ONCE": (10000.0, MG, None),
    # dosage forms and international units, which gold compares only in the reference's unit
    "2 DF, BID": (2.0, DF, (2, DAY)),
    "20 IU, QD": (20.0, IU, (1, DAY)),
    "28 df once": (28.0, DF, None),
    "10 IU/KG": (None, None, None),
    "10 UNITS, QD": (None, None, (1, DAY)),  # tablets or international units: not said
    # units spelled out, as the sample's "380 MILLIGRAM" is; tablets and capsules
    "1 DOSAGE FORM, QD": (1.0, DF, (1, DAY)),
    "30 DOSAGE FORM, TOTAL": (30.0, DF, None),
    "2 DOSAGE FORMS, 1 IN 1 D": (2.0, DF, (1, DAY)),
    "20 INTERNATIONAL UNIT, QD": (20.0, IU, (1, DAY)),
    "5000 INTERNATIONAL UNITS BID": (5000.0, IU, (2, DAY)),
    "2 TABLET(S), TID": (2.0, DF, (3, DAY)),
    "1 tab po qhs": (1.0, DF, (1, DAY)),
    "20 TABLETS ONCE": (20.0, DF, None),
    "2 CAPSULES TWICE DAILY": (2.0, DF, (2, DAY)),
    "10 INTERNATIONAL UNIT/KG": (None, None, None),
    "1 DOSAGE FORM PER DOSE": (None, None, None),
    "2 TABLE SPOONS": (None, None, None),
    # a dose of 0 is one the sender did not know; its frequency still counts
    "0 MG, QD": (None, None, (1, DAY)),
    "0.0 MG": (None, None, None),
    "0,5 MG": (0.5, MG, None),
    "1 TABLESPOON": (None, None, None),
    # a dose per body weight, area, volume, hour or tablet is no amount
    "15 mg/kg/day": (None, None, (1, DAY)),
    "10 MG PER KG": (None, None, None),
    "1000 MG/M2": (None, None, None),
    "2 mg/h": (None, None, None),
    "500 MG/TABLET": (None, None, None),
    "5 MILLIGRAM/KILOGRAM": (None, None, None),
    "5 MG, QD (PER KILOGRAM)": (None, None, (1, DAY)),
    "5 MG, THEN 2 MG/KG": (None, None, None),
    # ranges, products, other units, no number
    "500-1000 MG": (None, None, None),
    "2 X 500 MG": (None, None, None),
    "5 GTT": (None, None, None),
    "1E5 MG": (None, None, None),
    "MG 500": (None, None, None),
    "12.5/DAY": (None, None, (1, DAY)),  # "5/DAY" is not read out of "12.5"
    # frequencies beyond 24 doses a day, or none a day, are not read
    "1 G 99 TIMES A DAY": (1.0, G, None),
    "1 G 0 TIMES A DAY": (1.0, G, None),
    "1 G Q0H": (1.0, G, None),
    "": (None, None, None),
}


@pytest.fixture(scope="module")
def read(spark):
    texts = spark.createDataFrame([(t,) for t in [*CASES, None]], "text string")
    rows = dosage_text.read(texts.withColumn("t", upper_words(F.col("text"))), "t").collect()
    assert rows[0].asDict().keys() == {"text", "t", "_text_amount", "_text_unit", "_text_doses", "_text_days"}
    return {r.text: r for r in rows}


@pytest.mark.parametrize("text", [*CASES, None])
def test_what_a_dosage_text_says(read, text):
    amount, unit, frequency = CASES.get(text, (None, None, None))
    r = read[text]
    assert (r._text_amount, r._text_unit) == (amount, unit)
    if frequency is None:
        assert (r._text_doses, r._text_days) == (None, None)
    else:
        assert (r._text_doses, r._text_days) == pytest.approx(frequency)
