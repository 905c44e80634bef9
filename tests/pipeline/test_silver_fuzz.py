"""Silver's payload verdict against an independent judge, on thousands of mutated real reports.

Each real openFDA report from the shared sample is mutated at random — a field dropped, given
another JSON type, renamed; a key given twice or written with an escape; the text cut short,
followed by more, wrapped, quoted the wrong way; escapes and bytes that are no character; numbers
JSON does not have; deep nesting — and silver's rules (`silver.parse`, `with_broken_rules`) are
compared with a judge built on Python's own `json` module, strict (no NaN, no control characters
in text, duplicate keys seen, nothing after the value), and the contract's schema. The two share
no code, so a disagreement is a bug in one of them; each kind of verdict must occur often
enough that the comparison means something.
"""

from __future__ import annotations

import collections
import json
import random
import re

import pytest
from pyspark.sql.types import ArrayType, StringType, StructType

from jobs import pipeline, silver, silver_rules, tables
from tests.conftest import shared_file
from tests.pipeline.conftest import bronze_frame, table, write_bronze

pytestmark = pytest.mark.spark

PAYLOAD_RULES = {rule.name for rule in silver_rules.PAYLOAD_RULES}
JACKSON_MAX_DEPTH = 1000  # the nesting Spark's JSON parser accepts; deeper is not read


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise _DuplicateKey()
    return dict(pairs)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _values(value):
    """Every dict, list and scalar inside `value`, with the key it is under (None in lists)."""
    stack = [(None, value, 1)]
    while stack:
        key, v, depth = stack.pop()
        yield key, v, depth
        if isinstance(v, dict):
            stack += [(k, x, depth + 1) for k, x in v.items()]
        elif isinstance(v, list):
            stack += [(None, x, depth + 1) for x in v]


def _matches(value, kind) -> bool:
    """`value` has the JSON type the contract's schema gives it (null always does)."""
    if value is None:
        return True
    if isinstance(kind, StringType):
        return isinstance(value, str)
    if isinstance(kind, ArrayType):
        return isinstance(value, list) and all(_matches(x, kind.elementType) for x in value)
    if isinstance(kind, StructType):
        fields = {f.name: f.dataType for f in kind.fields if f.name != "_corrupt_record"}
        return isinstance(value, dict) and all(
            _matches(x, fields[k]) for k, x in value.items() if k in fields)
    return True


