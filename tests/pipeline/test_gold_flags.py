"""Every overdose and anomaly rule, with its reason, on reports typed by silver's own
functions; and a report that breaks none is flagged with nothing."""

from datetime import datetime

import pytest
from pyspark.sql import functions as F

from jobs import gold, reference, silver, tables
from tests.pipeline.conftest import bronze_frame, payload, report

pytestmark = pytest.mark.spark


def drug(product="Tylenol", characterization="1", dose=None, unit="003", per=None, every=None,
         interval=None, text=None, route=None, substance=None, form=None):
    d = {"medicinalproduct": product, "drugcharacterization": characterization}
    if route is not None:
        d.update(drugadministrationroute=route)
    if form is not None:
        d.update(drugdosageform=form)
    if substance is not None:
        d.update(activesubstance={"activesubstancename": substance})
    if dose is not None:
        d.update(drugstructuredosagenumb=str(dose), drugstructuredosageunit=unit)
    if text is not None:
        d.update(drugdosagetext=text)
    if every is not None:
        d.update(drugseparatedosagenumb=str(per or 1), drugintervaldosageunitnumb=str(every),
                 drugintervaldosagedefinition=interval)
    return d


CASES = {
    "clean": report(patient_drug=[drug(dose=500)]),
    "intentional": report(patient_reaction=[{"reactionmeddrapt": "Intentional overdose"}]),
    "accidental": report(patient_reaction=[{"reactionmeddrapt": "Accidental overdose"},
                                           {"reactionmeddrapt": "Toxicity to various agents"}]),
    "term_only": report(patient_reaction=[{"reactionmeddrapt": "Overdose"}]),
    "above_max": report(patient_drug=[drug(dose=1000, every=2, interval="805")]),  # 1 g every 2 h
    "age_250": report(patient_patientonsetage="250"),
    "weight_900": report(patient_patientweight="900"),
    "death_recovered": report(seriousnessdeath="1",
                              patient_reaction=[{"reactionmeddrapt": "Nausea", "reactionoutcome": "1"}]),
    "future": report(receivedate="20991231"),
    "no_suspect": report(patient_drug=[drug(characterization="2")]),
    "far_from_usual": report(patient_drug=[drug(dose=5)]),  # 5 mg acetaminophen, usual 1000 mg
    "child_on_statin": report(patient_patientonsetage="5", patient_drug=[drug("Lipitor")]),
    "man_on_contraceptive": report(patient_patientsex="1", patient_drug=[drug("Yaz")]),
    # a dose a double holds, but not once converted from kilograms to milligrams
    "dose_overflows": report(patient_drug=[drug(dose="1" + "0" * 305, unit="001")]),
    # a weekly dose is taken whole on its day: 5 g once a week is above 4 g a day
    "weekly_above_max": report(patient_drug=[drug(dose=5000, every=1, interval="803")]),
    "weekly_within_max": report(patient_drug=[drug(dose=1000, every=1, interval="803")]),
    # a dose of 0 is one the sender did not know: nothing to compare, the text read instead
    "zero_dose": report(patient_drug=[drug(dose=0)]),
    "zero_dose_text_gives_it": report(patient_drug=[drug(dose="0.0", text="500 MG, BID")]),
    "zero_dose_text": report(patient_drug=[drug(text="0 MG, QD")]),
    # doses only the free text gives
    "text_above_max": report(patient_drug=[drug(text="2 G, QID")]),
    "text_frequency_above_max": report(patient_drug=[drug(dose=1000, text="1000 MG, 6 TIMES A DAY")]),
    "text_far_from_usual": report(patient_drug=[drug(text="5 MG, UNK")]),
    "text_per_kg": report(patient_drug=[drug(text="150 MG/KG")]),
    # the text speaks of another amount than the structured fields: its frequency is not used
    "text_other_dose": report(patient_drug=[drug(dose=500, text="1000 MG QID")]),
    # a count in the text, a mass in the structured fields: one tablet of 500 mg twice a day
    "tablets_text_mg_amount": report(patient_drug=[drug(dose=500, text="1 DF, BID")]),
    # the text counts other tablets than the structured fields: its frequency is not used
    "text_other_count": report(patient_drug=[drug("Biktarvy", dose=1, unit="032", text="2 DF, BID")]),
    # the structured interval wins over the text's
    "structured_interval_wins": report(patient_drug=[drug(dose=1000, every=1, interval="804",
                                                          text="1000 MG QID")]),
    # The reference's doses are for a drug's first route (diclofenac and baclofen by mouth,
    # estradiol by mouth): a dose given another way is not compared with them (jobs.routes).
    "topical_diclofenac": report(patient_drug=[drug("Voltaren", dose=2, unit="002", per=4, every=1,
                                                    interval="804", route="061")]),
    "oral_diclofenac": report(patient_drug=[drug("Voltaren", dose=2, unit="002", per=4, every=1,
                                                 interval="804", route="048")]),
    "gel_by_name": report(patient_drug=[drug("Voltaren Gel", text="2 G, QID", substance="DICLOFENAC")]),
    "gel_by_form": report(patient_drug=[drug("Voltaren", text="2 G, QID", form="GEL")]),
    "no_route_said": report(patient_drug=[drug("Voltaren", text="2 G, QID", form="UNSPECIFIED")]),
    "intrathecal_baclofen": report(patient_drug=[drug("Lioresal Intrathecal", text="157.3 MCG/DAY",
                                                      substance="BACLOFEN")]),
    "baclofen_no_route": report(patient_drug=[drug("Lioresal", text="157.3 MCG/DAY")]),
    "vaginal_estradiol": report(patient_drug=[drug("Vagifem", dose=10, unit="004", route="067")]),
    "oral_estradiol_10ug": report(patient_drug=[drug("Vagifem", dose=10, unit="004", route="048")]),
    "unknown_route": report(patient_drug=[drug(dose=5, route="065")]),
    # Doses in a unit with no mg equivalent are compared with a reference dose in that unit:
    # Biktarvy is one tablet (DF) a day, Yaz one, Lantus about 20 IU a day, Symbicort two
    # inhalations (DF) twice a day at most.
    "biktarvy_two_a_day": report(patient_drug=[drug("Biktarvy", dose=1, unit="032", per=2, every=1,
                                                    interval="804")]),
    "biktarvy_one_a_day": report(patient_drug=[drug("Biktarvy", dose=1, unit="032", every=1,
                                                    interval="804")]),
    "yaz_whole_pack": report(patient_drug=[drug("Yaz", dose=28, unit="032")]),
    "biktarvy_as_text": report(patient_drug=[drug("Biktarvy", text="2 DF, QD")]),
    "biktarvy_frequency_as_text": report(patient_drug=[drug("Biktarvy", dose=1, unit="032",
                                                            text="1 DF, BID")]),
    "lantus_300_iu": report(patient_drug=[drug("Lantus", dose=300, unit="025", every=1, interval="804")]),
    "lantus_40_iu": report(patient_drug=[drug("Lantus", dose=40, unit="025", every=1, interval="804")]),
    "symbicort_within_max": report(patient_drug=[drug("Symbicort", dose=2, unit="032", per=2, every=1,
                                                      interval="804", route="055")]),
    # 20 tablets of a drug the reference doses in mg: the tablets' strength is not known
    "tylenol_in_tablets": report(patient_drug=[drug(dose=20, unit="032", per=4, every=1, interval="804")]),
    # insulin in ml: not the reference's unit either
    "lantus_in_ml": report(patient_drug=[drug("Lantus", dose=30, unit="012")]),
    # Tablets (DF) of a product whose name states their strength, as real reports give them
    "tylenol_500_pack": report(patient_drug=[drug("Tylenol 500 mg", dose=30, unit="032")]),
    "tylenol_500_two_q4h": report(patient_drug=[drug("ACETAMINOPHEN 500MG", dose=2, unit="032", every=4,
                                                     interval="805")]),
    "tylenol_500_two_qid": report(patient_drug=[drug("ACETAMINOPHEN 500 MG", dose=2, unit="032", per=4,
                                                     every=1, interval="804")]),
    "oxycodone_tablets_as_text": report(patient_drug=[drug("OXYCODONE 10 MG", text="30 DF, ONCE")]),
    "levothyroxine_mcg": report(patient_drug=[drug("LEVOTHYROXINE 100 MCG", dose=5, unit="032", every=1,
                                                   interval="804")]),
    "levothyroxine_micro_sign": report(patient_drug=[drug("Levothyroxine 100 µg", dose=5, unit="032",
                                                          every=1, interval="804")]),
    "heparin_ampoules": report(patient_drug=[drug("HEPARIN 5000 IU", dose=20, unit="032")]),
    # names whose amount is not one tablet's: a combination, a concentration, a strength above
    # the drug's maximum daily dose (another ingredient's, or a misreading)
    "combination_in_tablets": report(patient_drug=[drug("HYDROCODONE 10 MG/ACETAMINOPHEN 325 MG", dose=20,
                                                        unit="032")]),
    "combination_slash_in_tablets": report(patient_drug=[drug("HYDROCODONE 5/325 MG", dose=20, unit="032")]),
    "concentration_in_forms": report(patient_drug=[drug("AMOXICILLIN 250 MG/5 ML", dose=20, unit="032")]),
    "implausible_strength": report(patient_drug=[drug("OXYCODONE 500 MG", dose=2, unit="032")]),
    # and one far below any tablet of the drug's (1/200 of the usual dose)
    "implausibly_small_strength": report(patient_drug=[drug("ACETAMINOPHEN 5 MG", dose=1, unit="032")]),
    # parent-child reports: the patient is a foetus or a breastfed child, the drugs its mother's
    "foetus_exposed_to_statin": report(
        patient_patientonsetage="0", patient_drug=[drug("Lipitor")],
        patient_reaction=[{"reactionmeddrapt": "Foetal exposure during pregnancy"}]),
    "boy_exposed_to_contraceptive": report(patient_patientsex="1", patient_drug=[drug("Yaz")],
                                           patient_reaction=[{"reactionmeddrapt": "Exposure via breast milk"},
                                                             {"reactionmeddrapt": "Vomiting"}]),
    "child_statin_transplacental": report(patient_patientonsetage="5",
                                          patient_drug=[drug("Lipitor", route="064")]),
    "man_contraceptive_transmammary": report(patient_patientsex="1", patient_drug=[drug("Yaz", route="063")]),
    # the mother's overdose reached the foetus: still an overdose, by her dose
    "foetus_mothers_overdose": report(patient_patientonsetage="0", patient_drug=[
        drug(dose=20000, text="20 G, ONCE", route="064")], patient_reaction=[
        {"reactionmeddrapt": "Foetal exposure during pregnancy"}]),
    # the child's own statin beside its mother's drug: its own is judged
    "child_statin_and_mothers_drug": report(patient_patientonsetage="5", patient_drug=[
        drug("Lipitor"), drug("Yaz", route="064")]),
    # a product taken by someone it was not meant for, as the reactions say
    "infant_swallowed_oxycodone": report(
        patient_patientonsetage="10", patient_patientonsetageunit="802", patient_drug=[drug("Oxycodone")],
        patient_reaction=[{"reactionmeddrapt": "Accidental exposure to product by child"},
                          {"reactionmeddrapt": "Accidental overdose"}]),
    "boy_took_mothers_contraceptive": report(
        patient_patientsex="1", patient_drug=[drug("Yaz")],
        patient_reaction=[{"reactionmeddrapt": "ACCIDENTAL EXPOSURE TO PRODUCT"}]),
    "child_given_anothers_statin": report(
        patient_patientonsetage="5", patient_drug=[drug("Lipitor")],
        patient_reaction=[{"reactionmeddrapt": "Wrong patient received product"}]),
    "girl_touched_fathers_testosterone_gel": report(
        patient_patientonsetage="4", patient_patientsex="2", patient_drug=[drug("AndroGel")],
        patient_reaction=[{"reactionmeddrapt": "Exposure via skin contact"},
                          {"reactionmeddrapt": "Precocious puberty"}]),
    # an accidental overdose alone may be of the patient's own medicine: still judged
    "infant_oxycodone_overdose": report(
        patient_patientonsetage="10", patient_patientonsetageunit="802", patient_drug=[drug("Oxycodone")],
        patient_reaction=[{"reactionmeddrapt": "Accidental overdose"}]),
    # a child's dose is by weight: 40 mg of paracetamol is a newborn's, not far below the usual
    "newborn_paracetamol": report(patient_patientonsetage="5", patient_patientonsetageunit="804",
                                  patient_patientweight="3.5", patient_drug=[drug(dose=40)]),
    "newborn_no_weight": report(patient_patientonsetage="5", patient_patientonsetageunit="804",
                                patient_patientweight=None, patient_drug=[drug(dose=40)]),
    "infant_by_group": report(patient_patientonsetage=None, patient_patientonsetageunit=None,
                              patient_patientagegroup="2", patient_patientweight=None,
                              patient_drug=[drug(dose=40)]),
    "newborn_tiny_dose": report(patient_patientonsetage="5", patient_patientonsetageunit="804",
                                patient_patientweight="3.5", patient_drug=[drug(dose=1)]),
    "adult_no_weight_small_dose": report(patient_patientweight=None, patient_drug=[drug(dose=40)]),
    # units spelled out in the dosage text, as senders write them
    "yaz_pack_spelled_out": report(patient_drug=[drug("Yaz", text="28 DOSAGE FORM, TOTAL")]),
    "tylenol_tablets_spelled_out": report(patient_drug=[drug("ACETAMINOPHEN 500 MG",
                                                             text="20 TABLETS, ONCE")]),
    "lantus_units_spelled_out": report(patient_drug=[drug("Lantus", text="300 INTERNATIONAL UNIT, QD")]),
}


