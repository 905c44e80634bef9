"""Gold: per-report overdose and anomaly flags with their reasons, and daily aggregates for
the dashboards. Two queries, each driven by a Change Data Feed:
- flags (`start`, silver's report changes): the flags of the reports that changed, appended
  when none of them has flags yet (idempotent per batch id), else MERGEd;
- aggregates (`start_aggregates`, gold's flag changes): the aggregates of the days the changed
  flags touch, recomputed whole and MERGEd (the low-latency query's aggregates follow silver's
  report changes instead, see `jobs.realtime`).
A re-run of a batch writes the same rows again. The flags, which alerting waits for, do not
wait for the aggregates, which dashboards read.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import dosage_text, reference, routes, silver, tables
from jobs.settings import Settings

# MedDRA preferred terms for overdose and poisoning (shared/reference/openfda-drug-event.md).
OVERDOSE_TERMS = (
    "overdose", "accidental overdose", "intentional overdose", "prescribed overdose",
    "toxicity to various agents", "poisoning", "accidental poisoning", "poisoning deliberate",
    "exposure to toxic agent", "systemic toxicity", "chemical poisoning",
)
INTENTIONAL_TERMS = ("intentional overdose", "poisoning deliberate")
ACCIDENTAL_TERMS = ("accidental overdose", "accidental poisoning")
# MedDRA preferred terms (and the US spelling) that make a report a parent-child one: the patient
# is a foetus or a breastfed child, exposed to the drugs a parent took. Its age and sex are the
# child's, so they say nothing about who the product is for.
THROUGH_PARENT_TERMS = (
    "foetal exposure during pregnancy", "foetal exposure timing unspecified", "exposure via breast milk",
    "maternal drugs affecting foetus", "paternal drugs affecting foetus", "exposure via father",
    "fetal exposure during pregnancy", "fetal exposure timing unspecified",
)
# MedDRA preferred terms that say the patient was exposed to a product meant for someone else: a
# child who swallowed a grandparent's tablets, a dose given to the wrong patient, a parent's
# testosterone gel passed on by touch. As in a parent-child report, the patient's age and sex
# say nothing about who the product is for. ("Accidental overdose" alone does not: it is as
# often a patient's own medicine taken twice.)
ACCIDENTAL_EXPOSURE_TERMS = (
    "accidental exposure to product", "accidental exposure to product by child",
    "accidental exposure to product packaging", "wrong patient received product",
    "exposure via skin contact", "exposure via partner", "exposure via body fluid",
)

MAX_PLAUSIBLE_AGE_YEARS = 120.0
WEIGHT_KG_RANGE = (0.3, 350.0)  # a premature neonate … the heaviest recorded patients
DOSE_FAR_ABOVE_USUAL = 10.0  # × the usual single dose
DOSE_FAR_BELOW_USUAL = 1 / 20
# The usual dose is an adult's, and children are dosed by body weight: a dose is far below the
# usual only against the usual scaled to the patient's weight (a 3.5 kg newborn's paracetamol
# is a twentieth of an adult's), or to a newborn's where a child's weight is not given.
ADULT_WEIGHT_KG, NEWBORN_WEIGHT_KG = 70.0, 3.5
CHILD_AGE_GROUPS = tuple(silver.AGE_GROUP_CODES[code] for code in "1234")  # neonate … adolescent


def _fmt(value: Column, decimals: int = 1) -> Column:
    return F.format_number(value, decimals)


def _fmt_dose(value: Column) -> Column:
    """A dose for a reason's text: one decimal, three below 1 (10 micrograms is "0.010 mg",
    not "0.0 mg")."""
    return F.when(F.abs(value) < 1, _fmt(value, 3)).otherwise(_fmt(value))


def _reasons(*candidates: Column) -> Column:
    return F.filter(F.array(*candidates), lambda r: r.isNotNull())


def reaction_findings(reactions: DataFrame) -> DataFrame:
    """Per report: overdose terms found, their intent, and the outcome facts the anomaly
    rules need."""
    pt = F.lower(F.col("reactionmeddrapt"))
    return reactions.groupBy("safetyreportid").agg(
        F.array_sort(F.array_distinct(F.collect_list(
            F.when(pt.isin(*OVERDOSE_TERMS), F.col("reactionmeddrapt"))))).alias("overdose_terms"),
        F.max(pt.isin(*INTENTIONAL_TERMS).cast("int")).alias("_intentional"),
        F.max(pt.isin(*ACCIDENTAL_TERMS).cast("int")).alias("_accidental"),
        F.max(pt.isin(*THROUGH_PARENT_TERMS, *ACCIDENTAL_EXPOSURE_TERMS).cast("int")).alias("_not_the_user"),
        F.max((F.col("reactionoutcome") == 5).cast("int")).alias("_fatal_outcome"),
        F.count(F.when(F.col("reactionoutcome").isin(2, 3, 4, 5), 1)).alias("_unrecovered_outcomes"),
        F.count(F.when(F.col("reactionoutcome") == 1, 1)).alias("_recovered_outcomes"),
    )


def drug_findings(drugs: DataFrame, reports: DataFrame, facts: DataFrame) -> DataFrame:
    """Per report: doses above the maximum daily dose, doses far from the usual dose, and
    patients outside the product's population, each as a reason."""
    d = routes.with_group(
        drugs.join(facts, "generic_name", "left")
        .join(reports.select("safetyreportid", "patient_age_years", "patient_age_group", "patient_sex",
                             "patient_weight_kg"), "safetyreportid", "left"),
        "_route_group", "drugadministrationroute", "product_name", "drugdosageform", "drugdosagetext")
    # The reference's doses hold for its own route's group; a dose given by another (a gel, a
    # patch, a pump into the spine) is on another scale and is not compared (`jobs.routes`).
    same_route = (F.col("_route_group").isNull() | F.col("dose_route_group").isNull()
                  | (F.col("_route_group") == F.col("dose_route_group")))
    # The reference's doses are in mg for a drug dosed by mass, else in its own unit (IU, DF,
    # ml): a dose is compared in mg, or as reported where it is in that same unit (2 DF of a
    # one-tablet-a-day drug, 300 IU of insulin), or as tablets (DF) of the strength its product
    # name states (20 DF of ACETAMINOPHEN 500 MG).
    in_mg = F.col("reference_dose_unit") == "mg"
    in_unit = F.col("dose_unit") == F.col("reference_dose_unit")
    # A strength that one tablet could not be — above the maximum daily dose, or itself far
    # from the usual dose — is more likely another ingredient's or a pack's than the tablet's.
    # (A column, not an expression, so that each use does not read the name again.)
    strength = F.col("_strength")
    d = d.withColumn("_strength", F.when((F.col("dose_unit") == "DF") & ~in_unit, reference.product_strength(
        F.col("product_name"), F.col("reference_dose_unit")))).withColumn("_strength", F.when(
            (strength <= F.coalesce(F.col("max_daily_dose"), strength))
            & (strength <= F.col("usual_dose") * DOSE_FAR_ABOVE_USUAL)
            & (strength >= F.col("usual_dose") * DOSE_FAR_BELOW_USUAL), strength))
    in_forms = strength.isNotNull()

    def compared(mg: str, amount: str) -> Column:
        return (F.when(in_mg & F.col(mg).isNotNull(), F.col(mg)).when(in_unit, F.col(amount))
                .when(in_forms, F.col(amount) * strength))

    single = compared("dose_mg", "dose_amount")
    # What the patient takes on a day with a dose: the daily average where doses come more
    # than once a day, the single dose where they come less often — a weekly dose is taken
    # whole on its day, and its average per day would hide a single dose above the maximum.
    dose = F.greatest(compared("daily_dose_mg", "daily_dose_amount"), single)
    unit = F.concat(F.lit(" "), F.col("reference_dose_unit"))
    name = F.coalesce(F.col("generic_name"), F.col("product_name"))
    # How the dose was read, where not from the structured fields as they stand.
    notes = _reasons(
        F.when(F.col("dose_source") != dosage_text.SOURCE_STRUCTURED, F.col("dose_source")),
        F.when(in_forms, F.concat(_fmt_dose(strength), unit, F.lit(" per DF, from the product name"))))
    how_read = F.when(F.size(notes) > 0, F.concat(F.lit(" ("), F.array_join(notes, "; "), F.lit(")"))
                      ).otherwise(F.lit(""))
    above_max = F.when(
        same_route & (dose > F.col("max_daily_dose")),
        F.concat(F.lit("dose above maximum daily dose: "), name, F.lit(" "), _fmt_dose(dose), unit,
                 F.lit(" > "), _fmt_dose(F.col("max_daily_dose")), unit, how_read))
    weight = F.coalesce(F.col("patient_weight_kg"), F.when(
        F.col("patient_age_group").isin(*CHILD_AGE_GROUPS), F.lit(NEWBORN_WEIGHT_KG)))
    for_weight = F.coalesce(F.least(weight / ADULT_WEIGHT_KG, F.lit(1.0)), F.lit(1.0))
    far_from_usual = F.when(
        same_route & ((single > F.col("usual_dose") * DOSE_FAR_ABOVE_USUAL)
                      | (single < F.col("usual_dose") * DOSE_FAR_BELOW_USUAL * for_weight)),
        F.concat(F.lit("dose far outside the usual range: "), name, F.lit(" "), _fmt_dose(single), unit,
                 F.lit(" vs usual "), _fmt_dose(F.col("usual_dose")), unit, how_read))
    age = F.col("patient_age_years")
    # A drug a foetus or a breastfed child got through its mother is not one the patient took.
    patients_own = (F.col("drugcharacterization") == 1) & ~F.coalesce(
        F.trim(F.col("drugadministrationroute")).isin(*routes.THROUGH_PARENT), F.lit(False))
    outside_population = F.when(
        patients_own & ((age < F.col("min_age_years")) | (age > F.col("max_age_years"))),
        F.concat(F.lit("age implausible for the product: "), _fmt(age), F.lit(" years on "), name,
                 F.lit(" ("), F.col("drug_class"), F.lit(")")))
    wrong_sex = F.when(
        patients_own & F.col("patient_sex").isin("male", "female")
        & F.col("sex").isNotNull() & (F.col("patient_sex") != F.col("sex")),
        F.concat(F.lit("sex implausible for the product: "), F.col("patient_sex"), F.lit(" on "), name))
    return d.groupBy("safetyreportid").agg(
        F.collect_list(above_max).alias("_above_max"),
        F.array_distinct(F.flatten(F.collect_list(_reasons(far_from_usual)))).alias("_drug_anomalies"),
        F.array_distinct(F.flatten(F.collect_list(_reasons(outside_population, wrong_sex))))
        .alias("_population_anomalies"),
        F.max((F.col("drugcharacterization") == 1).cast("int")).alias("_has_suspect"),
        F.array_sort(F.array_distinct(F.collect_list(
            F.when(F.col("drugcharacterization") == 1, F.col("generic_name")))))
        .alias("suspect_generic_names"),
    )