def _is_characters(text: str) -> bool:
    """False where JSON's escapes left half a surrogate pair, which no encoding can write."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def judge(payload: bytes, schema: StructType) -> str:
    """What the payload is, by Python's json: empty, utf8, not_object, duplicate_key,
    lone_surrogate, wrong_type or ok."""
    if not payload:
        return "empty"
    text = payload.removeprefix(b"\xef\xbb\xbf")
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError:
        return "utf8"
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except _DuplicateKey:
        return "duplicate_key"
    except (ValueError, RecursionError):
        return "not_object"
    found = list(_values(value))
    if not isinstance(value, dict) or max(depth for _, _, depth in found) > JACKSON_MAX_DEPTH:
        return "not_object"
    texts = [s for key, v, _ in found for s in (key, v) if isinstance(s, str)]
    if not all(_is_characters(s) for s in texts):
        return "lone_surrogate"
    # openFDA sends every value as text: a number or boolean under any key but its own
    # metadata ("@epoch") breaks the contract, as does a type the schema does not give
    scalar = any(isinstance(v, (bool, int, float)) and key is not None and not key.startswith("@")
                 for key, v, _ in found)
    return "wrong_type" if scalar or not _matches(value, schema) else "ok"


def agrees(kind: str, broken: set[str]) -> bool:
    payload_broken = broken & PAYLOAD_RULES
    return {
        "empty": broken == {"payload_present"},
        "utf8": "payload_is_utf8" in broken,
        "not_object": "payload_is_json_object" in broken,
        "duplicate_key": payload_broken == {"payload_keys_unique"},
        "lone_surrogate": payload_broken == {"payload_escapes_are_characters"},
        "wrong_type": not payload_broken and "fields_match_contract" in broken,
        "ok": not payload_broken and "fields_match_contract" not in broken,
    }[kind]


ODD_VALUES = [0, 1, -1, 1.5, 1e300, True, False, None, [], {}, ["x"], {"a": "b"}, "", " ",
              "x" * 5000, "é中😷", "\\", '"', "1,5", "NaN"]
ESCAPES = [r"\ud800", r"\udc00", r"\ud83d\ude37", r"\uD83D\uDE37", r"\\ud800", r"\\\ud800",
           r"\\\\ud800", r"\ud800\ud800", r"\udc00\ud800", r"\ud83d\\ude37", r"\ud83d", r"\u0000",
           r"\u00e9", r"\/", r"\x41", r"\a", "\\", "\x01", "\t", "\n"]
AFTER = ["x", "{}", "\n{}", " ", "]", "}", ",", "//c", "\t\r\n", "\x00", "\u00a0", "null"]
BEFORE = ["\ufeff", " \n", "[", "\u00a0", "/*c*/", "\x00"]
BAD_BYTES = [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]
NOT_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "01", "+1", ".5", "1.", "0x1F", "1e999", "-0"]
WHOLE = [b"", b" ", b"null", b"[]", b'"x"', b"1", b"{}", b"\xef\xbb\xbf", b'{"safetyreportid": "1"}']


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        children = value.items()
    else:
        children = enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*path, key))


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def mutate_fields(report: dict, rng: random.Random) -> bytes:
    """A field removed, given an odd value, added, or renamed in capitals; or a list emptied."""
    report = json.loads(json.dumps(report))
    paths = [p for p in _paths(report) if p]
    lists = [p for p in paths if isinstance(_at(report, p), list)]
    if rng.random() < 0.1:
        path = rng.choice(lists)
        _at(report, path[:-1])[path[-1]] = rng.choice([[], [None]])
        return json.dumps(report).encode()
    path = rng.choice(paths)
    parent = _at(report, path[:-1])
    key, how = path[-1], rng.randrange(4)
    if how == 0:
        del parent[key]
    elif how == 1:
        parent[key] = rng.choice(ODD_VALUES)
    elif how == 2 and isinstance(parent, dict):
        parent["unknown_field"] = rng.choice(ODD_VALUES)
    elif isinstance(parent, dict):
        parent[key.upper()] = parent.pop(key)
    return json.dumps(report, ensure_ascii=rng.random() < 0.5).encode()


def mutate_text(report: dict, rng: random.Random) -> bytes:
    """The report's JSON text changed where a parser would notice."""
    text = json.dumps(report)
    how = rng.randrange(13)
    if how == 0:  # a key given twice
        key = rng.choice(list(report))
        return ("{" + json.dumps(key) + ": " + json.dumps(rng.choice(["1", "x", None, 5]))
                + ", " + text[1:]).encode()
    if how == 1:
        return (text + rng.choice(AFTER)).encode()
    if how == 2:
        return (rng.choice(BEFORE) + text).encode()
    if how == 3:
        return text[: rng.randrange(len(text))].encode()
    if how == 4:  # an escape at the end of a text value
        ends = [m.start() for m in re.finditer(r'(?<!\\)"(?=[,}\]])', text)]
        at = rng.choice(ends)
        return (text[:at] + rng.choice(ESCAPES) + text[at:]).encode()
    if how == 5:  # bytes that are no UTF-8 inside a text value
        data = text.encode()
        at = rng.choice([m.end() for m in re.finditer(b'"', data)])
        return data[:at] + rng.choice(BAD_BYTES) + data[at:]
    if how == 6:
        key = rng.choice(["unknown_field", "serious", "@epoch"])
        return ("{" + json.dumps(key) + ": " + rng.choice(NOT_JSON_NUMBERS) + ", " + text[1:]).encode()
    if how == 7:  # single quotes
        return text.replace('"', "'", -1 if rng.random() < 0.3 else 2).encode()
    if how == 8:  # trailing commas
        return (text[:-1] + ",}").encode() if rng.random() < 0.5 else text.replace("]", ",]", 1).encode()
    if how == 9:
        depth = rng.choice([50, 600, 1500])
        return ('{"unknown_field": ' + "[" * depth + "]" * depth + ", " + text[1:]).encode()
    if how == 10:
        return rng.choice(WHOLE)
    if how == 11:  # a key written with an escape, which JSON reads as the key it spells
        match = rng.choice(list(re.finditer(r'"([a-z]+)": ', text)))
        key, at = match.group(1), rng.randrange(len(match.group(1)))
        escaped = key[:at] + f"\\u{ord(key[at]):04x}" + key[at + 1:]
        rest = text[match.end():]
        if rng.random() < 0.5:  # and a value of another type, which the escape could hide
            _, length = json.JSONDecoder().raw_decode(rest)
            rest = json.dumps(rng.choice(ODD_VALUES)) + rest[length:]
        return (text[:match.start()] + f'"{escaped}": ' + rest).encode()
    # the same report, laid out otherwise
    return json.dumps(report, indent=rng.choice([None, 1, "\t"]), ensure_ascii=False,
                      separators=rng.choice([(",", ":"), (", ", ": ")])).encode()