IDS = {name: str(20000000 + i) for i, name in enumerate(CASES)}


@pytest.fixture(scope="module")
def typed(spark):
    """The cases as silver types them: (report rows, drug rows)."""
    bronze = bronze_frame(spark, [payload({**event, "safetyreportid": IDS[name]})
                                  for name, event in CASES.items()])
    reports = silver.report_rows(silver.latest_versions(silver.compact(silver.parse(bronze))))
    return reports, silver.drug_rows(reports, reference.product_names(spark))


@pytest.fixture(scope="module")
def flagged(spark, typed):
    reports, drugs = typed
    result = gold.flags(reports, drugs, silver.reaction_rows(reports), reference.drug_facts(spark))
    by_id = {r.safetyreportid: r for r in result.collect()}
    return {name: by_id[IDS[name]] for name in CASES}


def test_a_dose_that_overflows_when_converted_is_unknown_not_infinite(typed, flagged):
    """1e305 kg is 1e311 mg, beyond a double: the milligram doses are null (unknown), not
    Infinity, which Azure SQL's FLOAT cannot store; the dose as reported is kept."""
    _, drugs = typed
    d = drugs.where(F.col("safetyreportid") == IDS["dose_overflows"]).first()
    assert (d.dose_amount, d.dose_unit, d.dose_mg, d.daily_dose_mg) == (1e305, "kg", None, None)
    r = flagged["dose_overflows"]
    assert not any("∞" in reason for reason in r.overdose_reasons + r.anomaly_reasons)