def flags(reports: DataFrame, drugs: DataFrame, reactions: DataFrame, facts: DataFrame) -> DataFrame:
    """One row per report with `is_overdose`/`is_anomaly` and the reasons for each."""
    r = (reports.join(reaction_findings(reactions), "safetyreportid", "left")
         .join(drug_findings(drugs, reports, facts), "safetyreportid", "left"))
    overdose_reasons = F.concat(
        F.transform(F.coalesce("overdose_terms", F.array().cast("array<string>")),
                    lambda t: F.concat(F.lit("overdose term: "), t)),
        F.coalesce("_above_max", F.array().cast("array<string>")),
    )
    is_death = (F.col("seriousnessdeath") | F.col("patient_death_date").isNotNull()
                | (F.coalesce("_fatal_outcome", F.lit(0)) == 1))
    age, weight = F.col("patient_age_years"), F.col("patient_weight_kg")
    today = F.current_date()
    anomalies = F.concat(
        _reasons(
            F.when((age > MAX_PLAUSIBLE_AGE_YEARS) | (age < 0),
                   F.concat(F.lit("implausible age: "), _fmt(age), F.lit(" years"))),
            F.when((weight < WEIGHT_KG_RANGE[0]) | (weight > WEIGHT_KG_RANGE[1]),
                   F.concat(F.lit("implausible weight: "), _fmt(weight), F.lit(" kg"))),
            F.when(is_death & (F.coalesce("_fatal_outcome", F.lit(0)) == 0)
                   & (F.coalesce("_recovered_outcomes", F.lit(0)) > 0)
                   & (F.coalesce("_unrecovered_outcomes", F.lit(0)) == 0),
                   F.lit("death reported but every reaction recovered")),
            F.when(F.greatest("receivedate", "receiptdate", "transmissiondate") > today,
                   F.concat(F.lit("report dated in the future: "),
                            F.greatest("receivedate", "receiptdate", "transmissiondate").cast("string"))),
            F.when(F.coalesce("_has_suspect", F.lit(0)) == 0, F.lit("no suspect drug")),
        ),
        F.coalesce("_drug_anomalies", F.array().cast("array<string>")),
        # In a parent-child report, or one of a product taken by someone it was not meant for,
        # the patient's age and sex are not those of the product's users.
        F.coalesce(F.when(F.coalesce("_not_the_user", F.lit(0)) == 0, F.col("_population_anomalies")),
                   F.array().cast("array<string>")),
    )
    has_overdose = F.size(overdose_reasons) > 0
    return r.select(
        "safetyreportid", "safetyreportversion", "receivedate", "occurcountry", "serious",
        is_death.alias("is_death"),
        has_overdose.alias("is_overdose"),
        overdose_reasons.alias("overdose_reasons"),
        F.when(~has_overdose, None).when(F.col("_intentional") == 1, "intentional")
        .when(F.col("_accidental") == 1, "accidental").otherwise("unknown").alias("overdose_intent"),
        (F.size(anomalies) > 0).alias("is_anomaly"),
        anomalies.alias("anomaly_reasons"),
        F.coalesce("suspect_generic_names", F.array().cast("array<string>")).alias("suspect_generic_names"),
        F.current_timestamp().alias("gold_updated_at"),
    )


