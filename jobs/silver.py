"""Silver: bronze events parsed with the contract's explicit schema, checked against the
rules in `silver_rules`, typed, and written so that each report holds its latest version.

Per micro-batch (`upsert_batch`):
  1. each event is parsed once and reduced to what the batch needs (`compact`): the rule
     verdict, the report's typed columns, its drug and reaction arrays — and the payload only
     when the event goes to quarantine, so a cached batch is a fraction of the raw bytes;
  2. events that break a rule are appended to `silver.quarantine` (idempotent per batch id;
     no commit when none did), at the same time as step 4;
  3. the rest are reduced to the latest version per report, then compared with what is stored:
     a report never seen before is *new*, one that replaces the stored version *updates*;
  4. drug and reaction rows — and beside them whatever the caller derives from the batch's
     changes (`before_reports`: the low-latency query's gold flags);
  5. the report rows last, so a report row marks everything derived from it as complete: a
     batch re-run after a crash at any step finds the same changes and converges to the same
     tables.
Each table is written once per batch: a batch of new reports only is appended (idempotent per
batch id; no join with the stored table, which matters for big batches), a batch with updates
is MERGEd whole, new reports included (deletes of child rows a new version no longer has too;
idempotent by content) — one commit per table, where an append beside a MERGE made two, and a
small batch's time goes mostly to commits. A version older than the stored one, or an exact
duplicate, changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructType

from jobs import dosage_text, reference, tables
from jobs.settings import Settings
from jobs.silver_rules import (
    DIGITS,
    LONE_SURROGATE,
    MAYBE_NON_TEXT,
    NON_TEXT_VALUE,
    error_text,
    finite,
    nul_joined,
    only_chars,
    real_escapes,
    upper_words,
    with_broken_rules,
)
from jobs.silver_rules import number as _number

# The openFDA drug-event fields Vigil reads, all strings as openFDA sends them. Unknown
# fields are ignored; `_corrupt_record` catches values whose JSON type is wrong.
EVENT_SCHEMA = """
safetyreportid STRING, safetyreportversion STRING,
receivedate STRING, receivedateformat STRING, receiptdate STRING, receiptdateformat STRING,
transmissiondate STRING, transmissiondateformat STRING,
serious STRING, seriousnessdeath STRING, seriousnesslifethreatening STRING,
seriousnesshospitalization STRING, seriousnessdisabling STRING,
seriousnesscongenitalanomali STRING, seriousnessother STRING,
reporttype STRING, occurcountry STRING, primarysourcecountry STRING,
primarysource STRUCT<qualification: STRING, reportercountry: STRING>,
sender STRUCT<senderorganization: STRING>,
patient STRUCT<
  patientonsetage: STRING, patientonsetageunit: STRING, patientagegroup: STRING,
  patientsex: STRING, patientweight: STRING,
  patientdeath: STRUCT<patientdeathdate: STRING, patientdeathdateformat: STRING>,
  reaction: ARRAY<STRUCT<reactionmeddrapt: STRING, reactionoutcome: STRING>>,
  drug: ARRAY<STRUCT<
    medicinalproduct: STRING, drugcharacterization: STRING, drugindication: STRING,
    drugdosagetext: STRING, drugstructuredosagenumb: STRING, drugstructuredosageunit: STRING,
    drugseparatedosagenumb: STRING, drugintervaldosageunitnumb: STRING,
    drugintervaldosagedefinition: STRING, drugadministrationroute: STRING, actiondrug: STRING,
    drugdosageform: STRING,
    activesubstance: STRUCT<activesubstancename: STRING>,
    openfda: STRUCT<generic_name: ARRAY<STRING>>>>>,
