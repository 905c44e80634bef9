"""The drug reference data the pipeline reads: product names → generic names, and each
drug's class, usual and maximum daily dose, and usual patient population.

The facts live in one place, the generator's reference files (`generators/reference/`), so
the reports the generator writes and the rules the pipeline applies cannot drift apart.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import yaml
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import routes
from jobs.settings import PROJECT_ROOT
from jobs.silver_rules import finite, upper_words

REFERENCE_DIR = PROJECT_ROOT / "generators" / "reference"
DRUGS_FILE = REFERENCE_DIR / "drugs.jsonl"
DEMOGRAPHICS_FILE = REFERENCE_DIR / "demographics.yaml"

NAMES_SCHEMA = "product_name STRING, generic_name STRING"
FACTS_SCHEMA = ("generic_name STRING, drug_class STRING, usual_dose DOUBLE, max_daily_dose DOUBLE, "
                "reference_dose_unit STRING, dose_route_group STRING, min_age_years DOUBLE, "
                "max_age_years DOUBLE, sex STRING")
TO_MG = {"mg": 1.0, "ug": 1e-3, "g": 1e3}
# Units with no mg equivalent, as silver names them (silver.OTHER_DOSE_UNITS): a dose in one of
# these is compared only with a reference dose in the same unit.
COUNTED_UNITS = {"IU": "IU", "DF": "DF", "mL": "ml"}
# A patient is implausible for a product only well outside the ages it is given at: below
# 60% of the youngest band's lower age, or 15 years past the oldest band.
MIN_AGE_SLACK, MAX_AGE_SLACK = 0.6, 15.0
# A class is single-sex only when its profile says (almost) every patient is.
SINGLE_SEX_SHARE = 0.99
# Strength and form words that follow a product name in free text ("ASPIRIN 81 MG TABLET"; "ΜG" is
# "µg" upper-cased).
_STRENGTH = r"\s+\d[\d.,/]*\s*(MG|MCG|UG|ΜG|G|ML|%|IU|UNITS?)\b.*$"


def normalize_product(name: str) -> str:
    """The key a product name is matched by: spaces folded, upper-cased, strength dropped."""
    key = re.sub(r"\s+", " ", name.strip().upper())
    return re.sub(_STRENGTH, "", key).strip(" .,;")


def normalized_product(name: Column) -> Column:
    """`normalize_product` as a Column expression (the same rules, in Spark)."""
    key = upper_words(name)
    return F.regexp_replace(F.regexp_replace(key, _STRENGTH, ""), r"^[ .,;]+|[ .,;]+$", "")


# What real reports add to a name the reference knows: a WHO Drug code (`SENNOSIDE
# /00571901/`), the ingredient in brackets (`FLOMAX (TAMSULOSIN HYDROCHLORIDE)`, `CARVEDILOL
# (CARVEDILOL)`), a salt or a form (`CINACALCET HCL`, `VOLTAREN GEL`).
_CODE_OR_BRACKET = r"\s*(/[0-9]+/|\().*$"
_BRACKETED = r"\(([^()]+)\)"
_SALT_OR_FORM = (r"(?<=\S)(\s+(HYDROCHLORIDE|HCL|HYDROBROMIDE|HBR|SODIUM|POTASSIUM|CALCIUM|MAGNESIUM|"
                 r"SULFATE|SULPHATE|BISULFATE|PHOSPHATE|TARTRATE|BITARTRATE|MESYLATE|MESILATE|MALEATE|"
                 r"FUMARATE|SUCCINATE|CITRATE|BESYLATE|BESILATE|ACETATE|BROMIDE|HYCLATE|MONOHYDRATE|"
                 r"DIHYDRATE|TRIHYDRATE|ANHYDROUS|TABLETS?|CAPSULES?|CAPLETS?|INJECTION|INJECTABLE|"
                 r"SOLUTION|SUSPENSION|SYRUP|GEL|CREAM|OINTMENT|PATCH|PATCHES|SPRAY|DROPS|XR|ER|SR|CR|XL|"
                 r"ODT|HFA))*[\s.,;]*$")


def strip_product(key: str) -> str:
    """A product key (`normalize_product`) without a code or brackets and what follows them,
    nor the salts and forms at its end: the name a reference name matches when the whole
    one does not."""
    return re.sub(_SALT_OR_FORM, "", re.sub(_CODE_OR_BRACKET, "", key))


def stripped_product(key: Column) -> Column:
    """`strip_product` as a Column expression."""
    return F.regexp_replace(F.regexp_replace(key, _CODE_OR_BRACKET, ""), _SALT_OR_FORM, "")


def bracketed(key: Column) -> Column:
    """The first name in brackets in a product key (`AMBIEN (ZOLPIDEM TARTRATE)`), else ""."""
    return F.regexp_extract(key, _BRACKETED, 1)


@lru_cache(maxsize=1)
def drug_records() -> tuple[dict, ...]:
    with DRUGS_FILE.open(encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


@lru_cache(maxsize=1)
def _demographics() -> dict:
    return yaml.safe_load(DEMOGRAPHICS_FILE.read_text())


def population(drug: dict) -> tuple[float | None, float | None, str | None]:
    """(min plausible age, max plausible age, the one sex it is for or None) of a drug's
    patients: its own profile where it has one (testosterone), else its class's."""
    demographics = _demographics()
    name = (demographics.get("drug_profiles", {}).get(drug["generic_name"])
            or demographics["class_profiles"].get(drug["drug_class"]))
    if name is None:
        return None, None, None
    profile = demographics["profiles"][name]
    bands, share = profile["age_bands"], profile["female_share"]
    sex = "female" if share >= SINGLE_SEX_SHARE else "male" if share <= 1 - SINGLE_SEX_SHARE else None
    return min(b[0] for b in bands) * MIN_AGE_SLACK, max(b[1] for b in bands) + MAX_AGE_SLACK, sex