FLAG_COLUMNS = ("serious", "is_death", "is_overdose", "is_anomaly")


def _counts(grouped: DataFrame, keys: list[str]) -> DataFrame:
    """Reports per group, and how many of them are serious, deaths, overdoses, anomalies. A
    report counts once per group however many of its drugs or reactions fall in it: the rows are
    made distinct by (group, report) first — the flags are the report's — and then counted, one
    plain aggregation where five distinct counts would copy every row five times."""
    once = grouped.select(*keys, "safetyreportid", *FLAG_COLUMNS).dropDuplicates(
        [*keys, "safetyreportid"])
    return once.groupBy(*keys).agg(
        F.count("safetyreportid").alias("reports"),
        F.count(F.when(F.col("serious"), 1)).alias("serious_reports"),
        F.count(F.when(F.col("is_death"), 1)).alias("deaths"),
        F.count(F.when(F.col("is_overdose"), 1)).alias("overdoses"),
        F.count(F.when(F.col("is_anomaly"), 1)).alias("anomalies"),
        F.current_timestamp().alias("gold_updated_at"),
    )


UNKNOWN = "UNKNOWN"  # grouping value for a missing drug name or country, so keys are never null


def daily_aggregates(flags_df: DataFrame, drugs: DataFrame, reactions: DataFrame,
                     reports: DataFrame) -> dict[tables.Table, DataFrame]:
    f = flags_df.select("safetyreportid", "receivedate", "serious", "is_death", "is_overdose",
                        "is_anomaly", F.coalesce("occurcountry", F.lit(UNKNOWN)).alias("occurcountry"))
    suspects = drugs.where(F.col("drugcharacterization") == 1).select(
        "safetyreportid", F.coalesce("generic_name", "product_name", F.lit(UNKNOWN)).alias("generic_name"))
    pts = reactions.select("safetyreportid", "reactionmeddrapt")
    demo = reports.select("safetyreportid", "patient_age_group", "patient_sex")
    return {
        tables.DRUG_DAILY: _counts(f.join(suspects, "safetyreportid"),
                                   ["receivedate", "generic_name", "occurcountry"]),
        tables.DRUG_REACTION_DAILY: _counts(
            f.join(suspects, "safetyreportid").join(pts, "safetyreportid"),
            ["receivedate", "generic_name", "reactionmeddrapt"]),
        tables.REACTION_DEMOGRAPHIC_DAILY: _counts(
            f.join(pts, "safetyreportid").join(demo, "safetyreportid"),
            ["receivedate", "reactionmeddrapt", "patient_age_group", "patient_sex"]),
        tables.COUNTRY_DAILY: _counts(f, ["receivedate", "occurcountry"]),
    }


