"""Doses read from a drug's free-text dosage (`drugdosagetext`), where its structured fields
say nothing. Real reports often carry the dose only as text — "157.3 MCG/DAY",
"30 MG FOR 2 WEEKS", "40 MG, 1 IN 1 D" — or give the amount in the structured fields and the
frequency only in the text ("25 MG, ONCE AT NIGHT", "15 MG, Q 4 WEEKS").

The reading is narrow on purpose, because a dose read too high raises a false overdose:
- an amount is read only where the text starts with a number and a unit of mass, dosage
  forms (DF) or international units (IU), and nothing in the text makes it a dose per body
  weight, area, volume or hour ("15 MG/KG", "1000 MG/M2", "2 MG/H");
- ranges, products and combinations ("500-1000 MG", "2 X 500 MG", "50/140 MG",
  "160/4.5MCG") and every other text ("UNK", "HALF A TABLET") leave the dose unknown;
- a frequency is read from the abbreviations and phrases below, at most 24 doses a day; a
  single dose ("ONCE", "TOTAL") or "as needed" has none.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver_rules import number

# Where a drug's dose came from (silver.adverse_event_drug.dose_source).
SOURCE_STRUCTURED = "structured"
SOURCE_TEXT = "dosage text"
SOURCE_TEXT_FREQUENCY = "structured, frequency from text"

# Days in each unit a dosing interval is counted in (also ICH E2B's interval codes, in silver).
DAYS = {"year": 365.25, "month": 30.4375, "week": 7.0, "day": 1.0, "hour": 1 / 24, "minute": 1 / 1440}
MAX_DOSES_PER_DAY = 24.0

# The text's unit → ICH E2B's unit code (silver.DOSE_UNITS gives a mass's factor to mg; DF and
# IU have none, and gold compares them only with a reference dose in the same unit). Units as
# abbreviated and as spelled out — as the real sample's "380 MILLIGRAM", senders write
# "1 DOSAGE FORM, QD", "20 INTERNATIONAL UNIT" — and tablets and capsules, which are dosage
# forms. Not "UNITS" or "U": a count of units is as often tablets as international units.
# Upper-casing turns "µg" and "μg" into "ΜG" (Greek capital mu).
_UNITS = {"MG": "003", "MGS": "003", "MILLIGRAM": "003", "MILLIGRAMS": "003",
          "MCG": "004", "UG": "004", "ΜG": "004", "MICROGRAM": "004", "MICROGRAMS": "004",
          "G": "002", "GM": "002", "GRAM": "002", "GRAMS": "002",
          "NG": "005", "NANOGRAM": "005", "NANOGRAMS": "005",
          "DF": "032", "DOSAGE FORM": "032", "DOSAGE FORMS": "032",
          "TABLET": "032", "TABLETS": "032", "TAB": "032", "TABS": "032",
          "CAPSULE": "032", "CAPSULES": "032",
          "IU": "025", "INTERNATIONAL UNIT": "025", "INTERNATIONAL UNITS": "025"}
_UNIT_ALTERNATIVES = "|".join(sorted(_UNITS, key=len, reverse=True))
# A number, then a unit that is a whole word, not followed by "/x" or "PER x" unless x is
# a day ("MG/DAY" is a daily dose, "MG/KG" is not a dose at all).
AMOUNT = (r"^([0-9][0-9,]*(?:\.[0-9]+)?|[.,][0-9]+)\s*(" + _UNIT_ALTERNATIVES + r")(?![\p{L}0-9])"
          r"(?!\s*+(?:/|PER\b)\s*+(?!(?:DAY|D)\b))")  # possessive: no backtracking past the space
# Anywhere in the text, these make the amount relative to something the report may not give.
PER_SOMETHING = (r"(?:/|\bPER\s+)\s*(?:KG|KILOGRAMS?|G|M2|M\^2|M²|SQ|BSA|ML|L|DL|H|HR|HRS|HOUR|HOURS"
                 r"|MIN|MINUTE|MINUTES|DOSE|TABLET|TAB|CAPSULE|CAP)\b")

# A count of doses over a count of some unit: "1 IN 1 D" (as Johnson & Johnson's reports write
# it), "2X/DAY", "3 TIMES A DAY", "Q4H", "EVERY 2 WEEKS", "Q3M".
_UNIT = r"(H|HRS?|HOURS?|D|DAYS?|W|WKS?|WEEKS?|M|MO|MOS|MONTHS?|Y|YRS?|YEARS?)"
_COUNT = r"(?<![0-9.,])([0-9]{1,3})(?![0-9.,])"  # a whole count, not part of "12.5" or "1,000"
_PER_UNIT = {"H": "hour", "D": "day", "W": "week", "M": "month", "Y": "year"}  # by first letter
COUNTED = (
    # (pattern, group of the doses, group of the interval's count or None for one, group of its unit)
    (_COUNT + r"\s+IN\s+" + _COUNT + r"\s*" + _UNIT + r"\b", 1, 2, 3),
    (_COUNT + r"\s*(?:X|TIMES)\s*(?:/|\bA\b|\bPER\b|\bEVERY\b|\bEACH\b)\s*(DAY|D|WEEK|WK|MONTH|YEAR)\b",
     1, None, 2),
    (_COUNT + r"\s*(?:X|TIMES)\s*(DAI|WEEK|MONTH|YEAR)LY\b", 1, None, 2),
    (_COUNT + r"\s*/\s*(DAY|D|WEEK|WK|MONTH)\b", 1, None, 2),  # "2/DAY"; "MG/DAY" is NAMED's
    (r"\b(?:Q|EVERY)\s*" + _COUNT + r"\s*" + _UNIT + r"\b", None, 1, 2),
)
# Named frequencies: (pattern, doses, days). Checked after the counted ones, in this order.
NAMED = (
    (r"\b(?:QID|QDS|FOUR TIMES (?:A |PER )?DAY|FOUR TIMES DAILY)\b", 4, 1.0),
    (r"\b(?:TID|TDS|THREE TIMES (?:A |PER )?DAY|THREE TIMES DAILY|THRICE DAILY)\b", 3, 1.0),
    (r"\b(?:BID|BD|B\.I\.D|TWICE (?:A |PER )?DAY|TWICE DAILY)\b", 2, 1.0),
    (r"\b(?:QOD|EVERY OTHER DAY|(?:ON )?ALTERNATE DAYS?)\b", 1, 2.0),
    (r"\b(?:TIW|THREE TIMES (?:A |PER )WEEK|THREE TIMES WEEKLY)\b", 3, DAYS["week"]),
    (r"\b(?:QOW|EVERY OTHER WEEK|(?:ON )?ALTERNATE WEEKS?)\b", 1, 2 * DAYS["week"]),
    (r"\b(?:BIW|TWICE (?:A |PER )?WEEK|TWICE WEEKLY)\b", 2, DAYS["week"]),
    (r"\b(?:QW|QWK|WEEKLY|ONCE (?:A |PER )WEEK|EVERY WEEK|PER WEEK)\b|/\s*(?:WEEK|WK)\b", 1, DAYS["week"]),
    (r"\b(?:QM|MONTHLY|ONCE (?:A |PER )MONTH|EVERY MONTH|PER MONTH)\b|/\s*MONTH\b", 1, DAYS["month"]),
    (r"\b(?:QY|YEARLY|ANNUALLY|ONCE (?:A |PER )YEAR|EVERY YEAR)\b", 1, DAYS["year"]),
    (r"\b(?:QD|QAM|QPM|QHS|DAILY|ONCE DAILY|ONCE (?:A |PER )DAY|EVERY DAY|EVERY MORNING|EVERY NIGHT"
     r"|EVERY EVENING|PER DAY)\b|/\s*(?:DAY|D)\b", 1, 1.0),
)


def _days_of(unit_word: Column) -> Column:
    days = F.create_map(*[F.lit(x) for letter, unit in _PER_UNIT.items() for x in (letter, DAYS[unit])])
    return days[F.substring(unit_word, 1, 1)]


def _frequency(text: Column) -> Column:
    """struct<doses, days> of the first frequency pattern the text matches, else null."""
    read = None
    for pattern, doses_group, count_group, unit_group in COUNTED:
        doses = F.regexp_extract(text, pattern, doses_group).cast("double") if doses_group else F.lit(1.0)
        count = F.regexp_extract(text, pattern, count_group).cast("double") if count_group else F.lit(1.0)
        value = F.struct(doses.alias("doses"),
                         (count * _days_of(F.regexp_extract(text, pattern, unit_group))).alias("days"))
        read = F.when(text.rlike(pattern), value) if read is None else read.when(text.rlike(pattern), value)
    for pattern, doses, days in NAMED:
        read = read.when(text.rlike(pattern), F.struct(F.lit(float(doses)).alias("doses"),
                                                       F.lit(days).alias("days")))
    return read


def read(df: DataFrame, text: str) -> DataFrame:
    """`df` with what the text in column `text` (as `silver_rules.upper_words` gives it) says,
    null where it says nothing:
    `_text_amount` in `_text_unit` (an ICH E2B unit code, as `drugstructuredosageunit`), and
    `_text_doses` every `_text_days` days (at most MAX_DOSES_PER_DAY a day).

    In steps, each reading the columns the one before made, so that each pattern runs once per
    text: as single expressions, a value used twice (the frequency in its own plausibility
    test, the amount in each branch of `number`) copied its patterns into each use — 121
    regular expressions in the drug rows' plan instead of 58, and 12.8-14.9 s instead of
    10.1-11.3 s for 200,000 reports' drugs (docs/BENCHMARKS.md, session 20)."""
    t = F.col(text)
    units = F.create_map(*[F.lit(x) for kv in _UNITS.items() for x in kv])
    matched = (df.withColumn("_text_number", F.regexp_extract(t, AMOUNT, 1))
               .withColumn("_text_unit_word", F.regexp_extract(t, AMOUNT, 2))
               .withColumn("_text_relative", t.rlike(PER_SOMETHING))
               .withColumn("_text_frequency", _frequency(t)))
    doses, days = F.col("_text_frequency.doses"), F.col("_text_frequency.days")
    plausible = (doses >= 1) & (days > 0) & (doses / days <= MAX_DOSES_PER_DAY)
    readable = (F.col("_text_number") != "") & ~F.col("_text_relative")
    # "0 MG", like a structured 0, is a dose not known (see silver.drug_rows)
    amount = F.nullif(number(F.col("_text_number")), F.lit(0.0))
    return (matched.withColumn("_text_amount", F.when(readable, amount))
            .withColumn("_text_unit", F.when(F.col("_text_amount").isNotNull(),
                                             units[F.col("_text_unit_word")]))
            .withColumn("_text_doses", F.when(plausible, doses))
            .withColumn("_text_days", F.when(plausible, days))
            .drop("_text_number", "_text_unit_word", "_text_relative", "_text_frequency"))