@pytest.mark.parametrize("case", ["clean", "weekly_within_max", "text_per_kg", "text_other_dose",
                                  "structured_interval_wins", "zero_dose", "zero_dose_text_gives_it",
                                  "zero_dose_text"])
def test_a_clean_report_has_no_flags(flagged, case):
    r = flagged[case]
    assert (r.is_overdose, r.overdose_reasons, r.overdose_intent) == (False, [], None)
    assert (r.is_anomaly, r.anomaly_reasons) == (False, [])
    assert r.suspect_generic_names == ["ACETAMINOPHEN"]  # Tylenol, named by the reference data


@pytest.mark.parametrize(("case", "dose"), [
    # (dose_amount, dose_unit, dose_mg, daily_dose_mg, dose_source)
    ("clean", (500.0, "mg", 500.0, None, "structured")),
    ("above_max", (1000.0, "mg", 1000.0, 12000.0, "structured")),
    ("weekly_above_max", (5000.0, "mg", 5000.0, 5000.0 / 7, "structured")),
    ("text_above_max", (2.0, "g", 2000.0, 8000.0, "dosage text")),
    ("text_frequency_above_max", (1000.0, "mg", 1000.0, 6000.0, "structured, frequency from text")),
    ("text_per_kg", (None, None, None, None, None)),
    ("text_other_dose", (500.0, "mg", 500.0, None, "structured")),
    ("structured_interval_wins", (1000.0, "mg", 1000.0, 1000.0, "structured")),
    ("tablets_text_mg_amount", (500.0, "mg", 500.0, 1000.0, "structured, frequency from text")),
    ("text_other_count", (1.0, "DF", None, None, "structured")),
    ("no_suspect", (None, None, None, None, None)),
    ("zero_dose", (None, "mg", None, None, None)),
    ("zero_dose_text_gives_it", (500.0, "mg", 500.0, 1000.0, "dosage text")),
    ("zero_dose_text", (None, None, None, None, None)),
])
def test_where_each_dose_comes_from(typed, case, dose):
    _, drugs = typed
    d = drugs.where(F.col("safetyreportid") == IDS[case]).first()
    assert (d.dose_amount, d.dose_unit, d.dose_mg, d.daily_dose_mg, d.dose_source) == pytest.approx(dose)