AGGREGATES = (tables.DRUG_DAILY, tables.DRUG_REACTION_DAILY, tables.REACTION_DEMOGRAPHIC_DAILY,
              tables.COUNTRY_DAILY)


@dataclass
class FlagsWriter:
    """silver report changes → gold.adverse_event_flags: the latency-critical path, kept lean."""

    spark: SparkSession
    settings: Settings
    app_id: str = "vigil-gold"

    def __post_init__(self):
        tables.ensure(self.spark, self.settings, tables.FLAGS)
        self.facts = reference.for_joins(reference.drug_facts(self.spark))

    def update_batch(self, report_changes: DataFrame, batch_id: int) -> None:
        """`report_changes`: silver.adverse_event_report's change feed rows in this batch."""
        self.update_reports(
            report_changes.where("_change_type != 'update_preimage'").select("safetyreportid"),
            tables.batch_txn(report_changes, f"{self.app_id}-flags", batch_id))

    def update_reports(self, report_ids: DataFrame, txn: tuple[str, int]) -> None:
        """Recompute the flags of these reports (ids may repeat) from the silver tables.

        Per report: has it a flags row yet? When none has, they are appended (idempotent by
        `txn`), else MERGEd, rewriting only flags that changed. (Asked of the flags table, not of
        why the report is here, so that a re-run, or a replay from a fresh checkpoint, never
        appends a report's flags twice.)"""
        def read(table) -> DataFrame:
            return tables.read(self.spark, self.settings, table)

        stored = read(tables.FLAGS).select("safetyreportid", F.lit(False).alias("_new"))
        changed = (report_ids.distinct()
                   .join(stored, "safetyreportid", "left")
                   .select("safetyreportid", F.coalesce("_new", F.lit(True)).alias("_new"))
                   .persist())
        try:
            if changed.isEmpty():
                return
            ids = changed.select("safetyreportid")
            self._write(flags(read(tables.REPORT).join(ids, "safetyreportid", "left_semi"),
                              read(tables.DRUG).join(ids, "safetyreportid", "left_semi"),
                              read(tables.REACTION).join(ids, "safetyreportid", "left_semi"),
                              self.facts),
                        txn, has_updates=not changed.where("NOT _new").isEmpty())
        finally:
            changed.unpersist()

    def flag_silver_changes(self, changes: silver.SilverChanges, txn: tuple[str, int]) -> None:
        """The flags of a silver batch's winning reports (`silver.SilverChanges`), from the
        batch's own rows: the low-latency query, which re-reads no table. Written before
        silver's report rows, so a re-run of the batch finds the same winners and writes the
        same flags (appends skipped by `txn`, MERGEs change nothing)."""
        self._write(flags(changes.reports, changes.drugs, changes.reactions, self.facts), txn,
                    changes.has_updates)

    def _write(self, new_flags: DataFrame, txn: tuple[str, int], has_updates: bool) -> None:
        """Append the flags when all are of reports without flags yet, else MERGE them all:
        one commit either way (see `silver` on why)."""
        if has_updates:
            merge(self.spark, self.settings, tables.FLAGS, new_flags)
        else:
            tables.append(new_flags, self.settings, tables.FLAGS, txn=txn)


