"""How silver names a drug: the reference's generic name for the product as real reports
write it (`jobs.reference.with_generic_name`)."""

import pytest

from jobs import reference


@pytest.mark.parametrize(("key", "stripped"), [
    ("FLOMAX (TAMSULOSIN HYDROCHLORIDE)", "FLOMAX"),
    ("SERTRALINE (SERTRALINE) (SERTRALINE)", "SERTRALINE"),
    ("SENNOSIDE /00571901/", "SENNOSIDE"),
    ("CINACALCET HCL", "CINACALCET"),
    ("ATORVASTATIN CALCIUM TRIHYDRATE", "ATORVASTATIN"),
    ("VOLTAREN GEL", "VOLTAREN"),
    ("METOPROLOL SUCCINATE ER TABLETS", "METOPROLOL"),
    ("OXYGEN.", "OXYGEN"),
    # a salt or a form alone is a name, not something to strip
    ("CALCIUM", "CALCIUM"), ("GEL", "GEL"), ("SODIUM CHLORIDE", "SODIUM CHLORIDE"),
    ("SODIUM BICARBONATE", "SODIUM BICARBONATE"),
    ("GELATIN", "GELATIN"), ("TYLENOL EXTRA STRENGTH", "TYLENOL EXTRA STRENGTH"),
    ("", ""),
])
def test_a_name_stripped_of_codes_brackets_salts_and_forms(key, stripped):
    assert reference.strip_product(key) == stripped


def test_no_stripped_reference_name_names_two_drugs():
    """The reference's names stripped are lookup keys too: were two drugs' names to strip to
    one key, a report would get whichever came first."""
    generics = {}
    for drug in reference.drug_records():
        for name in (drug["generic_name"], *drug.get("brand_names", []), *drug.get("product_names", [])):
            generics.setdefault(reference.strip_product(reference.normalize_product(name)), set()).add(
                drug["generic_name"].strip().upper())
    assert {k: v for k, v in generics.items() if len(v) > 1} == {}


# (product as reported, openFDA generic name, active substance) → generic_name. The first eight
# are how the shared openFDA sample writes products that have neither openFDA fields nor a
# substance; before, each had no generic name, so gold knew no dose limits for it and the
# counts and signals left it out.
NAMED = [
    ("CARVEDILOL (CARVEDILOL)", None, None, "CARVEDILOL"),
    ("SERTRALINE (SERTRALINE) (SERTRALINE)", None, None, "SERTRALINE"),
    ("ASPIRIN (ACETYLSALICYLIC ACID)", None, None, "ASPIRIN"),
    ("FLOMAX (TAMSULOSIN HYDROCHLORIDE)", None, None, "TAMSULOSIN"),
    ("PRADAXA (DABIGATRAN ETEXILATE MESILATE)", None, None, "DABIGATRAN"),
    ("AMBIEN (ZOLPIDEM TARTRATE)", None, None, "ZOLPIDEM"),
    ("HEPARIN (HEPARIN)", None, None, "HEPARIN"),
    ("Sertraline  (Sertraline)", None, None, "SERTRALINE"),
    ("SOME BRAND (ZOLPIDEM TARTRATE)", None, None, "ZOLPIDEM"),  # the name in brackets
    ("VOLTAREN GEL", None, None, "DICLOFENAC"),
    ("DICLOFENAC SODIUM", None, None, "DICLOFENAC"),  # a whole reference name as it is
    ("ABIRATERONE", None, None, "ABIRATERONE ACETATE"),  # a reference name stripped
    ("NOT IN THE REFERENCE", "ZOLPIDEM TARTRATE", None, "ZOLPIDEM"),
    ("NOT IN THE REFERENCE", None, "ATORVASTATIN CALCIUM TRIHYDRATE", "ATORVASTATIN"),
    # the brackets come before openFDA's name (the product named what was taken)
    ("SOME BRAND (ZOLPIDEM)", "ATORVASTATIN", None, "ZOLPIDEM"),
    # unknown to the reference: openFDA's name, else the substance, as given
    ("VENOFER", "IRON SUCROSE", "IRON SUCROSE", "IRON SUCROSE"),
    ("NOT IN THE REFERENCE", None, "PARICALCITOL", "PARICALCITOL"),
    ("OROKEN (CEFIXIME, UNSPEC)", None, None, None),
    ("CALCIUM (CALCIUM)", None, None, None),
    # the whole name first: a brand the reference knows wins over the substance it is sent with
    ("TYLENOL", None, "IBUPROFEN", "ACETAMINOPHEN"),
    # a strength in micrograms written with the micro sign (upper-cased, a Greek capital mu)
    ("LEVOTHYROXINE 100 µg", None, None, "LEVOTHYROXINE"),
    (None, None, None, None),
]


