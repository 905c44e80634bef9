"""The drug reference data the pipeline reads: product names → generic names, and each
drug's class, usual and maximum daily dose, and usual patient population.

The facts live in one place, the generator's reference files (`generators/reference/`), so
the reports the generator writes and the rules the pipeline applies cannot drift apart.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.settings import PROJECT_ROOT

REFERENCE_DIR = PROJECT_ROOT / "generators" / "reference"
DRUGS_FILE = REFERENCE_DIR / "drugs.csv"

NAMES_SCHEMA = "product_name STRING, generic_name STRING"
FACTS_SCHEMA = ("generic_name STRING, drug_class STRING, usual_dose_mg DOUBLE, "
                "max_daily_dose_mg DOUBLE, min_age_years DOUBLE, max_age_years DOUBLE, sex STRING")
# Strength and form words that follow a product name in free text ("ASPIRIN 81 MG TABLET").
_STRENGTH = re.compile(r"\s+\d[\d.,/]*\s*(MG|MCG|UG|G|ML|%|IU|UNITS?)\b.*$")


def normalize_product(name: str) -> str:
    """The key a product name is matched by: trimmed, upper-cased, strength dropped."""
    key = re.sub(r"\s+", " ", name.strip().upper())
    return _STRENGTH.sub("", key).strip(" .,;")


def normalized_product(name: Column) -> Column:
    """`normalize_product` as a Column expression (the same rules, in Spark)."""
    key = F.upper(F.trim(F.regexp_replace(name, r"\s+", " ")))
    key = F.regexp_replace(key, r"\s+\d[\d.,/]*\s*(MG|MCG|UG|G|ML|%|IU|UNITS?)\b.*$", "")
    return F.regexp_replace(key, r"^[ .,;]+|[ .,;]+$", "")


@lru_cache(maxsize=1)
def _drug_records() -> tuple[dict, ...]:
    if not DRUGS_FILE.exists():
        return ()
    with DRUGS_FILE.open(newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def product_names(spark: SparkSession) -> DataFrame:
    """(product_name, generic_name) for every generic and brand name the reference knows."""
    pairs = {}
    for row in _drug_records():
        generic = row["generic_name"].strip().upper()
        names = [generic, *re.split(r"[|;]", row.get("brand_names") or "")]
        for name in names:
            if name.strip():
                pairs.setdefault(normalize_product(name), generic)
    return spark.createDataFrame(sorted(pairs.items()), NAMES_SCHEMA)


def drug_facts(spark: SparkSession) -> DataFrame:
    rows = [
        (row["generic_name"].strip().upper(), row.get("drug_class"),
         _float(row.get("usual_dose_mg")), _float(row.get("max_daily_dose_mg")),
         _float(row.get("min_age_years")), _float(row.get("max_age_years")),
         (row.get("sex") or None))
        for row in _drug_records()
    ]
    return spark.createDataFrame(rows, FACTS_SCHEMA)


def with_generic_name(drugs: DataFrame, names: DataFrame) -> DataFrame:
    """Adds `generic_name`: the reference's name for the product, else openFDA's harmonized
    generic name, else the active substance; null when none is known."""
    keyed = drugs.withColumn("_key", normalized_product(F.col("product_name")))
    joined = keyed.join(names.withColumnRenamed("product_name", "_key")
                        .withColumnRenamed("generic_name", "_ref_generic"), "_key", "left")
    return joined.withColumn(
        "generic_name", F.coalesce("_ref_generic", "_openfda_generic", "_substance")
    ).drop("_key", "_ref_generic")