@pytest.mark.parametrize(("case", "intent", "reasons"), [
    ("intentional", "intentional", ["overdose term: Intentional overdose"]),
    ("accidental", "accidental", ["overdose term: Accidental overdose",
                                  "overdose term: Toxicity to various agents"]),
    ("term_only", "unknown", ["overdose term: Overdose"]),
    ("above_max", "unknown",
     ["dose above maximum daily dose: ACETAMINOPHEN 12,000.0 mg > 4,000.0 mg"]),
    ("weekly_above_max", "unknown",
     ["dose above maximum daily dose: ACETAMINOPHEN 5,000.0 mg > 4,000.0 mg"]),
    ("text_above_max", "unknown",
     ["dose above maximum daily dose: ACETAMINOPHEN 8,000.0 mg > 4,000.0 mg (dosage text)"]),
    ("text_frequency_above_max", "unknown",
     ["dose above maximum daily dose: ACETAMINOPHEN 6,000.0 mg > 4,000.0 mg"
      " (structured, frequency from text)"]),
])
def test_overdose_rules(flagged, case, intent, reasons):
    r = flagged[case]
    assert r.is_overdose and r.overdose_intent == intent and r.overdose_reasons == reasons


@pytest.mark.parametrize(("case", "reason"), [
    ("age_250", "implausible age: 250.0 years"),
    ("weight_900", "implausible weight: 900.0 kg"),
    ("death_recovered", "death reported but every reaction recovered"),
    ("future", "report dated in the future: 2099-12-31"),
    ("no_suspect", "no suspect drug"),
    ("far_from_usual", "dose far outside the usual range: ACETAMINOPHEN 5.0 mg vs usual 1,000.0 mg"),
    ("text_far_from_usual",
     "dose far outside the usual range: ACETAMINOPHEN 5.0 mg vs usual 1,000.0 mg (dosage text)"),
    ("child_on_statin", "age implausible for the product: 5.0 years on ATORVASTATIN (statin)"),
    ("man_on_contraceptive", "sex implausible for the product: male on DROSPIRENONE AND ETHINYL ESTRADIOL"),
])
def test_anomaly_rules(flagged, case, reason):
    r = flagged[case]
    assert r.is_anomaly and reason in r.anomaly_reasons, r.anomaly_reasons
    assert not r.is_overdose