_corrupt_record STRING
"""

JSON_WHITESPACE = " \t\n\r"  # what JSON allows around a value (RFC 8259)
UTF8_BOM = b"\xef\xbb\xbf"
# Spark's JSON reader accepts single quotes and NaN/Infinity by default; JSON does not.
STRICT_JSON = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record",
               "allowSingleQuotes": "false", "allowNonNumericNumbers": "false"}
# A schema that asks for no field: from_json with it only checks the JSON's syntax, whatever the
# values' types and however often a key is given.
SYNTAX_ONLY_SCHEMA = "`_` STRING, _corrupt_record STRING"

AGE_UNIT_YEARS = {"800": 10.0, "801": 1.0, "802": 1 / 12, "803": 7 / 365.25, "804": 1 / 365.25,
                  "805": 1 / 8766}
AGE_GROUP_CODES = {"1": "neonate", "2": "infant", "3": "child", "4": "adolescent", "5": "adult",
                   "6": "elderly"}
SEX = {"0": "unknown", "1": "male", "2": "female"}
# drugstructuredosageunit codes that are masses, as a factor to milligrams.
DOSE_UNITS = {"001": ("kg", 1e6), "002": ("g", 1e3), "003": ("mg", 1.0), "004": ("ug", 1e-3),
              "005": ("ng", 1e-6), "006": ("pg", 1e-9)}
# ICH E2B(R2) codes for units that are not masses — only those the real openFDA reports or the
# generator's reference data confirm (031 drops and 032 dosage forms appear in real reports);
# an unlisted code leaves dose_unit null rather than guessing.
OTHER_DOSE_UNITS = {"012": "ml", "025": "IU", "031": "gtt", "032": "DF"}
# drugintervaldosagedefinition codes as days.
INTERVAL_DAYS = {"801": dosage_text.DAYS["year"], "802": dosage_text.DAYS["month"],
                 "803": dosage_text.DAYS["week"], "804": dosage_text.DAYS["day"],
                 "805": dosage_text.DAYS["hour"], "806": dosage_text.DAYS["minute"]}


def _lookup(mapping: dict, key: Column) -> Column:
    return F.create_map(*[F.lit(x) for kv in mapping.items() for x in kv])[F.trim(key)]


def _mg_per_unit(unit_code: Column) -> Column:
    return _lookup({code: factor for code, (_, factor) in DOSE_UNITS.items()}, unit_code)


def openfda_date(value: Column) -> tuple[Column, Column]:
    """(date, precision) from YYYYMMDD, or the partial YYYYMM / YYYY real reports carry."""
    v = F.trim(value)

    def parse(fmt: str) -> Column:
        return F.try_to_timestamp(v, F.lit(fmt)).cast("date")

    # From 1900 on, the year read off the text: a check of the parsed date would repeat the
    # parse, since Spark evaluates an expression again wherever a CASE branch uses it.
    candidate = only_chars(v, DIGITS) & (F.substring(v, 1, 4) >= "1900")
    date = (F.when(candidate & (F.length(v) == 8), parse("yyyyMMdd"))
            .when(candidate & (F.length(v) == 6), parse("yyyyMM"))
            .when(candidate & (F.length(v) == 4), parse("yyyy")))
    precision = (F.when(date.isNull(), None).when(F.length(v) == 8, "day")
                 .when(F.length(v) == 6, "month").otherwise("year"))
    return date, precision


def one_json_value(text: Column) -> Column:
    """True when `text` is one JSON value with nothing but whitespace after it (given that its
    first value parses). Spark's JSON functions all stop after the first value, so the text is
    read inside two wrappers, skimming their top level only: in `[text]`, content after the
    value keeps an array of one only if it starts with `]`; in `{"v": text}`, content after it
    keeps an object of one key only if it starts with `}`. Nothing starts with both. (Measured
    over 215,146 payloads: 1.0-1.1 s, against 1.3-1.5 s for from_json, and 1.4-1.5 s for a
    parser that checks the end itself, Gson's through `try_reflect`, which is also lenient.)"""
    in_array = F.json_array_length(F.concat(F.lit("["), text, F.lit("]")))
    in_object = F.size(F.json_object_keys(F.concat(F.lit('{"v":'), text, F.lit("}"))))
    return F.coalesce((in_array == 1) & (in_object == 1), F.lit(False))


def _text_field_paths(fields: StructType) -> list[tuple[str, ...]]:
    """The paths to the schema's text fields at any depth, through lists of objects (not the
    items of lists of text, which have no key)."""
    paths = []
    for field in fields.fields:
        kind = field.dataType
        if isinstance(kind, ArrayType):
            kind = kind.elementType
            if not isinstance(kind, StructType):
                continue
        if isinstance(kind, StringType) and field.name != "_corrupt_record":
            paths.append((field.name,))
        elif isinstance(kind, StructType):
            paths += [(field.name, *path) for path in _text_field_paths(kind)]
    return paths


def container_read_as_text(text: Column, parsed: Column) -> Column:
    """True where the payload has a JSON list or object as the value of a field openFDA sends
    as text (`"reactionmeddrapt": ["Nausea"]`). from_json reads such a value as its JSON text,
    which cannot be told from real text afterwards: the payload is looked at, but only where
    a parsed text field starts like a list or object, which real text rarely does. The text
    values are tested as one string, each after a NUL: a lambda per list of objects made each
    micro-batch's plan about 0.5 s slower to build. (Measured: 0.8-1.0 s per 215,146 payloads
    against 0.1-0.3 s to read them; not one looked at.)"""
    paths = _text_field_paths(StructType.fromDDL(EVENT_SCHEMA))
    values = [functools.reduce(lambda column, name: column[name], path, parsed) for path in paths]
    joined = nul_joined(*values)  # a list of objects gives a list of texts
    key = r'"(?:' + "|".join(sorted({path[-1] for path in paths})) + r')"\s*:\s*[\[{]'
    return (F.when(joined.contains("\u0000[") | joined.contains("\u0000{"), text.rlike(key))
            .otherwise(F.lit(False)))


# The schema's one list of text, a drug's openFDA generic names: an item that is a number,
# true/false, list or object, after any number of text items.
TEXT_LIST_KEY = "generic_name"
NON_TEXT_LIST_ITEM = (r'"' + TEXT_LIST_KEY + r'"\s*:\s*\[\s*(?:"(?:[^"\\]|\\.)*"\s*,\s*)*'
                      r'(?:[-0-9\[{]|true|false)')


def item_read_as_text(text: Column, parsed: Column) -> Column:
    """True where an item of the list openFDA sends as text (`"generic_name": [5]`, `[{}]`) is
    not text. from_json reads it as its JSON text, and the drug would carry "5" or "{}" as a
    generic name into gold; `container_read_as_text` sees only values that have a key. As
    there, the payload is looked at only where a parsed item could have been such a value."""
    names = parsed["patient"]["drug"]["openfda"][TEXT_LIST_KEY]
    items = nul_joined(F.flatten(F.array_compact(names)))
    could_be = items.rlike("\u0000(?:[-0-9\\[{]|(?:true|false)(?:\u0000|$))")
    return F.when(could_be, text.rlike(NON_TEXT_LIST_ITEM)).otherwise(F.lit(False))


def payload_text(payload: Column) -> Column:
    """The payload's bytes as the text silver parses. A byte order mark before the JSON is not
    part of the report (Windows tools write one; for landing files Hadoop's line reader drops
    it already); RFC 8259 lets a parser ignore it. Bronze keeps it. (Measured: no cost beside
    parse's 4.4 s per 215,146 payloads.)"""
    return (F.when(F.startswith(payload, F.lit(UTF8_BOM)), F.substring(payload, 4, 2**31 - 1))
            .otherwise(payload).cast("string"))


def report_key(j: Column) -> tuple[Column, Column]:
    """A report's id and version from its parsed payload `j`; a missing version counts as 1."""
    return (F.trim(j["safetyreportid"]),
            F.coalesce(F.trim(j["safetyreportversion"]).try_cast("int"), F.lit(1)))


def parse(bronze: DataFrame) -> DataFrame:
    """Bronze rows + the columns the rules judge: the parsed payload `j` and payload checks."""
    text = payload_text(F.col("payload"))
    parsed = bronze.select(
        "*",
        F.coalesce(F.length("payload"), F.lit(0)).alias("_size"),
        # no payload at all (a Kafka tombstone) is empty, not badly encoded
        F.coalesce(F.is_valid_utf8(text), F.lit(True)).alias("_utf8"),
        # The patterns that look for values of the wrong type read keys as written, so a key
        # written with an escape (`"seri\u006fus"`, which JSON reads as "serious") would slip
        # past them. Where a payload has an escape at all (not one of the real sample's reports
        # does), they read it as re-written from the schema-free parse, every key decoded.
        F.when(text.contains("\\u"), F.to_json(F.try_parse_json(text))).otherwise(text)
        .alias("_keys_decoded"),
        F.from_json(text, EVENT_SCHEMA, STRICT_JSON).alias("j"),
        # A second, schema-free parse that refuses a key given twice in one object, at any
        # depth. from_json keeps the last value, Spark's JSON path functions the first: which
        # one the sender meant cannot be known (measured: 1.37-1.56 s per 215,146 payloads,
        # up to 5% per event, below the 1M benchmark's noise; docs/BENCHMARKS.md, 12 and 13).
        F.try_parse_json(text).isNotNull().alias("_strict_json"),
        # the pattern only where a surrogate can be escaped at all (the test for any escape
        # first: Spark scans once for the one above and this, and most payloads have none)
        F.coalesce(text.contains("\\u") & (text.contains("\\ud") | text.contains("\\uD"))
                   & real_escapes(text).rlike(LONE_SURROGATE), F.lit(False)).alias("_lone_surrogate"),
    )
    # A JSON object: what from_json read without complaint is one (it is as strict as the JSON
    # grammar, see STRICT_JSON), and so is what the schema-free parse read. Only where both
    # refused it — a value of the wrong type *and* a key given twice — a parse that checks the
    # syntax alone decides, so that such an object breaks the rule on keys, not this one. All
    # read the first JSON value and ignore whatever follows it — `{…}{…}` or a second report on
    # the next line would pass as the first, and the second be lost — so the payload must also
    # hold that one value and nothing after it (`one_json_value`).
    syntax_ok = (F.when(F.col("j._corrupt_record").isNull() | F.col("_strict_json"), F.lit(True))
                 .otherwise(F.from_json(text, SYNTAX_ONLY_SCHEMA, STRICT_JSON)["_corrupt_record"].isNull()))
    json_object = (F.ltrim(text, F.lit(JSON_WHITESPACE)).startswith("{") & one_json_value(text)
                   & syntax_ok)
    receivedate, precision = openfda_date(F.col("j.receivedate"))
    keys_decoded = F.col("_keys_decoded")
    # the full pattern only where a value can be a number or boolean at all
    scalar_as_text = F.coalesce(keys_decoded.rlike(MAYBE_NON_TEXT) & keys_decoded.rlike(NON_TEXT_VALUE),
                                F.lit(False))
    non_text = (scalar_as_text | container_read_as_text(keys_decoded, F.col("j"))
                | item_read_as_text(keys_decoded, F.col("j")))
    return parsed.select("*", json_object.alias("_json_object"), non_text.alias("_non_text_value"),
                         receivedate.alias("receivedate"), precision.alias("receivedate_precision"))


def compact(parsed: DataFrame) -> DataFrame:
    """One row per event with what the rest of the batch needs and no more: the rule verdict
    (`broken_rules`), the report's typed columns, its raw drug and reaction arrays, and the
    payload only when the event goes to quarantine — payloads are most of an event's bytes."""
    checked = with_broken_rules(parsed)
    broken = F.size("broken_rules") > 0
    report_id, version = report_key(F.col("j"))
    rows = checked.select(
        "bronze_id",
        *[c.split(" ")[0].strip("`") for c in tables.SOURCE_COLUMNS],
        "broken_rules",
        report_id.alias("_id"),
        version.alias("_version"),
        F.when(broken, F.col("payload")).alias("payload"),
        F.when(broken & F.col("_utf8"), F.col("payload").cast("string")).alias("payload_text"),
        F.when(~broken, F.sha2(F.col("payload"), 256)).alias("payload_sha256"),
        *_report_columns(),
        F.col("j.patient.patientagegroup").alias("_age_group_code"),
        F.col("j.patient.drug").alias("_drugs"),
        F.col("j.patient.reaction").alias("_reactions"),
    )
    # The age group tests the age six times: from the column, so that the free-text age
    # is parsed once (measured: built inline, the group cost four to five times the age itself).
    return (rows.withColumn("patient_age_group",
                            age_group(F.col("patient_age_years"), F.col("_age_group_code")))
            .drop("_age_group_code"))


# The longest id a quarantine row names, as the serving database's column holds it: an id
# that breaks `report_id_format` can be any text (the payload keeps it whole).
QUARANTINE_ID_CHARS = 64


def quarantine_rows(invalid: DataFrame) -> DataFrame:
    return invalid.select(
        "bronze_id",
        F.when(F.length("_id") <= QUARANTINE_ID_CHARS, F.col("_id")).alias("safetyreportid"),
        "payload",
        "payload_text",
        "broken_rules",
        error_text(F.col("broken_rules")).alias("error"),
        *[c.split(" ")[0].strip("`") for c in tables.SOURCE_COLUMNS],
        F.current_timestamp().alias("quarantined_at"),
    ).select(*tables.QUARANTINE.columns)


def _age_years() -> Column:
    age = _number(F.col("j.patient.patientonsetage"))
    return finite(age * _lookup(AGE_UNIT_YEARS, F.col("j.patient.patientonsetageunit")))


def age_group(age_years: Column, group_code: Column) -> Column:
    """openFDA's age groups, from the age where there is one, else the reported group."""
    return (F.when(age_years < 28 / 365.25, "neonate").when(age_years < 2, "infant")
            .when(age_years < 12, "child").when(age_years < 18, "adolescent")
            .when(age_years < 65, "adult").when(age_years.isNotNull(), "elderly")
            .otherwise(F.coalesce(_lookup(AGE_GROUP_CODES, group_code), F.lit("unknown"))))


def _flag(field: str) -> Column:
    return F.coalesce(F.trim(F.col(f"j.{field}")) == "1", F.lit(False))


def latest_versions(valid: DataFrame) -> DataFrame:
    """One row per report: the highest version, and among equal versions the last to arrive."""
    order = Window.partitionBy("_id").orderBy(
        F.col("_version").desc(), F.col("enqueued_at").desc_nulls_last(), F.col("bronze_id").desc()
    )
    return valid.withColumn("_rank", F.row_number().over(order)).where("_rank = 1").drop("_rank")


def _report_columns() -> list[Column | str]:
    """The report's typed columns, from the parsed payload `j` (see `compact`)."""
    age_years = _age_years()
    receiptdate, _ = openfda_date(F.col("j.receiptdate"))
    transmissiondate, _ = openfda_date(F.col("j.transmissiondate"))
    deathdate, _ = openfda_date(F.col("j.patient.patientdeath.patientdeathdate"))
    return [
        "receivedate",  # parsed by `parse`, for the rules
        "receivedate_precision",
        receiptdate.alias("receiptdate"),
        transmissiondate.alias("transmissiondate"),
        (F.trim("j.serious") == "1").alias("serious"),
        *[_flag(f).alias(f) for f in (
            "seriousnessdeath", "seriousnesslifethreatening", "seriousnesshospitalization",
            "seriousnessdisabling", "seriousnesscongenitalanomali", "seriousnessother")],
        F.trim("j.reporttype").try_cast("int").alias("reporttype"),
        F.upper(F.trim(F.coalesce("j.occurcountry", "j.primarysourcecountry"))).alias("occurcountry"),
        F.upper(F.trim("j.primarysource.reportercountry")).alias("reportercountry"),
        F.trim("j.primarysource.qualification").try_cast("int").alias("qualification"),
        F.trim("j.sender.senderorganization").alias("senderorganization"),
        age_years.alias("patient_age_years"),  # and from it `patient_age_group`, in `compact`
        F.coalesce(_lookup(SEX, F.col("j.patient.patientsex")), F.lit("unknown")).alias("patient_sex"),
        # 0 is how senders write a weight they do not know; as a weight it would be an error
        # (the serving database takes only weights above 0)
        F.nullif(_number(F.col("j.patient.patientweight")), F.lit(0.0)).alias("patient_weight_kg"),
        deathdate.alias("patient_death_date"),
        F.size("j.patient.drug").alias("drug_count"),
        F.size("j.patient.reaction").alias("reaction_count"),
    ]


def report_rows(latest: DataFrame) -> DataFrame:
    """The report table's columns, and the raw drug and reaction arrays (`_drugs`,
    `_reactions`) that `drug_rows` and `reaction_rows` make the child rows from — so a batch
    keeps one row per report, not a second copy of the parsed events (writers select the
    table's columns)."""
    return latest.select(
        F.col("_id").alias("safetyreportid"),
        F.col("_version").alias("safetyreportversion"),
        *[c for c in tables.REPORT.columns
          if c not in ("safetyreportid", "safetyreportversion", "silver_updated_at")],
        F.current_timestamp().alias("silver_updated_at"),
        "_drugs", "_reactions",
    )


def drug_rows(reports: DataFrame, names: DataFrame) -> DataFrame:
    """One row per drug of `report_rows`, named and dosed. `names` maps product names to
    generic names. The dose comes from the structured fields; where they give no amount, or no
    interval, from the dosage text as far as `jobs.dosage_text` can read it, and `dose_source`
    says which."""
    drugs = reports.select(
        "safetyreportid", "safetyreportversion", "receivedate",
        F.posexplode("_drugs").alias("_pos", "d"),
    )
    product = upper_words(F.col("d.medicinalproduct"))
    substance = F.upper(F.trim("d.activesubstance.activesubstancename"))
    # 0 is how some senders write a dose they do not know (as a weight, in `_report_columns`); as
    # a dose it would be "far below the usual", and it leaves the dosage text unread
    amount = F.nullif(_number(F.col("d.drugstructuredosagenumb")), F.lit(0.0))
    per_interval = F.coalesce(_number(F.col("d.drugseparatedosagenumb")), F.lit(1.0))
    interval_days = (F.coalesce(_number(F.col("d.drugintervaldosageunitnumb")), F.lit(1.0))
                     * _lookup(INTERVAL_DAYS, F.col("d.drugintervaldosagedefinition")))
    named = drugs.select(
        "safetyreportid", "safetyreportversion", (F.col("_pos") + 1).alias("drug_seq"),
        F.trim("d.medicinalproduct").alias("medicinalproduct"),
        F.coalesce(product, substance).alias("product_name"),
        substance.alias("_substance"),
        # `get`, not `[0]`: under ANSI SQL (Spark 4's default) an index past the end raises, and
        # a drug sent with `"generic_name": []` stopped the stream at that event for good
        F.upper(F.trim(F.get(F.col("d.openfda.generic_name"), 0))).alias("_openfda_generic"),
        F.trim("d.drugcharacterization").try_cast("int").alias("drugcharacterization"),
        F.trim("d.drugindication").alias("drugindication"),
        F.trim("d.drugdosagetext").alias("drugdosagetext"),
        amount.alias("_amount"), F.trim("d.drugstructuredosageunit").alias("_unit_code"),
        per_interval.alias("_per_interval"), interval_days.alias("_interval_days"),
        F.trim("d.drugadministrationroute").alias("drugadministrationroute"),
        F.trim("d.actiondrug").try_cast("int").alias("actiondrug"),
        F.trim("d.drugdosageform").alias("drugdosageform"),
        "receivedate",
    )
    # Each dose step reads the column the step before made: as one expression, the amount was
    # parsed again wherever a CASE branch repeated it (measured per 474,378 drugs: the three
    # dose columns 1.15-1.75 s as one expression, 0.23-0.42 s in steps). The text is read only
    # where the structured fields leave the amount or the interval unknown.
    read = dosage_text.read(named.withColumn("_text", F.when(
        F.col("_amount").isNull() | F.col("_interval_days").isNull(),
        upper_words(F.col("drugdosagetext")))), "_text")
    from_text = F.col("_amount").isNull() & F.col("_text_amount").isNotNull()
    chosen = (read.withColumn("_from_text", from_text)
              .withColumn("dose_amount", F.coalesce("_amount", "_text_amount"))
              .withColumn("_unit_code", F.when(F.col("_from_text"), F.col("_text_unit"))
                          .otherwise(F.col("_unit_code"))))
    mass = F.create_map(*[F.lit(x) for code, (name, _) in DOSE_UNITS.items() for x in (code, name)])
    other = F.create_map(*[F.lit(x) for kv in OTHER_DOSE_UNITS.items() for x in kv])
    # a product overflows where its factors do not
    dose_mg = finite(F.col("dose_amount") * _mg_per_unit(F.col("_unit_code")))
    # The text's frequency, where the structured fields have none, counts only if the text is
    # about the same dose: it names no amount, or the structured one (in mg, or as written in
    # the same unit: "1 DF, BID" with 1 DF), or a count the structured mass cannot be compared
    # with ("1 DF, BID" with 500 mg: one tablet of 500 mg).
    text_mg = F.col("_text_amount") * _mg_per_unit(F.col("_text_unit"))
    same_unit = F.col("_text_unit").eqNullSafe(F.col("_unit_code"))
    same_dose = (F.col("_text_amount").isNull()
                 | (text_mg.isNull() & ~same_unit)
                 | (F.abs(text_mg - F.col("dose_mg")) <= 1e-9 * F.greatest(text_mg, F.col("dose_mg")))
                 | (same_unit & (F.col("_text_amount") == F.col("_amount"))))
    frequency_from_text = (F.col("_interval_days").isNull() & F.col("_text_doses").isNotNull()
                           & (F.col("_from_text") | same_dose))
    dosed = (chosen.withColumn("dose_unit", F.coalesce(mass[F.col("_unit_code")], other[F.col("_unit_code")]))
             .withColumn("dose_mg", dose_mg)
             .withColumn("_frequency_from_text", F.coalesce(frequency_from_text, F.lit(False)))
             .withColumn("_per_interval", F.when(F.col("_frequency_from_text"), F.col("_text_doses"))
                         .otherwise(F.col("_per_interval")))
             .withColumn("_interval_days", F.when(F.col("_frequency_from_text"), F.col("_text_days"))
                         .otherwise(F.col("_interval_days")))
             .withColumn("daily_dose_mg", F.when(
                 F.col("_interval_days") > 0,
                 finite(F.col("dose_mg") * F.col("_per_interval") / F.col("_interval_days"))))
             .withColumn("daily_dose_amount", F.when(
                 F.col("_interval_days") > 0,
                 finite(F.col("dose_amount") * F.col("_per_interval") / F.col("_interval_days"))))
             .withColumn("dose_source", F.when(F.col("dose_amount").isNull(), None)
                         .when(F.col("_from_text"), F.lit(dosage_text.SOURCE_TEXT))
                         .when(F.col("_frequency_from_text"), F.lit(dosage_text.SOURCE_TEXT_FREQUENCY))
                         .otherwise(F.lit(dosage_text.SOURCE_STRUCTURED))))
    return reference.with_generic_name(dosed, names).select(
        *[c for c in tables.DRUG.columns if c != "silver_updated_at"],
        F.current_timestamp().alias("silver_updated_at"),
    )


def reaction_rows(reports: DataFrame) -> DataFrame:
    """One row per reaction of `report_rows`."""
    reactions = reports.select(
        "safetyreportid", "safetyreportversion", "receivedate",
        F.posexplode("_reactions").alias("_pos", "r"),
    )
    return reactions.select(
        "safetyreportid", "safetyreportversion", (F.col("_pos") + 1).alias("reaction_seq"),
        F.trim("r.reactionmeddrapt").alias("reactionmeddrapt"),
        F.trim("r.reactionoutcome").try_cast("int").alias("reactionoutcome"),
        "receivedate",
        F.current_timestamp().alias("silver_updated_at"),
    )


# A stored report is replaced when the incoming one is newer, or the same version with other
# content that arrived later (a correction without a version bump). `s`: incoming, `t`: stored.
WINS = ("s.safetyreportversion > t.safetyreportversion OR (s.safetyreportversion = "
        "t.safetyreportversion AND s.payload_sha256 <> t.payload_sha256 AND "
        "s.enqueued_at >= t.enqueued_at)")


@dataclass(frozen=True)
class SilverChanges:
    """What a batch changes in silver: the winning report rows (`_new`: the report was not
    stored before) and the drug and reaction rows of those reports — cached, for the batch;
    `has_updates`: some report was stored before."""

    reports: DataFrame
    drugs: DataFrame
    reactions: DataFrame
    has_updates: bool


@dataclass
class SilverWriter:
    spark: SparkSession
    settings: Settings
    app_id: str = "vigil-silver"

    def __post_init__(self):
        for table in (tables.REPORT, tables.DRUG, tables.REACTION, tables.QUARANTINE):
            tables.ensure(self.spark, self.settings, table)
        self.names = reference.for_joins(reference.product_names(self.spark))

    def upsert_batch(self, bronze_batch: DataFrame, batch_id: int,
                     before_reports: Callable[[SilverChanges], None] | None = None) -> None:
        """Write one micro-batch of bronze rows. `before_reports`, if given, is called with the
        batch's changes beside the drug and reaction writes, and before the report rows that
        mark them complete (the low-latency query writes gold flags from them)."""
        cached = []  # released after the batch, whatever happens: a continuous job runs for weeks

        def keep(df: DataFrame) -> DataFrame:
            cached.append(df.persist())
            return df

        try:
            events = keep(compact(parse(bronze_batch)))
            invalid = events.where(F.size("broken_rules") > 0)
            valid = events.where(F.size("broken_rules") == 0)
            # compared with silver as it was before this batch, whatever the batch writes
            winners = keep(self._winners(report_rows(latest_versions(valid))))
            n_winners, n_updates = winners.agg(F.count(F.lit(1)),
                                               F.count(F.when(~F.col("_new"), 1))).first()
            has_updates = n_updates > 0
            changes = SilverChanges(winners, keep(drug_rows(winners, self.names)),
                                    keep(reaction_rows(winners)), has_updates)
            txn = {t: tables.batch_txn(bronze_batch, f"{self.app_id}-{t.name}", batch_id)
                   for t in (tables.DRUG, tables.REACTION, tables.REPORT)}
            txn[tables.QUARANTINE] = tables.batch_txn(bronze_batch, f"{self.app_id}-quarantine",
                                                      batch_id)  # its key since the first release
            # quarantine, the two child tables and the caller's writes at once (different
            # tables); reports after. No commit where there is nothing to write (a batch of
            # stale versions and duplicates changes no table but bronze).
            tables.concurrently(
                None if invalid.isEmpty() else lambda: tables.append(
                    quarantine_rows(invalid), self.settings, tables.QUARANTINE,
                    txn=txn[tables.QUARANTINE]),
                *([] if not n_winners else [
                    lambda: self._write_children(tables.DRUG, changes.drugs, winners, "drug_seq",
                                                 txn[tables.DRUG], has_updates),
                    lambda: self._write_children(tables.REACTION, changes.reactions, winners,
                                                 "reaction_seq", txn[tables.REACTION], has_updates),
                    None if before_reports is None else lambda: before_reports(changes),
                ]),
            )
            if n_winners:
                self._write_reports(winners, txn[tables.REPORT], has_updates)
        finally:
            for df in cached:
                df.unpersist()

    def _write_reports(self, winners: DataFrame, txn: tuple[str, int], has_updates: bool) -> None:
        """The winning report rows: appended when all are new reports (idempotent per batch
        id), else MERGEd by `WINS` (idempotent by content)."""
        if not has_updates:
            tables.append(winners, self.settings, tables.REPORT, txn=txn)
            return
        (tables.delta_table(self.spark, self.settings, tables.REPORT).alias("t")
         .merge(tables.merge_source(winners.select(*tables.REPORT.columns)).alias("s"),
                "t.safetyreportid = s.safetyreportid")
         .whenMatchedUpdateAll(condition=WINS)
         .whenNotMatchedInsertAll()
         .execute())

    def _winners(self, reports: DataFrame) -> DataFrame:
        """The incoming report rows that will create (`_new`) or replace the stored report."""
        stored = tables.read_pinned(self.spark, self.settings, tables.REPORT).select(
            "safetyreportid", "safetyreportversion", "payload_sha256", "enqueued_at")
        s, t = reports.alias("s"), stored.alias("t")
        joined = s.join(t, F.col("s.safetyreportid") == F.col("t.safetyreportid"), "left")
        new = F.col("t.safetyreportid").isNull()
        return joined.where(new | F.expr(WINS)).select("s.*", new.alias("_new"))

    def _write_children(self, table, incoming: DataFrame, winners: DataFrame, seq: str,
                        txn: tuple[str, int], has_updates: bool) -> None:
        """The drug or reaction rows of the winning reports: appended when all are new reports
        (idempotent per batch id); else one MERGE makes the stored rows of each winning report
        equal to the incoming ones — updated and inserted by (report, seq), the rows a new
        version no longer has deleted."""
        if not has_updates:
            tables.append(incoming, self.settings, table, txn=txn)
            return
        updated = winners.where("NOT _new").select("safetyreportid")
        target = tables.delta_table(self.spark, self.settings, table)
        new = incoming.withColumn("_delete", F.lit(False))
        stale = (target.toDF().join(updated, "safetyreportid", "left_semi")
                 .join(new.select("safetyreportid", seq), ["safetyreportid", seq], "left_anti")
                 .withColumn("_delete", F.lit(True)))
        changes = tables.merge_source(new.unionByName(stale))
        key = f"t.safetyreportid = s.safetyreportid AND t.{seq} = s.{seq}"
        columns = {c: f"s.{c}" for c in table.columns}
        (target.alias("t").merge(changes.alias("s"), key)
         .whenMatchedDelete(condition="s._delete")
         .whenMatchedUpdate(set=columns)
         .whenNotMatchedInsert(condition="NOT s._delete", values=columns)
         .execute())


def start(spark: SparkSession, settings: Settings, trigger: dict, query_name: str = "silver"):
    """Stream bronze → silver + quarantine. `trigger`: e.g. {"availableNow": True}."""
    tables.ensure(spark, settings, tables.BRONZE_RAW)  # the stage may start before bronze has data
    writer = SilverWriter(spark, settings)
    return (
        tables.read_stream(spark, settings, tables.BRONZE_RAW)
        .writeStream.queryName(query_name)
        .foreachBatch(writer.upsert_batch)
        .option("checkpointLocation", f"{settings.checkpoint_root}/{query_name}")
        .trigger(**trigger)
        .start()
    )