def _compared_unit(unit: str) -> str | None:
    """The unit gold compares a drug's doses in, as silver names it: mg for a mass, else the
    reference's own."""
    return "mg" if unit in TO_MG else COUNTED_UNITS.get(unit)


def _in_compared_unit(amount, unit: str) -> float | None:
    if amount is None or _compared_unit(unit) is None:
        return None
    return float(amount) * TO_MG.get(unit, 1.0)


# The strength of one dosage form in a product name: "ACETAMINOPHEN 500 MG",
# "LEVOTHYROXINE 100MCG". Not a combination's ("5/325 MG"), a concentration ("250 MG/5 ML"), a
# rate ("25 MCG/HR"), a decimal comma ("0,5 MG") nor a number inside a code ("/00739901/"); and
# only where the name states no other amount (`_ANY_AMOUNT`: "10 MG/ACETAMINOPHEN 325 MG").
_STRENGTH_UNITS = {"MG": "mg", "MCG": "ug", "UG": "ug", "ΜG": "ug", "G": "g", "IU": "IU"}
_UNIT_WORDS = "(" + "|".join(_STRENGTH_UNITS) + r")(?![\p{L}0-9])"
_ONE_STRENGTH = r"(?<![0-9.,/])([0-9]+(?:\.[0-9]+)?)\s*" + _UNIT_WORDS + r"(?!\s*/)"
_ANY_AMOUNT = r"[0-9]\s*" + _UNIT_WORDS


def product_strength(product_name: Column, unit: Column) -> Column:
    """The strength of one dosage form (a tablet, a capsule, a pen) that a product name
    states, in `unit` (a `reference_dose_unit`: mg, or IU); null where the name states none,
    several, or one in another unit."""
    amount = F.regexp_extract(product_name, _ONE_STRENGTH, 1).try_cast("double")
    written = F.create_map(*[F.lit(x) for kv in _STRENGTH_UNITS.items() for x in kv])[
        F.regexp_extract(product_name, _ONE_STRENGTH, 2)]
    to_mg = F.create_map(*[F.lit(x) for kv in TO_MG.items() for x in kv])[written]
    in_unit = F.when(unit == "mg", amount * to_mg).when(unit == written, amount)
    return F.when(F.regexp_count(product_name, F.lit(_ANY_AMOUNT)) == 1, finite(in_unit))


