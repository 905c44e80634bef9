"""Routes of administration: which doses are on the reference's scale (`jobs.routes`)."""

import pytest

from jobs import reference, routes


@pytest.mark.parametrize(("code", "group"), [
    ("048", "systemic"), (" 042 ", "systemic"), ("058", "systemic"), ("054", "systemic"),
    ("061", "skin"), ("003", "skin"), ("062", "transdermal"), ("055", "inhaled"),
    ("037", "spinal"), ("008", "spinal"), ("047", "eye"), ("067", "vaginal"), ("015", "vaginal"),
    ("033", "033"),  # intraperitoneal: a group of its own
    ("065", None), ("050", None), (None, None), ("", None), ("ORAL", None), ("0480", None),
    ("063", None), ("064", None),  # to a child through its mother: her route is not said
])
def test_the_group_of_a_route_code(code, group):
    assert routes.group_of_code(code) == group


def test_every_code_is_in_one_group_at_most():
    codes = [c for cs in routes.GROUPS.values() for c in cs]
    assert len(codes) == len(set(codes))
    assert not set(codes) & set(routes.UNSTATED + routes.THROUGH_PARENT)


def test_the_reference_doses_are_for_each_drugs_first_route():
    by_name = {d["generic_name"]: d for d in reference.drug_records()}
    assert routes.group_of_code(by_name["BACLOFEN"]["routes"][0]) == "systemic"
    assert routes.group_of_code(by_name["FENTANYL"]["routes"][0]) == "transdermal"
    assert routes.group_of_code(by_name["ALBUTEROL"]["routes"][0]) == "inhaled"


# (route, product, dosage text) → group. Real reports' wording (the openFDA sample's intrathecal
# baclofen, its clarithromycin suspension taken with ice cream, its ice cream as a product).
WORDED = [
    (None, "BACLOFEN INTRATHECAL 2,000MCG/ML", "157.3 MCG/DAY", "spinal"),
    (None, "KLACID FOR ORAL SUSPENSION", "HALF A TABLET CRUSHED, TOOK WITH ICE CREAM", "systemic"),
    (None, "BODY QUEST ICE CREAM", None, None),
    ("065", "VOLTAREN GEL", "2 G, QID", "skin"),
    ("050", "DICLOFENAC", "APPLIED TOPICALLY TO THE KNEE", "skin"),
    (None, "ADVIL LIQUI-GELS", None, None),
    (None, "IBUPROFEN LIQUI-GEL CAPSULES", None, "systemic"),
    (None, "GELATIN", None, None),
    (None, "SYMBICORT", "2 PUFFS TWICE DAILY", "inhaled"),
    (None, "FENTANYL", "25 MCG/HR PATCH, CHANGED EVERY 3 DAYS", "transdermal"),
    (None, "durogesic tts", None, "transdermal"),  # lower case, as some senders write
    (None, "ESTRADIOL VAGINAL TABLETS", None, "vaginal"),  # the first word decides
    (None, "TIMOLOL", "1 GTT IN EACH EYE, OPHTHALMIC", "eye"),
    ("Oral", "TYLENOL", None, "systemic"),  # a route written as a word
    ("061", "TYLENOL TABLETS", None, "skin"),  # a code says more than a word
    ("999", "TYLENOL", None, "999"),
    ("064", "VOLTAREN GEL", None, "skin"),  # the mother's gel, which reached the foetus
    ("063", "SERTRALINE", "50 MG, QD", None),
    (None, "TYLENOL", "1000 MG, QID", None),
    (None, None, None, None),
]


@pytest.mark.spark
def test_a_route_is_read_from_the_code_else_from_the_words(spark):
    df = spark.createDataFrame([(i, *row[:3]) for i, row in enumerate(WORDED)],
                               "i INT, route STRING, product STRING, text STRING")
    got = {r.i: r.g for r in routes.with_group(df, "g", "route", "product", "text").collect()}
    assert [got[i] for i in range(len(WORDED))] == [row[3] for row in WORDED]


@pytest.mark.spark
def test_a_long_text_of_near_words_reads_as_no_route(spark):
    """A dosage text near the payload limit made of near-words (a stem cut short, a hyphened
    GEL, ICE CREAM) reads as no route, and the frame keeps its columns. Its time is measured
    in docs/BENCHMARKS.md (session 21), not here."""
    text = "INHA GE- LIQUI-GEL ICE CREAM " * 30_000
    df = spark.createDataFrame([("065", "X", text)], "route STRING, product STRING, text STRING")
    out = routes.with_group(df, "g", "route", "product", "text")
    assert out.columns == ["route", "product", "text", "g"]
    assert out.first().g is None
