"""Real openFDA reports as events: what `python -m generators --replay PATH…` sends.

It reads what a safety team has at hand, by the file's name:
- `*.json`: an openFDA download or API response (`{"meta": …, "results": [report, …]}`), a list
  of reports, or one report. Read as a stream (ijson), so a bulk file of a gigabyte needs no
  more memory than one report; each report is sent as compact JSON with its values unchanged
  (numbers keep their digits).
- `*.jsonl`, `*.ndjson`: one report per line, sent byte for byte — a broken line too, which is
  for silver to quarantine, not for a replay to judge. Blank lines separate, they are not events.
- `*.zip` (openFDA's bulk downloads are `drug-event-0001-of-0030.json.zip`) and `*.gz`: the
  files inside, by their own names. A folder: its files, recursively, by name.

Every event carries the contract's headers (producer `vigil-replay`) and the report's
`safetyreportid` as its key, so that a report's versions keep their order on one partition.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gzip
import json
import re
import secrets
import time
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import ijson
import orjson

from generators import contract
from generators.clock import IsoTimestamps
from generators.event import Event

PRODUCER = "vigil-replay/0.1"
DOCUMENT_SUFFIXES = (".json",)
LINES_SUFFIXES = (".jsonl", ".ndjson")
ARCHIVE_SUFFIXES = (".zip", ".gz")
BATCH = 500  # events handed to the sink at a time
UTF8_BOM = b"\xef\xbb\xbf"


class ReplayInputError(ValueError):
    """A path that cannot be replayed; the message names it and says what would do."""


def _kind(name: str) -> str | None:
    lower = name.lower()
    for kind, suffixes in (("document", DOCUMENT_SUFFIXES), ("lines", LINES_SUFFIXES),
                           ("archive", ARCHIVE_SUFFIXES)):
        if lower.endswith(suffixes):
            return kind
    return None


def find_sources(paths: list[str | Path]) -> list[Path]:
    """The files to replay, in order: each path given, a folder's files sorted by path."""
    if not paths:
        raise ReplayInputError("--replay needs at least one file or folder")
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            inside = sorted(p for p in given.rglob("*") if p.is_file() and _kind(p.name))
            if not inside:
                raise ReplayInputError(f"{given}: no .json, .jsonl, .ndjson, .zip or .gz files in it")
            found += inside
        elif given.is_file():
            if not _kind(given.name):
                raise ReplayInputError(
                    f"{given}: unknown kind of file; name it .json (an openFDA download or API "
                    f"response), .jsonl / .ndjson (one report per line), or .zip / .gz")
            found.append(given)
        elif given.exists():  # a device, a pipe, a socket: nothing to read twice or seek
            raise ReplayInputError(f"{given}: not a regular file or a folder")
        else:
            raise ReplayInputError(f"{given}: no such file or folder")
    return found


class _JsonObject(dict):
    """A JSON object as parsed (the last value of a key wins, as in any parser) that also keeps
    the values a key given twice had before: such a report goes out with all of them, and
    silver quarantines it as ambiguous, rather than the replay quietly choosing one."""

    # objects with a key given twice whose report has not been sent yet (the parser may have
    # built later reports already, so a count per report would not tell whose they are)
    unsent: list[_JsonObject] = []
    earlier = None  # key → the values it had before its last, where a key came twice

    def __setitem__(self, key, value, _set=dict.__setitem__):
        # kept this short: it runs for every key of every report (ijson's C parser calls it)
        if key in self:
            self._given_again(key)
        _set(self, key, value)

    def _given_again(self, key):
        if self.earlier is None:
            self.earlier = {}
            _JsonObject.unsent.append(self)
        self.earlier.setdefault(key, []).append(self[key])

    def pairs(self):
        """Every pair as given, a key's values next to each other in the order written."""
        earlier, pairs = self.earlier or {}, []
        for key, last in self.items():
            pairs += [(key, value) for value in earlier.get(key, ())]
            pairs.append((key, last))
        return pairs


def _has_duplicate_keys(report) -> bool:
    """Whether an object of `report` has a key twice; looked for only where some object
    parsed so far has (hostile input: no real report does)."""
    if not _JsonObject.unsent:
        return False
    inside, stack = set(), [report]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            inside.add(id(value))
            stack += [v for _, v in value.pairs()] if isinstance(value, _JsonObject) else value.values()
        elif isinstance(value, list):
            stack += value
    pending = len(_JsonObject.unsent)
    _JsonObject.unsent = [o for o in _JsonObject.unsent if id(o) not in inside]
    return len(_JsonObject.unsent) < pending


def _raw_number(value):
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # its digits as written: no float rounding
    raise TypeError