@dataclass
class AggregatesWriter:
    """gold flag changes → the daily aggregates of the days they touch, recomputed whole from
    the current tables (so a re-run writes the same rows). Its own query, on its own cadence:
    dashboards read aggregates, and the flags need not wait for them."""

    spark: SparkSession
    settings: Settings

    def __post_init__(self):
        for table in AGGREGATES:
            tables.ensure(self.spark, self.settings, table)

    def update_batch(self, changes: DataFrame, batch_id: int) -> None:
        """`changes`: change feed rows of the followed table (see `start_aggregates`)."""
        # Both images: a follow-up that moves a report to another day changes both days.
        days = [r.receivedate for r in changes.select("receivedate").distinct().collect()
                if r.receivedate is not None]
        if not days:
            return

        def read(table) -> DataFrame:
            return tables.read(self.spark, self.settings, table).where(F.col("receivedate").isin(days))

        aggregates = daily_aggregates(read(tables.FLAGS), read(tables.DRUG), read(tables.REACTION),
                                      read(tables.REPORT))

        def write(table, rows) -> None:
            # Days the table holds nothing of yet (a first load, a backfill, a new day) are
            # appended, idempotent per batch id: no MERGE to prepare (measured: 430,000
            # reports' days 9.1 s appended, 13.5 s MERGEd). A re-run after the append finds
            # the days held and MERGEs the same rows, which changes nothing.
            if read(table).isEmpty():
                txn = tables.batch_txn(changes, f"vigil-aggregates-{table.name}", batch_id)
                tables.append(rows, self.settings, table, txn=txn)
            else:
                merge(self.spark, self.settings, table, rows, delete_missing_on_days=days)

        # four tables at once (measured: 200,000 reports' days 17.2-17.8 s one after another,
        # 15.0-15.5 s at once)
        tables.concurrently(*[lambda table=table, rows=rows: write(table, rows)
                              for table, rows in aggregates.items()])