def product_names(spark: SparkSession) -> DataFrame:
    """(product_name, generic_name) for every generic, brand and product name the reference
    knows, keyed as `normalize_product` keys them."""
    pairs = {}
    for drug in drug_records():
        generic = drug["generic_name"].strip().upper()
        for name in (generic, *drug.get("brand_names", []), *drug.get("product_names", [])):
            if name.strip():
                pairs.setdefault(normalize_product(name), generic)
    # and each name stripped (`strip_product`), which a report's stripped name is looked up by;
    # a whole name keeps its own generic (no stripped name names two generics today)
    for key, generic in list(pairs.items()):
        stripped = strip_product(key)
        if stripped:
            pairs.setdefault(stripped, generic)
    return spark.createDataFrame(sorted(pairs.items()), NAMES_SCHEMA)


def drug_facts(spark: SparkSession) -> DataFrame:
    """Per generic name: its class, usual single dose and maximum daily dose (in
    `reference_dose_unit`: mg for a mass, else the reference's own unit, IU, DF or ml), the
    route group those doses are for, and its patients' plausible ages and sex."""
    rows = []
    for drug in drug_records():
        min_age, max_age, sex = population(drug)
        unit = drug.get("dose_unit")
        rows.append((drug["generic_name"].strip().upper(), drug["drug_class"],
                     _in_compared_unit(drug.get("usual_single_dose"), unit),
                     _in_compared_unit(drug.get("max_daily_dose"), unit), _compared_unit(unit),
                     # the doses are for the drug's first route (`jobs.routes`)
                     routes.group_of_code(drug["routes"][0]), min_age, max_age, sex))
    return spark.createDataFrame(rows, FACTS_SCHEMA)


def for_joins(table: DataFrame) -> DataFrame:
    """A reference table as the writers hold it: cached, and broadcast into every join. The
    hint goes outside the cache, where joins see it (inside, Spark warns that it is not part of
    a join); a cached table's size is unknown to the planner until first used, so without the
    hint each batch would sort and shuffle its rows to join a few thousand."""
    return F.broadcast(table.cache())


def with_generic_name(drugs: DataFrame, names: DataFrame) -> DataFrame:
    """Adds `generic_name`: the reference's name for the first of these it knows — the product
    name whole; the product name stripped (`strip_product`: `FLOMAX (TAMSULOSIN HYDROCHLORIDE)`
    → FLOMAX, `VOLTAREN GEL` → VOLTAREN); the name in its brackets, else openFDA's generic name,
    else the active substance, stripped (`SOMEBRAND (ZOLPIDEM TARTRATE)` → ZOLPIDEM) — else
    openFDA's generic name, else the active substance, as given; null when none is known.

    Three lookups, each only where the ones before found nothing: most products are known by
    their whole name, and a stripped name costs regular expressions. Each lookup is a join on
    every row all the same: three make drug rows about a quarter slower than one, five (a
    lookup per name) a quarter to three quarters (median runs, docs/BENCHMARKS.md, session 21)."""
    key = normalized_product(F.col("product_name"))
    inner = bracketed(key)
    candidates = [
        key,
        stripped_product(key),
        F.coalesce(F.when(inner != "", stripped_product(inner)),
                   stripped_product(normalized_product(F.col("_openfda_generic"))),
                   stripped_product(normalized_product(F.col("_substance")))),
    ]
    found = drugs
    known = F.lit(False)
    for i, candidate in enumerate(candidates):
        found = found.withColumn(f"_key{i}", F.when(~known, candidate)).join(
            names.select(F.col("product_name").alias(f"_key{i}"), F.col("generic_name").alias(f"_ref{i}")),
            f"_key{i}", "left")
        known = known | F.col(f"_ref{i}").isNotNull()
    refs = [f"_ref{i}" for i in range(len(candidates))]
    return found.withColumn(
        "generic_name", F.coalesce(*refs, "_openfda_generic", "_substance")
    ).drop(*refs, *[f"_key{i}" for i in range(len(candidates))])