def _compact_json(value) -> bytes:
    """A parsed report back to JSON bytes, values unchanged, a key given twice twice."""
    if _has_duplicate_keys(value):
        return _escaped_json(value).encode("ascii")
    try:
        return orjson.dumps(value, default=_raw_number)
    except orjson.JSONEncodeError:
        # what orjson refuses: integers beyond 64 bits, and text holding half a surrogate pair
        # (valid as an escape in JSON, not as UTF-8), which goes back out as the escape it was
        return _escaped_json(value).encode("ascii")


def _escaped_json(value) -> str:
    if isinstance(value, dict):
        pairs = value.pairs() if isinstance(value, _JsonObject) else value.items()
        return "{" + ",".join(f"{json.dumps(k)}:{_escaped_json(v)}" for k, v in pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(_escaped_json, value)) + "]"
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)  # text (ASCII escapes), true, false, null


def _report_id(report) -> str | None:
    rid = report.get("safetyreportid") if isinstance(report, dict) else None
    if isinstance(rid, bool) or not isinstance(rid, (str, int, Decimal)):
        return None
    rid = str(rid).strip()
    return rid or None


# ijson's fast backend (yajl) gets escaped surrogates wrong: half a pair becomes "?" or an
# error, two high halves one wrong character. A document that has any is read by its exact,
# slower pure-Python backend (real openFDA text is ASCII: the fast one reads it).
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# ijson builds each value's path as text, so its memory grows with the square of the nesting:
# 20,000 levels took 970 MB, 200,000 more than the machine has. A report nests 8 levels deep
# in a download; deeper than this is refused, before it is built.
MAX_DEPTH = 200
SCAN_CHUNK, SCAN_WINDOW = 8 << 20, 8 << 10


def _scan(stream: BinaryIO) -> tuple[bool, bool]:
    """(has a surrogate escape, certainly nests no deeper than MAX_DEPTH), in one pass of
    C-speed searches. The depth bound counts brackets, inside text too: where it is not sure,
    the document takes the path that counts exactly."""
    surrogate, tail, depth, bound = False, b"", 0, 0
    while chunk := stream.read(SCAN_CHUNK):
        surrogate = surrogate or bool(SURROGATE_ESCAPE.search(tail + chunk))
        tail = chunk[-5:]
        for start in range(0, len(chunk), SCAN_WINDOW):
            end = start + SCAN_WINDOW
            opens = chunk.count(b"[", start, end) + chunk.count(b"{", start, end)
            bound = max(bound, depth + opens)
            depth = max(0, depth + opens - chunk.count(b"]", start, end) - chunk.count(b"}", start, end))
    return surrogate, bound <= MAX_DEPTH


def _documents(open_stream: Callable[[], BinaryIO]) -> Iterator[tuple[str | None, bytes]]:
    """The reports of one JSON document: its `results`, its items, or itself."""
    with open_stream() as stream:
        surrogate, shallow = _scan(stream)
    backend = ijson.get_backend("python") if surrogate else ijson
    found = False
    _JsonObject.unsent = []  # nothing of an earlier document (one that broke off) is pending
    if shallow:
        with open_stream() as stream:
            first = _first_byte(stream)
            if first in (b"[", b"{"):  # the common shapes, each item built by the backend itself
                prefix = "item" if first == b"[" else "results.item"
                for report in backend.items(stream, prefix, use_float=False, map_type=_JsonObject):
                    found = True
                    yield _report_id(report), _compact_json(report)
    if not found:  # an object without results is one report; deep nesting is counted exactly
        with open_stream() as stream:
            _first_byte(stream)
            events = _depth_limited(backend.basic_parse(stream, use_float=False))
            for report in _reports_of(events):
                yield _report_id(report), _compact_json(report)


def _first_byte(stream: BinaryIO) -> bytes:
    """The first byte of the JSON, after a byte order mark (a Windows tool's; not JSON)."""
    if stream.peek(3)[:3] == UTF8_BOM:
        stream.read(3)
    return stream.peek(64).lstrip(b" \t\r\n")[:1]


_OPENS, _CLOSES = ("start_map", "start_array"), ("end_map", "end_array")


def _depth_limited(events):
    depth = 0
    for event, value in events:
        if event in _OPENS:
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels (a report nests 8)")
        elif event in _CLOSES:
            depth -= 1
        yield event, value


def _reports_of(events):
    first = next(events, None)
    if first is None:
        return  # an empty file
    event, value = first
    if event == "start_array":
        yield from _items(events)
    elif event == "start_map":
        yield from _results_or_itself(events)
    else:
        yield value  # one bare value: not a report, which silver will say
    for _ in events:  # reading on makes the parser refuse anything after the value
        pass