@pytest.mark.parametrize(("case", "overdose", "anomaly"), [
    ("foetus_exposed_to_statin", [], []),
    ("boy_exposed_to_contraceptive", [], []),
    ("child_statin_transplacental", [], []),
    ("man_contraceptive_transmammary", [], []),
    ("foetus_mothers_overdose", ["dose above maximum daily dose: ACETAMINOPHEN 20,000.0 mg > 4,000.0 mg"],
     ["dose far outside the usual range: ACETAMINOPHEN 20,000.0 mg vs usual 1,000.0 mg"]),
    ("child_statin_and_mothers_drug", [],
     ["age implausible for the product: 5.0 years on ATORVASTATIN (statin)"]),
])
def test_a_child_exposed_through_its_mother_is_not_judged_as_a_user(flagged, case, overdose, anomaly):
    """In a parent-child report — a reaction of foetal or breast-milk exposure, or a drug given
    transplacentally (064) or transmammarily (063) — the patient's age and sex are the child's:
    they say nothing about who the product is for. The dose is the mother's, and is compared."""
    r = flagged[case]
    assert (r.overdose_reasons, r.anomaly_reasons) == (overdose, anomaly)
    assert r.is_overdose == bool(overdose) and r.is_anomaly == bool(anomaly)


@pytest.mark.parametrize(("case", "overdose", "anomaly"), [
    ("infant_swallowed_oxycodone", ["overdose term: Accidental overdose"], []),
    ("boy_took_mothers_contraceptive", [], []),
    ("child_given_anothers_statin", [], []),
    ("girl_touched_fathers_testosterone_gel", [], []),
    ("infant_oxycodone_overdose", ["overdose term: Accidental overdose"],
     ["age implausible for the product: 0.8 years on OXYCODONE (opioid_analgesic)"]),
])
def test_a_product_taken_by_someone_it_was_not_meant_for_says_nothing_of_its_users(
        flagged, case, overdose, anomaly):
    """A child who swallowed a grandparent's tablets, a dose given to the wrong patient, a
    parent's testosterone gel passed on by touch: where the reactions say so, the patient's age
    and sex are not judged against the product's users (the real sample's report 13905529, an
    infant's accidental exposure to oxycodone, was an "implausible age"). An accidental overdose
    alone is judged: it is as often the patient's own medicine."""
    r = flagged[case]
    assert (r.overdose_reasons, r.anomaly_reasons) == (overdose, anomaly)
    assert r.is_anomaly == bool(anomaly)