@pytest.mark.spark
def test_the_generic_name_of_products_as_real_reports_name_them(spark):
    from pyspark.sql import functions as F

    rows = [(i, *row[:3]) for i, row in enumerate(NAMED)]
    drugs = spark.createDataFrame(rows, "i INT, product STRING, _openfda_generic STRING, _substance STRING")
    drugs = drugs.withColumn("product_name", F.upper(F.trim("product")))
    got = {r.i: r.generic_name for r in reference.with_generic_name(
        drugs, reference.product_names(spark)).collect()}
    assert [got[i] for i in range(len(NAMED))] == [row[3] for row in NAMED]


def test_a_strength_in_micrograms_is_dropped_from_the_key_whatever_the_micro_sign():
    assert {reference.normalize_product(n) for n in ("Levothyroxine 100 µg", "LEVOTHYROXINE 100 μG",
                                                      "LEVOTHYROXINE 100MCG")} == {"LEVOTHYROXINE"}


# (product name, the unit wanted) → one dosage form's strength in it
STRENGTHS = [
    ("ACETAMINOPHEN 500 MG", "mg", 500.0),
    ("ACETAMINOPHEN 500MG TABLET", "mg", 500.0),
    ("XANAX 0.5 MG", "mg", 0.5),
    ("LEVOTHYROXINE 100 MCG", "mg", 0.1),
    ("LEVOTHYROXINE 100 ΜG", "mg", 0.1),
    ("CEFTRIAXONE 1 G", "mg", 1000.0),
    ("HEPARIN 5000 IU", "IU", 5000.0),
    ("HEPARIN 5000 IU", "mg", None),  # a count of units has no mass
    ("ASPIRIN 81 MG", "IU", None),
    ("TYLENOL EXTRA STRENGTH", "mg", None),
    ("HYDROCODONE 5/325 MG", "mg", None),  # a combination's
    ("HYDROCODONE 10 MG/ACETAMINOPHEN 325 MG", "mg", None),
    ("PERCOCET 5 MG 325 MG", "mg", None),
    ("AMOXICILLIN 250 MG/5 ML", "mg", None),  # a concentration
    ("FENTANYL 25 MCG/HR", "mg", None),  # a rate
    ("LEVOTHYROX 0,5 MG", "mg", None),  # a decimal comma: 0.5 or 5?
    ("SENNOSIDE /00571901/", "mg", None),
    ("VITAMIN B12", "mg", None),
    ("BACLOFEN INTRATHECAL 2,000MCG/ML", "mg", None),
    (None, "mg", None),
    ("1" * 400 + " MG", "mg", None),  # a number no double holds
    ("1 MG/" * 20_000, "mg", None),  # hostile, and read in linear time
]


@pytest.mark.spark
def test_the_strength_a_product_name_states(spark):
    from pyspark.sql import functions as F

    names = spark.createDataFrame([(i, n, u) for i, (n, u, _) in enumerate(STRENGTHS)],
                                  "i INT, product_name STRING, unit STRING")
    got = {r.i: r.strength for r in names.select(
        "i", reference.product_strength(F.col("product_name"), F.col("unit")).alias("strength")).collect()}
    assert [got[i] for i in range(len(STRENGTHS))] == pytest.approx([s for _, _, s in STRENGTHS])