def _items(events):
    """Each item of the list whose start was just read, as it is parsed, until the list ends."""
    builder, depth = None, 0
    for event, value in events:
        if depth == 0 and event == "end_array":
            return
        builder = builder or ijson.ObjectBuilder(map_type=_JsonObject)
        builder.event(event, value)
        depth += (event in _OPENS) - (event in _CLOSES)
        if depth == 0:
            yield builder.value
            builder = None


def _results_or_itself(events):
    """The items of the object's `results` list (openFDA's responses and downloads); an object
    without one is itself a report. `meta` and the rest are kept only until that is known."""
    rest = ijson.ObjectBuilder(map_type=_JsonObject)
    rest.event("start_map", None)
    key, depth, has_results = None, 0, False
    for event, value in events:
        if depth == 0:
            if event == "end_map":
                break
            if event == "map_key":
                key = value
            elif key == "results" and event == "start_array":
                has_results = True
                yield from _items(events)
                continue
        rest.event(event, value)
        depth += (event in _OPENS) - (event in _CLOSES)
    if not has_results:
        rest.event("end_map", None)
        yield rest.value


def _lines(stream: BinaryIO) -> Iterator[tuple[str | None, bytes]]:
    for line in stream:
        payload = line.rstrip(b"\r\n")
        if not payload.strip():
            continue
        yield _line_report_id(payload), payload


def _line_report_id(line: bytes) -> str | None:
    try:
        return _report_id(orjson.loads(line))
    except orjson.JSONDecodeError:
        pass
    try:  # orjson refuses half a surrogate pair, which JSON's grammar allows
        return _report_id(json.loads(line))
    except (ValueError, RecursionError):
        return None  # not JSON: silver will quarantine it, on whichever partition


@contextlib.contextmanager
def _gunzipped(open_stream: Callable[[], BinaryIO]):
    with open_stream() as raw, gzip.open(raw) as inner:
        yield inner


def _open_reports(name: str, open_stream: Callable[[], BinaryIO]) -> Iterator[tuple[str | None, bytes]]:
    kind = _kind(name)
    if kind == "lines":
        with open_stream() as stream:
            yield from _lines(stream)
    elif kind == "document":
        yield from _documents(open_stream)
    elif name.lower().endswith(".gz"):
        yield from _open_reports(name[:-3], functools.partial(_gunzipped, open_stream))
    else:  # .zip
        with open_stream() as raw, zipfile.ZipFile(raw) as archive:
            members = [m for m in sorted(archive.namelist()) if _kind(m) in ("document", "lines")]
            if not members:
                raise ValueError("no .json, .jsonl or .ndjson file inside")
            for member in members:
                yield from _open_reports(member, functools.partial(archive.open, member))


class ReplayStream:
    """The reports of the files, in order, as batches of `Event`s (what the runner drives).
    A file that turns out unreadable midway ends the replay: `error` says where, and what was
    read before it has been handed over."""

    ground_truth = None  # real reports: nothing was injected

    def __init__(self, paths: list[str | Path], *, limit: int | None = None,
                 run_id: str | None = None, producer: str = PRODUCER):
        self.files = find_sources(paths)
        self.limit = limit
        started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = run_id or f"replay-{started}-{secrets.token_hex(3)}"
        self.headers = {contract.H_EVENT_TYPE: contract.EVENT_TYPE,
                        contract.H_SCHEMA_VERSION: contract.SCHEMA_VERSION,
                        contract.H_PRODUCER: producer, contract.H_RUN_ID: self.run_id}
        self.error: str | None = None

    def describe(self) -> str:
        names = ", ".join(str(p) for p in self.files[:3])
        more = f" and {len(self.files) - 3} more" if len(self.files) > 3 else ""
        return f"{len(self.files)} file(s): {names}{more}"

    def reports(self) -> Iterator[tuple[str | None, bytes]]:
        sent = 0
        for path in self.files:
            try:
                for report in _open_reports(path.name, functools.partial(open, path, "rb")):
                    if self.limit is not None and sent >= self.limit:
                        return
                    yield report
                    sent += 1
            except (ValueError, OSError, EOFError, RecursionError, zipfile.BadZipFile,
                    ijson.JSONError) as exc:
                text = exc.args[0] if exc.args else exc
                text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
                detail = " ".join(text.split())  # yajl's messages span lines
                hint = (" (a file of one report per line is read as such when named .jsonl)"
                        if "trailing garbage" in detail else "")
                self.error = f"{path}: cannot read further: {detail}{hint}"
                return

    def batches(self) -> Iterator[list[Event]]:
        batch: list[Event] = []
        stamp = IsoTimestamps()
        for seq, (rid, payload) in enumerate(self.reports()):
            now = time.time()
            headers = {**self.headers, contract.H_GENERATED_AT: stamp(now),
                       contract.H_EVENT_SEQ: str(seq)}
            batch.append(Event(rid, payload, headers, seq, now))
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch
