"""Every rule an event must pass to enter silver, in one place: a name, a Column expression
that is true when the event passes, and the reason a person reads in `silver.quarantine`.

Quarantine takes what cannot be typed — unreadable payloads, missing ids, wrong JSON types,
codes outside openFDA's code lists — and what cannot be stored: text longer than Vigil's
columns, more drug-reaction pairs than its counts should carry for one report. What is
well-formed but implausible (an age of 250, a date in the future) passes here and is flagged
in gold, where a safety reviewer sees it.

Payload rules are checked first: when one fails, the field rules are not evaluated, since a
payload that is not JSON has no fields to judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

MAX_PAYLOAD_BYTES = 1024 * 1024  # Event Hubs' limit for one event
AGE_UNITS = ("800", "801", "802", "803", "804", "805")
SEX_CODES = ("0", "1", "2")
SERIOUS_CODES = ("1", "2")
OUTCOME_CODES = ("1", "2", "3", "4", "5", "6")
CHARACTERIZATION_CODES = ("1", "2", "3")
# A report counts once for each pair of its drugs and reactions in gold's drug-by-reaction
# table and in the signal counts, so one report of 9,000 drugs and 16,000 reactions — under
# the payload limit — makes 144 million rows. Real reports list tens of each (the openFDA
# sample at most 28 drugs and 13 reactions); this bound is far above them.
MAX_DRUG_REACTION_PAIRS = 100_000
# The longest text Vigil stores for a field, in characters after trimming: what the serving
# database's columns hold (sql/migrations), and for reaction terms MedDRA's own maximum,
# which keeps an alert's subject ("drug=…;reaction=…") within its column too. Drug names and
# countries are measured upper-cased, as silver stores them ("ß" becomes "SS"); a route is
# measured so too, which can only refuse more.
COUNTRY_OR_ROUTE_CHARS = 64  # occurcountry, reportercountry, drugadministrationroute
DRUG_NAME_CHARS = 200  # medicinalproduct, activesubstancename, an openFDA generic name
MEDDRA_TERM_CHARS = 100  # reactionmeddrapt
FREE_TEXT_CHARS = 400  # senderorganization, drugindication, drugdosageform
# A number or boolean as a field's value: openFDA sends every value as text. Keys starting
# with "@" (openFDA's own `@epoch` in older records) are metadata, not report fields.
# (Infinity and NaN are no JSON, but a number too large for a double is written so where silver
# re-writes a payload from its parse, see `silver.parse`.)
NON_TEXT_VALUE = r'"[^"@\\][^"\\]*"\s*:\s*(-?[0-9]|-?Infinity|NaN|true|false)'
# What any such value needs (a closing quote, a colon, then a digit, minus, t, f, I or N): a cheaper
# test that spares most payloads the full pattern above. Without the quote, the colons in free
# text ("CASE EVENT DATE: 20151019") sent 59% of the openFDA sample through the full pattern;
# with it, 20% (those with `@epoch`), and the check takes about 7% less time.
MAYBE_NON_TEXT = r'"\s*:\s*[-0-9tfIN]'
THOUSANDS = r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"  # 1,000 or 12,500.5
# Half of a UTF-16 surrogate pair escaped on its own (`\ud800`, or `\udc00` without the high
# half before it) is valid JSON syntax but no character: the parsers store it as "?". The
# pattern judges text whose escaped backslashes are blanked first (`real_escapes`), so that
# every `\u` left is an escape (`\\ud800` is a backslash and the text "ud800"), however long
# the run of backslashes before it. It starts with the literal `\u`, so the regex engine can
# skip ahead to it: with a backslash-parity test in front instead, payloads holding `\ud` took
# 5-7 times as long to check (docs/BENCHMARKS.md, sessions 13 and 15).
_LOW_HALF = r"[dD][c-fC-F][0-9a-fA-F]{2}"
_HIGH_HALF = r"[dD][89abAB][0-9a-fA-F]{2}"
LONE_SURROGATE = (r"\\u(?:" + _HIGH_HALF + r"(?!\\u" + _LOW_HALF + ")"
                  + r"|(?<!\\u" + _HIGH_HALF + r"\\u)" + _LOW_HALF + ")")


def real_escapes(text: Column) -> Column:
    r"""`text` with each escaped backslash (`\\`) blanked, read left to right as JSON reads
    them, so that every backslash left starts an escape. Only where there is one at all."""
    return F.when(text.contains("\\\\"), F.regexp_replace(text, r"\\\\", "  ")).otherwise(text)


@dataclass(frozen=True)
class Rule:
    name: str
    passes: Callable[[], Column]  # builds the expression that is true when the event passes
    reason: str


def _all(array: Column, check) -> Column:
    """Every element passes; an absent array passes (presence is another rule's job)."""
    return F.coalesce(F.forall(array, check), F.lit(True))


def _code_or_null(value: Column, codes: tuple[str, ...]) -> Column:
    return value.isNull() | F.trim(value).isin(*codes)


WHITESPACE = " \t\n\r\f\x0b"  # what \s matches in a regex
DIGITS = "0123456789"


def only_chars(value: Column, allowed: str) -> Column:
    """Every character of `value` is one of `allowed` (true for ""). A character map rather
    than a regex: these checks run several times per drug of every report."""
    return F.translate(value, allowed, "") == ""


def upper_words(text: Column) -> Column:
    """The text trimmed and upper-cased, each run of white space one space: how names and
    free text are compared."""
    return F.upper(F.trim(F.regexp_replace(text, r"\s+", " ")))


def finite(value: Column) -> Column:
    """The value where it is a finite number, else null. A double overflows to Infinity
    (an age of 1 followed by 400 zeros, a huge dose times a unit factor), and Azure SQL's
    FLOAT, which the serving load writes to, cannot store Infinity."""
    return F.when(F.abs(value) < F.lit(float("inf")), value)


def number(value: Column) -> Column:
    """A free-text number as openFDA senders write it: `12`, `.5`, `0,5` (decimal comma),
    `1,000` (thousands), spaces anywhere; null when it is not a plain non-negative decimal,
    or too large for a double."""
    v = F.translate(value, WHITESPACE, "")
    v = (F.when(~v.contains(","), v)
         .when(v.rlike(THOUSANDS), F.replace(v, F.lit(","), F.lit("")))
         .otherwise(F.replace(v, F.lit(","), F.lit("."))))
    # digits and dots only, so the cast sees no sign, exponent, NaN or Infinity; a second dot
    # or a lone "." fails the cast
    return F.when(only_chars(v, DIGITS + "."), finite(v.try_cast("double")))


def _number_or_null(value: Column) -> Column:
    return value.isNull() | number(value).isNotNull()


def longest_within(limit: int, texts: Column) -> Column:
    """True when no text of `texts` (texts joined by `nul_joined`) is longer than
    `limit` characters once trimmed of spaces, as silver trims them. One pattern over all of
    them, anchored at each text's start so it runs in linear time, and only where the whole
    string is long enough to hold such a text."""
    over = f"(?:^|\u0000) *+[^ \u0000][^\u0000]{{{limit - 1},}}[^ \u0000]"
    return F.when(F.length(texts) > limit, ~texts.rlike(over)).otherwise(F.lit(True))


def nul_joined(*values: Column) -> Column:
    """Texts and lists of texts as one string, each after a NUL (nulls are left out): one
    string a pattern can search, where each text's start is known."""
    return F.concat_ws("\u0000", F.lit(""), *values)


def j(field: str) -> Column:
    """A field of the payload parsed with the contract's schema (see silver.parse)."""
    return F.col(f"j.{field}")


def patient(field: str) -> Column:
    return F.col(f"j.patient.{field}")


PAYLOAD_RULES = [
    Rule("payload_present", lambda: F.col("_size") > 0, "the event's payload is empty"),
    Rule("payload_within_size_limit", lambda: F.col("_size") <= MAX_PAYLOAD_BYTES,
         f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes (Event Hubs' limit)"),
    Rule("payload_is_utf8", lambda: F.col("_utf8"), "the payload is not valid UTF-8"),
    Rule("payload_is_json_object", lambda: (F.col("_size") == 0) | F.col("_json_object"),
         "the payload is not one JSON object: not JSON, or followed by more (a second report)"),
    # these two are judged only on a JSON object: a payload that is not one has broken the
    # rule above
    Rule("payload_keys_unique",
         lambda: (F.col("_size") == 0) | ~F.col("_json_object") | F.col("_strict_json"),
         "a key appears twice in one JSON object, so which value is meant is ambiguous"),
    Rule("payload_escapes_are_characters",
         lambda: (F.col("_size") == 0) | ~F.col("_json_object") | ~F.col("_lone_surrogate"),
         "an escape is half of a UTF-16 surrogate pair (such as \\ud800 alone), no character: "
         "it would be stored as ?"),
]

FIELD_RULES = [
    Rule("fields_match_contract", lambda: j("_corrupt_record").isNull() & ~F.col("_non_text_value"),
         "a field has the wrong JSON type (a number, true/false, list or object where openFDA "
         "sends text, or text where a list or object is expected)"),
    Rule("report_id_present", lambda: F.trim(j("safetyreportid")) != "", "safetyreportid is missing"),
    Rule("report_id_format", lambda: j("safetyreportid").isNull()
         | j("safetyreportid").rlike(r"^\s*[0-9]{5,12}(-[0-9])?\s*$"),
         "safetyreportid is not 5-12 digits (with an optional -check digit)"),
    Rule("version_is_number", lambda: j("safetyreportversion").isNull()
         | j("safetyreportversion").rlike(r"^\s*(?=[0-9]*[1-9])[0-9]{1,6}\s*$"),
         "safetyreportversion is not a whole number from 1 (openFDA's versions start at 1)"),
    Rule("receivedate_is_date", lambda: F.col("receivedate").isNotNull(),
         "receivedate is missing or not a YYYYMMDD (or YYYYMM, YYYY) date"),
    Rule("serious_code_known", lambda: _code_or_null(j("serious"), SERIOUS_CODES), "serious is not 1 or 2"),
    Rule("patient_sex_known", lambda: _code_or_null(patient("patientsex"), SEX_CODES),
         "patient.patientsex is not 0, 1 or 2"),
    Rule("age_is_number", lambda: _number_or_null(patient("patientonsetage")),
         "patient.patientonsetage is not a number (or too large to store)"),
    Rule("age_unit_known", lambda: patient("patientonsetage").isNull()
         | F.trim(patient("patientonsetageunit")).isin(*AGE_UNITS),
         "patient.patientonsetageunit is missing or not a known code (800-805)"),
    Rule("weight_is_number", lambda: _number_or_null(patient("patientweight")),
         "patient.patientweight is not a number (or too large to store)"),
    Rule("has_reaction", lambda: (F.coalesce(F.size(patient("reaction")), F.lit(0)) > 0)
         # a reaction with no term at all too: `forall` reads a null test as passing
         & _all(patient("reaction"), lambda r: F.coalesce(F.trim(r["reactionmeddrapt"]), F.lit("")) != ""),
         "patient.reaction is missing, empty, or has a reaction without a MedDRA term"),
    Rule("reaction_outcome_known",
         lambda: _all(patient("reaction"), lambda r: _code_or_null(r["reactionoutcome"], OUTCOME_CODES)),
         "a reactionoutcome is not a known code (1-6)"),
    Rule("has_drug", lambda: (F.coalesce(F.size(patient("drug")), F.lit(0)) > 0)
         & _all(patient("drug"), lambda d: F.coalesce(
             F.trim(d["medicinalproduct"]), F.trim(d["activesubstance"]["activesubstancename"]),
             F.lit("")) != ""),
         "patient.drug is missing, empty, or has a drug with no product or substance name"),
    Rule("drug_characterization_known",
         lambda: _all(patient("drug"),
                      lambda d: _code_or_null(d["drugcharacterization"], CHARACTERIZATION_CODES)),
         "a drugcharacterization is not a known code (1 suspect, 2 concomitant, 3 interacting)"),
    Rule("structured_dose_is_number",
         lambda: _all(patient("drug"), lambda d: _number_or_null(d["drugstructuredosagenumb"])),
         "a drugstructuredosagenumb is not a number (or too large to store)"),
    Rule("text_within_limits", lambda: (
        longest_within(COUNTRY_OR_ROUTE_CHARS, F.upper(nul_joined(
            j("occurcountry"), j("primarysourcecountry"), j("primarysource.reportercountry"),
            patient("drug.drugadministrationroute"))))
        & longest_within(DRUG_NAME_CHARS, F.upper(nul_joined(
            patient("drug.medicinalproduct"), patient("drug.activesubstance.activesubstancename"),
            F.flatten(F.array_compact(patient("drug.openfda.generic_name"))))))
        & longest_within(MEDDRA_TERM_CHARS, nul_joined(patient("reaction.reactionmeddrapt")))
        & longest_within(FREE_TEXT_CHARS, nul_joined(j("sender.senderorganization"),
                                                     patient("drug.drugindication"),
                                                     patient("drug.drugdosageform")))),
         f"a text is longer than Vigil stores: a country or route over {COUNTRY_OR_ROUTE_CHARS} "
         f"characters, a drug name over {DRUG_NAME_CHARS}, a reaction term over "
         f"{MEDDRA_TERM_CHARS} (MedDRA's maximum), a sender, indication or dosage form over "
         f"{FREE_TEXT_CHARS}"),
    # as a long: two sizes of a payload of empty objects multiply past an int's range
    Rule("drug_reaction_pairs_within_limit", lambda: (
        F.coalesce(F.size(patient("drug")), F.lit(0)).cast("long")
        * F.coalesce(F.size(patient("reaction")), F.lit(0)) <= MAX_DRUG_REACTION_PAIRS),
         f"the report lists more than {MAX_DRUG_REACTION_PAIRS:,} drug-reaction pairs (drugs "
         "times reactions), far beyond any real report; each pair is a row of gold's and the "
         "signals' counts"),
]

RULES = PAYLOAD_RULES + FIELD_RULES
REASONS = {rule.name: rule.reason for rule in RULES}


def _failed(rules: list[Rule]) -> Column:
    """Names of the rules that fail (a rule that evaluates to null fails)."""
    names = [F.when(~F.coalesce(rule.passes(), F.lit(False)), F.lit(rule.name)) for rule in rules]
    return F.filter(F.array(*names), lambda name: name.isNotNull())


def with_broken_rules(parsed: DataFrame) -> DataFrame:
    """Adds `broken_rules`: empty when the event passes every rule."""
    payload_failures = _failed(PAYLOAD_RULES)
    return parsed.withColumn(
        "broken_rules",
        F.when(F.size(payload_failures) > 0, payload_failures).otherwise(_failed(FIELD_RULES)),
    )


def split_valid(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Rows that pass every rule, and rows that fail one or more, with those rules' names."""
    checked = with_broken_rules(parsed)
    return (
        checked.where(F.size("broken_rules") == 0),
        checked.where(F.size("broken_rules") > 0),
    )


def error_text(broken_rules: Column) -> Column:
    """The reasons of the broken rules, joined, for people reading the quarantine."""
    reasons = F.create_map(*[x for name, reason in REASONS.items() for x in (F.lit(name), F.lit(reason))])
    return F.array_join(F.transform(broken_rules, lambda name: reasons[name]), "; ")