@pytest.mark.parametrize(("case", "anomaly"), [
    ("newborn_paracetamol", []),
    ("newborn_no_weight", []),
    ("infant_by_group", []),
    ("newborn_tiny_dose", ["dose far outside the usual range: ACETAMINOPHEN 1.0 mg vs usual 1,000.0 mg"]),
    ("adult_no_weight_small_dose",
     ["dose far outside the usual range: ACETAMINOPHEN 40.0 mg vs usual 1,000.0 mg"]),
])
def test_a_childs_dose_is_far_below_the_usual_only_for_its_weight(flagged, case, anomaly):
    """The usual dose is an adult's; a child's is by body weight. A dose is far below the usual
    only against the usual scaled to the patient's weight (of 70 kg), or to a newborn's where a
    child's weight is not given; an adult of no stated weight is judged against the usual."""
    r = flagged[case]
    assert (r.overdose_reasons, r.anomaly_reasons) == ([], anomaly)


def test_death_is_read_from_the_flag_or_a_fatal_outcome(flagged):
    assert flagged["death_recovered"].is_death and not flagged["clean"].is_death


def test_daily_aggregates_count_reports_once_per_group(spark, flagged):
    flags_df = spark.createDataFrame(
        [("1", datetime(2024, 1, 5).date(), "US", True, True, True, False),
         ("2", datetime(2024, 1, 5).date(), "US", False, False, False, True)],
        "safetyreportid string, receivedate date, occurcountry string, serious boolean, "
        "is_death boolean, is_overdose boolean, is_anomaly boolean")
    drugs = spark.createDataFrame([("1", 1, "A", "A"), ("1", 1, "A2", "A"), ("2", 1, "B", "B")],
                                  "safetyreportid string, drugcharacterization int, product_name string, "
                                  "generic_name string")
    reactions = spark.createDataFrame([("1", "Rash"), ("1", "Nausea"), ("2", "Rash")],
                                      "safetyreportid string, reactionmeddrapt string")
    reports = spark.createDataFrame([("1", "adult", "female"), ("2", "adult", "female")],
                                    "safetyreportid string, patient_age_group string, patient_sex string")
    agg = gold.daily_aggregates(flags_df, drugs, reactions, reports)
    drug_daily = {r.generic_name: (r.reports, r.serious_reports, r.deaths, r.overdoses, r.anomalies)
                  for r in agg[tables.DRUG_DAILY].collect()}
    assert drug_daily == {"A": (1, 1, 1, 1, 0), "B": (1, 0, 0, 0, 1)}  # A counted once, not twice
    rash = agg[tables.REACTION_DEMOGRAPHIC_DAILY].where(F.col("reactionmeddrapt") == "Rash").first()
    assert (rash.reports, rash.patient_age_group, rash.patient_sex) == (2, "adult", "female")
    assert agg[tables.COUNTRY_DAILY].first().reports == 2


def test_the_reference_tables_are_broadcast_into_the_batch_joins(spark, typed, fresh_settings):
    """Cached, their size is unknown to the planner until first used, so without the hint
    every batch would shuffle and sort its drug rows to join a few thousand names."""
    reports, _ = typed
    writer = silver.SilverWriter(spark, fresh_settings)
    plan = silver.drug_rows(reports, writer.names)._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan and "SortMergeJoin" not in plan