def mutated_reports(reports: list[dict], count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [(mutate_fields if rng.random() < 0.4 else mutate_text)(rng.choice(reports), rng)
            for _ in range(count)]


def real_reports() -> list[dict]:
    lines = shared_file("reference/openfda-sample.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_silver_judges_mutated_real_reports_as_pythons_json_does(spark):
    payloads = mutated_reports(real_reports(), 3000, seed=16)
    schema = StructType.fromDDL(silver.EVENT_SCHEMA)
    checked = silver_rules.with_broken_rules(silver.parse(bronze_frame(spark, payloads)))
    verdicts = {r.offset: set(r.broken_rules) for r in checked.select("offset", "broken_rules").collect()}

    kinds = collections.Counter()
    disagreements = []
    for offset, payload in enumerate(payloads):
        kind = judge(payload, schema)
        kinds[kind] += 1
        if not agrees(kind, verdicts[offset]):
            disagreements.append((kind, sorted(verdicts[offset]), payload[:200]))
    assert not disagreements, f"{len(disagreements)} disagreements, e.g. {disagreements[:5]}"
    # every kind of verdict was put to the test, and not only a handful of times
    assert min(kinds[k] for k in ("empty", "utf8", "not_object", "duplicate_key",
                                  "lone_surrogate", "wrong_type", "ok")) >= 10, kinds


def test_mutated_real_reports_each_end_in_silver_or_quarantine_and_gold(spark, fresh_settings):
    """The streams themselves, not only the rules: nothing raises, each event is accounted
    for once, and every stored report is flagged (many mutations share a report id, so
    versions and duplicates are decided among them as well)."""
    payloads = mutated_reports(real_reports(), 1500, seed=61)
    write_bronze(spark, fresh_settings, payloads)
    available_now = {"availableNow": True}
    pipeline.await_run(silver.start(spark, fresh_settings, available_now))
    pipeline.run_gold(spark, fresh_settings, available_now)

    counts = pipeline.reconcile(spark, fresh_settings).first()
    assert counts.bronze_events == len(payloads)
    assert counts.unaccounted == 0
    assert counts.in_silver + counts.quarantined == len(payloads)
    assert counts.in_silver > 500 and counts.quarantined > 300, counts  # both paths taken
    reports = table(spark, fresh_settings, tables.REPORT)
    flags = table(spark, fresh_settings, tables.FLAGS)
    assert flags.join(reports, ["safetyreportid", "safetyreportversion"]).count() == reports.count()