def merge(spark: SparkSession, settings: Settings, table, rows: DataFrame,
          delete_missing_on_days=None) -> None:
    """Upsert `rows` by the table's key, rewriting only rows that changed; with
    `delete_missing_on_days`, stored rows of those days that `rows` lacks are deleted."""
    key = " AND ".join(f"t.{k} <=> s.{k}" for k in table.key)
    values = {c: f"s.{c}" for c in table.columns}
    changed = " OR ".join(f"NOT (t.{c} <=> s.{c})" for c in table.columns
                          if c not in table.key and not c.endswith("_updated_at"))
    m = (tables.delta_table(spark, settings, table).alias("t")
         .merge(tables.merge_source(rows).alias("s"), key)
         .whenMatchedUpdate(condition=changed, set=values)
         .whenNotMatchedInsert(values=values))
    if delete_missing_on_days:
        day_list = ", ".join(f"DATE'{d.isoformat()}'" for d in delete_missing_on_days)
        m = m.whenNotMatchedBySourceDelete(condition=f"t.receivedate IN ({day_list})")
    m.execute()


def start(spark: SparkSession, settings: Settings, trigger: dict, query_name: str = "gold"):
    """Stream silver's report changes → gold flags."""
    tables.ensure(spark, settings, tables.REPORT)  # the stage may start before silver has data
    return _follow_changes(spark, settings, tables.REPORT, FlagsWriter(spark, settings), trigger,
                           query_name)


def start_aggregates(spark: SparkSession, settings: Settings, trigger: dict,
                     query_name: str = "gold_aggregates", follow: tables.Table = tables.FLAGS):
    """Stream changes → the daily aggregates of the days they touch. `follow`: the table whose
    commits mark a report's rows complete — gold's flags in the staged job (written after
    silver), silver's reports in the low-latency query (written after the flags)."""
    tables.ensure(spark, settings, follow)
    return _follow_changes(spark, settings, follow, AggregatesWriter(spark, settings),
                           trigger, query_name)


def _follow_changes(spark: SparkSession, settings: Settings, source, writer, trigger: dict,
                    query_name: str):
    """A query feeding `source`'s change feed, batch by batch, to `writer.update_batch`."""
    return (
        tables.read_stream(spark, settings, source, readChangeFeed="true", startingVersion="0")
        .writeStream.queryName(query_name)
        .foreachBatch(writer.update_batch)
        .option("checkpointLocation", f"{settings.checkpoint_root}/{query_name}")
        .trigger(**trigger)
        .start()
    )