@pytest.mark.parametrize(("case", "overdose", "anomaly"), [
    ("topical_diclofenac", [], []),
    ("oral_diclofenac", ["dose above maximum daily dose: DICLOFENAC 8,000.0 mg > 150.0 mg"],
     ["dose far outside the usual range: DICLOFENAC 2,000.0 mg vs usual 50.0 mg"]),
    ("gel_by_name", [], []),
    ("gel_by_form", [], []),
    ("no_route_said", ["dose above maximum daily dose: DICLOFENAC 8,000.0 mg > 150.0 mg (dosage text)"],
     ["dose far outside the usual range: DICLOFENAC 2,000.0 mg vs usual 50.0 mg (dosage text)"]),
    ("intrathecal_baclofen", [], []),
    ("baclofen_no_route",
     [], ["dose far outside the usual range: BACLOFEN 0.157 mg vs usual 10.0 mg (dosage text)"]),
    ("vaginal_estradiol", [], []),
    ("oral_estradiol_10ug", [], ["dose far outside the usual range: ESTRADIOL 0.010 mg vs usual 1.0 mg"]),
    ("unknown_route", [], ["dose far outside the usual range: ACETAMINOPHEN 5.0 mg vs usual 1,000.0 mg"]),
])
def test_a_dose_is_compared_only_by_the_route_the_reference_is_for(flagged, case, overdose, anomaly):
    """2 g of diclofenac gel four times a day is no overdose, 157 micrograms of intrathecal
    baclofen a day and a 10-microgram vaginal estradiol tablet are no doses far below the usual;
    each is, by mouth or where the route is unknown (the reference's scale)."""
    r = flagged[case]
    assert (r.overdose_reasons, r.anomaly_reasons) == (overdose, anomaly)
    assert r.is_overdose == bool(overdose) and r.is_anomaly == bool(anomaly)


@pytest.mark.parametrize(("case", "overdose", "anomaly"), [
    ("biktarvy_two_a_day", ["dose above maximum daily dose: BICTEGRAVIR, EMTRICITABINE AND TENOFOVIR "
                            "ALAFENAMIDE 2.0 DF > 1.0 DF"], []),
    ("biktarvy_one_a_day", [], []),
    ("yaz_whole_pack", ["dose above maximum daily dose: DROSPIRENONE AND ETHINYL ESTRADIOL 28.0 DF > 1.0 DF"],
     ["dose far outside the usual range: DROSPIRENONE AND ETHINYL ESTRADIOL 28.0 DF vs usual 1.0 DF"]),
    ("biktarvy_as_text", ["dose above maximum daily dose: BICTEGRAVIR, EMTRICITABINE AND TENOFOVIR "
                          "ALAFENAMIDE 2.0 DF > 1.0 DF (dosage text)"], []),
    ("biktarvy_frequency_as_text", ["dose above maximum daily dose: BICTEGRAVIR, EMTRICITABINE AND "
                                    "TENOFOVIR ALAFENAMIDE 2.0 DF > 1.0 DF"
                                    " (structured, frequency from text)"], []),
    ("lantus_300_iu", [], ["dose far outside the usual range: INSULIN GLARGINE 300.0 IU vs usual 20.0 IU"]),
    ("yaz_pack_spelled_out",
     ["dose above maximum daily dose: DROSPIRENONE AND ETHINYL ESTRADIOL 28.0 DF > 1.0 DF (dosage text)"],
     ["dose far outside the usual range: DROSPIRENONE AND ETHINYL ESTRADIOL 28.0 DF vs usual 1.0 DF"
      " (dosage text)"]),
    ("lantus_units_spelled_out", [],
     ["dose far outside the usual range: INSULIN GLARGINE 300.0 IU vs usual 20.0 IU (dosage text)"]),
    ("lantus_40_iu", [], []),
    ("symbicort_within_max", [], []),
    ("tylenol_in_tablets", [], []),
    ("lantus_in_ml", [], []),
])
def test_a_dose_in_tablets_or_units_is_compared_with_the_reference_in_the_same_unit(
        typed, flagged, case, overdose, anomaly):
    """A dose reported in dosage forms (DF) or international units (IU) has no mg value; it is
    compared with the reference's dose where the reference counts in the same unit, and not at
    all where it does not (20 tablets of a drug dosed in mg, insulin in ml)."""
    r = flagged[case]
    assert (r.overdose_reasons, r.anomaly_reasons) == (overdose, anomaly)
    assert r.is_overdose == bool(overdose) and r.is_anomaly == bool(anomaly)


TABLETS_OF = " per DF, from the product name)"


@pytest.mark.parametrize(("case", "overdose", "anomaly"), [
    ("tylenol_500_pack", ["dose above maximum daily dose: ACETAMINOPHEN 15,000.0 mg > 4,000.0 mg (500.0 mg"
                          + TABLETS_OF],
     ["dose far outside the usual range: ACETAMINOPHEN 15,000.0 mg vs usual 1,000.0 mg (500.0 mg"
      + TABLETS_OF]),
    # two tablets every 4 hours: 12 a day
    ("tylenol_500_two_q4h", ["dose above maximum daily dose: ACETAMINOPHEN 6,000.0 mg > 4,000.0 mg (500.0 mg"
                             + TABLETS_OF], []),
    ("tylenol_500_two_qid", [], []),  # 8 tablets a day: 4,000 mg, the maximum
    ("oxycodone_tablets_as_text", ["dose above maximum daily dose: OXYCODONE 300.0 mg > 160.0 mg "
                                   "(dosage text; 10.0 mg" + TABLETS_OF],
     ["dose far outside the usual range: OXYCODONE 300.0 mg vs usual 10.0 mg (dosage text; 10.0 mg"
      + TABLETS_OF]),
    ("levothyroxine_mcg", ["dose above maximum daily dose: LEVOTHYROXINE 0.500 mg > 0.300 mg (0.100 mg"
                           + TABLETS_OF], []),
    ("levothyroxine_micro_sign", ["dose above maximum daily dose: LEVOTHYROXINE 0.500 mg > 0.300 mg (0.100 mg"
                                  + TABLETS_OF], []),
    ("heparin_ampoules", [], ["dose far outside the usual range: HEPARIN 100,000.0 IU vs usual 5,000.0 IU "
                              "(5,000.0 IU" + TABLETS_OF]),
    ("combination_in_tablets", [], []),
    ("combination_slash_in_tablets", [], []),
    ("concentration_in_forms", [], []),
    ("implausible_strength", [], []),
    ("implausibly_small_strength", [], []),
    ("tylenol_tablets_spelled_out", ["dose above maximum daily dose: ACETAMINOPHEN 10,000.0 mg > 4,000.0 mg "
                                     "(dosage text; 500.0 mg" + TABLETS_OF],
     []),  # 10× the usual dose, not more
])
def test_tablets_are_compared_by_the_strength_their_product_name_states(flagged, case, overdose, anomaly):
    """Real reports count tablets (DF) of a drug dosed by mass and name the product with its
    strength (`ACETAMINOPHEN 500 MG`, 20 DF): gold compares the tablets times that strength, and
    says so. A name that states several amounts, a concentration, or a strength one tablet
    could not be (above the maximum daily dose, far below the usual dose) gives none, and the
    dose is not compared."""
    r = flagged[case]
    assert (r.overdose_reasons, r.anomaly_reasons) == (overdose, anomaly)
    assert r.is_overdose == bool(overdose) and r.is_anomaly == bool(anomaly)


@pytest.mark.parametrize(("case", "dose"), [
    # (dose_amount, dose_unit, daily_dose_amount, daily_dose_mg)
    ("tylenol_500_two_q4h", (2.0, "DF", 12.0, None)),  # silver keeps the tablets; gold reads the strength
    ("biktarvy_two_a_day", (1.0, "DF", 2.0, None)),
    ("lantus_300_iu", (300.0, "IU", 300.0, None)),
    ("yaz_whole_pack", (28.0, "DF", None, None)),
    ("above_max", (1000.0, "mg", 12000.0, 12000.0)),  # 1 g every 2 h
    ("text_above_max", (2.0, "g", 8.0, 8000.0)),  # "2 G, QID"
])
def test_the_daily_dose_is_kept_in_the_unit_reported(typed, case, dose):
    _, drugs = typed
    d = drugs.where(F.col("safetyreportid") == IDS[case]).first()
    assert (d.dose_amount, d.dose_unit, d.daily_dose_amount, d.daily_dose_mg) == pytest.approx(dose)
