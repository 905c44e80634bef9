"""Replaying real openFDA files (`python -m generators --replay`): every report of every shape
of file, values unchanged, in order, keyed by its id; bad input named before anything is sent."""

from __future__ import annotations

import gzip
import json
import os
import zipfile
from pathlib import Path

import orjson
import pytest

from generators import contract
from generators.replay import ReplayInputError, ReplayStream
from generators.runner import replay
from tests.conftest import shared_file
from tests.generators.test_cli import cli


@pytest.fixture(scope="module")
def sample_lines() -> list[bytes]:
    text = shared_file("reference/openfda-sample.jsonl").read_bytes()
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sample(sample_lines) -> list[dict]:
    return [json.loads(line) for line in sample_lines]


def openfda_response(reports: list[dict]) -> bytes:
    """As api.fda.gov and the bulk downloads give them: meta, then results, indented."""
    meta = {"disclaimer": "Do not rely on openFDA", "results": {"skip": 0, "total": len(reports)}}
    return json.dumps({"meta": meta, "results": reports}, indent=2).encode()


def events_of(*paths, **kwargs):
    stream = ReplayStream(list(paths), **kwargs)
    return [e for batch in stream.batches() for e in batch], stream


def test_an_openfda_download_in_its_zip_gives_every_report_in_order(tmp_path, sample):
    path = tmp_path / "drug-event-0001-of-0001.json.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("drug-event-0001-of-0001.json", openfda_response(sample))
    events, stream = events_of(path)
    assert stream.error is None
    assert [orjson.loads(e.payload) for e in events] == sample  # values as they were
    assert [e.key for e in events] == [r["safetyreportid"] for r in sample]
    assert [e.seq for e in events] == list(range(len(sample)))
    headers = events[0].headers
    assert headers[contract.H_EVENT_TYPE] == contract.EVENT_TYPE
    assert headers[contract.H_SCHEMA_VERSION] == contract.SCHEMA_VERSION
    assert headers[contract.H_PRODUCER].startswith("vigil-replay")
    assert headers[contract.H_RUN_ID] == stream.run_id and contract.H_GENERATED_AT in headers


def test_json_lines_are_sent_byte_for_byte_even_when_broken(tmp_path, sample_lines):
    lone_half = b'{"safetyreportid": "77", "patient": {"reaction": [{"reactionmeddrapt": "\\ud800"}]}}'
    lines = [sample_lines[0], b"  ", b"not json {", lone_half, sample_lines[1] + b"\r"]
    (tmp_path / "a.ndjson").write_bytes(b"\n".join(lines) + b"\n\n")
    events, stream = events_of(tmp_path / "a.ndjson")
    assert stream.error is None
    assert [e.payload for e in events] == [sample_lines[0], b"not json {", lone_half, sample_lines[1]]
    assert [e.key for e in events] == [json.loads(sample_lines[0])["safetyreportid"], None, "77",
                                       json.loads(sample_lines[1])["safetyreportid"]]


def test_a_folder_gives_its_files_in_path_order_gzip_and_lists_too(tmp_path, sample, sample_lines):
    folder = tmp_path / "downloads"
    (folder / "b").mkdir(parents=True)
    (folder / "a.jsonl.gz").write_bytes(gzip.compress(b"\n".join(sample_lines[:3])))
    (folder / "b" / "c.json").write_bytes(json.dumps(sample[3:5]).encode())  # a list of reports
    (folder / "b" / "d.json.gz").write_bytes(gzip.compress(json.dumps(sample[5]).encode()))  # one
    (folder / "b" / "notes.txt").write_text("not a report file")
    events, stream = events_of(folder)
    assert stream.error is None
    assert [orjson.loads(e.payload) for e in events] == sample[:6]


def test_numbers_keep_their_digits_and_escapes_their_meaning(tmp_path):
    # what a re-serialization through floats or yajl's decoder would change (1e400: not Infinity)
    doc = (b'{"results": [{"safetyreportid": "1", "patient": {"patientweight": 70.50, '
           b'"patientonsetage": 1e400, "x": 123456789012345678901234567890}, '
           b'"lone": "a\\ud800b", "low": "\\udc00", "highs": "\\ud800\\ud800", '
           b'"pair": "\\ud83d\\ude37", "text": "\\u00e9\\"\\\\"}]}')
    (tmp_path / "odd.json").write_bytes(doc)
    [event], stream = events_of(tmp_path / "odd.json")
    assert stream.error is None
    payload = event.payload
    for written in (b"70.50", b"1e+400", b"123456789012345678901234567890", b'"a\\ud800b"',
                    b'"\\udc00"', b'"\\ud800\\ud800"'):
        assert written.lower() in payload.lower()
    assert json.loads(payload) == json.loads(doc)["results"][0]



@pytest.mark.parametrize("surrogate", [False, True], ids=["C backend", "Python backend"])
def test_a_key_given_twice_goes_out_twice_for_silver_to_judge(tmp_path, sample, surrogate):
    """A parser keeps one value of a key given twice; the replay must not choose for the
    sender. Among 200 reports (so that the parser reads ahead of the one being sent), three
    have a key twice: at the top, inside a drug, and inside a value that was given twice."""
    reports = [dict(r, safetyreportid=str(10_000_000 + i)) for i, r in
               enumerate(sample * 5)][:200]
    body = openfda_response(reports).decode()
    twice = {
        "10000003": ('"safetyreportid": "10000003"', '"safetyreportid": "10000003", "serious": "9"'),
        "10000100": ('"safetyreportid": "10000100"',
                     '"safetyreportid": "10000100", "extra": {"drug": [{"x": "a", "x": "b"}]}'),
        "10000150": ('"safetyreportid": "10000150"',
                     '"safetyreportid": "10000150", "k": {"y": 1, "y": 2}, "k": 3'),
    }
    for old, new in twice.values():
        body = body.replace(old, new, 1)
    if surrogate:
        body = body.replace('"safetyreportid": "10000000"', '"safetyreportid": "10000000", "s": "\\ud800"')
    (tmp_path / "twice.json").write_text(body)
    events, stream = events_of(tmp_path / "twice.json")
    assert stream.error is None and len(events) == 200
    by_id = {e.key: e.payload for e in events}
    assert by_id["10000003"].count(b'"serious":') == 2 and b'"serious":"9"' in by_id["10000003"]
    assert b'{"x":"a","x":"b"}' in by_id["10000100"]
    assert b'"k":{"y":1,"y":2},"k":3' in by_id["10000150"]
    # one report as the whole document takes the other path (events, not items): the same
    (tmp_path / "one.json").write_text('{"safetyreportid": "1", "k": {"y": 1, "y": 2}, "k": 3}')
    [one], _ = events_of(tmp_path / "one.json")
    assert one.payload == b'{"safetyreportid":"1","k":{"y":1,"y":2},"k":3}'
    # the rest go out as before: one value per key, as parsed
    changed = {*twice, "10000000"}
    assert all(orjson.loads(e.payload) == reports[int(e.key) - 10_000_000]
               for e in events if e.key not in changed)

def test_a_file_that_breaks_off_ends_the_replay_naming_it_after_what_came_before(tmp_path, sample):
    whole = openfda_response(sample[:3])
    cut = whole[: whole.index(b'"safetyreportid": "' + sample[2]["safetyreportid"].encode())]
    (tmp_path / "a.json").write_bytes(cut)
    (tmp_path / "b.jsonl").write_bytes(json.dumps(sample[3]).encode())
    events, stream = events_of(tmp_path / "a.json", tmp_path / "b.jsonl")
    assert [orjson.loads(e.payload) for e in events] == sample[:2]  # streamed, not read whole
    assert stream.error.startswith(f"{tmp_path / 'a.json'}: cannot read further")


def test_a_document_nested_too_deep_is_refused_before_it_is_built(tmp_path):
    # ijson's memory grows with the square of the nesting (20,000 levels: 970 MB)
    deep = b"[" * 30_000 + b"]" * 30_000
    (tmp_path / "a.json").write_bytes(b'{"results": [{"safetyreportid": "1"}, ' + deep + b"]}")
    (tmp_path / "b.json").write_bytes(b'{"x": "\\ud800", "results": [' + deep + b"]}")  # slow backend
    for name in ("a.json", "b.json"):
        events, stream = events_of(tmp_path / name)
        assert len(events) == (name == "a.json")
        assert stream.error.endswith("nested deeper than 200 levels (a report nests 8)")
    # as deep as a parser allows is sent; text full of brackets is not nesting
    nested = b'{"a":' * 190 + b"1" + b"}" * 190
    brackets = b'{"safetyreportid": "2", "t": "' + b"[" * 5000 + b'"}'
    (tmp_path / "c.json").write_bytes(b'{"results": [' + nested + b", " + brackets + b"]}")
    events, stream = events_of(tmp_path / "c.json")
    assert stream.error is None
    assert [json.loads(e.payload) for e in events] == [json.loads(nested), json.loads(brackets)]


def test_invalid_utf8_in_a_document_is_named_in_one_line(tmp_path):
    (tmp_path / "a.json").write_bytes(b'{"results": [{"a": "\xff\xfe"}]}')
    events, stream = events_of(tmp_path / "a.json")
    assert events == [] and "\n" not in stream.error and "invalid bytes in UTF8" in stream.error


def test_json_lines_named_json_is_refused_with_a_hint(tmp_path, sample_lines):
    (tmp_path / "lines.json").write_bytes(b"\n".join(sample_lines[:2]))
    events, stream = events_of(tmp_path / "lines.json")
    assert events == [] and "named .jsonl" in stream.error


def test_count_caps_the_reports(tmp_path, sample_lines):
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(sample_lines))
    events, _ = events_of(tmp_path / "a.jsonl", limit=5)
    assert len(events) == 5


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.json", "no such file or folder"),
    (lambda d: (d / "a.csv").write_text("x") and d / "a.csv", "unknown kind of file"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no .json, .jsonl"),
    (lambda d: os.mkfifo(d / "pipe.jsonl") or d / "pipe.jsonl", "not a regular file or a folder"),
])
def test_bad_paths_are_refused_before_anything_is_read(tmp_path, make, message):
    with pytest.raises(ReplayInputError, match=message):
        ReplayStream([make(tmp_path)])


def test_the_runner_sends_a_replay_through_a_sink_and_reports_the_error(tmp_path, sample):
    whole = openfda_response(sample[:4])
    (tmp_path / "a.json").write_bytes(whole[:-40])  # cut inside the last report
    summary = replay([tmp_path / "a.json"], sink="files", landing_dir=str(tmp_path / "landing"),
                     dead_letter=str(tmp_path / "dead.jsonl"))
    landed = [orjson.loads(line) for f in sorted((tmp_path / "landing").rglob("*.jsonl"))
              for line in f.read_bytes().splitlines()]
    assert summary.sent == 3 and summary.manifest is None and summary.exit_code == 1
    assert sorted(r["safetyreportid"] for r in landed) == sorted(r["safetyreportid"] for r in sample[:3])
    assert "a.json: cannot read further" in summary.error


def test_cli_replay_sends_and_refuses_what_does_not_apply(tmp_path, sample_lines):
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(sample_lines))
    done = cli("--replay", str(tmp_path / "a.jsonl"), "--dry-run", "--json", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["sent"], summary["scenario"], summary["manifest"]) == (len(sample_lines), "replay", None)
    sent = cli("--replay", str(tmp_path / "a.jsonl"), tmp_path=tmp_path)
    assert sent.returncode == 0, sent.stderr
    landed = [line for f in tmp_path.glob(".vigil/landing/adverse-events/**/*.jsonl")
              for line in f.read_bytes().splitlines()]
    assert sorted(landed) == sorted(sample_lines)
    for f in tmp_path.glob(".vigil/landing/**/*.jsonl"):
        f.unlink()
    for extra in (["--seed", "3"], ["--scenario", "demo"], ["--workers", "2"]):
        # the files sink (the default) would write under tmp_path/.vigil/landing
        refused = cli("--replay", str(tmp_path / "a.jsonl"), *extra, tmp_path=tmp_path)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert not list(Path(tmp_path).glob(".vigil/landing/**/*.jsonl"))
    missing = cli("--replay", str(tmp_path / "nope.json"), tmp_path=tmp_path)
    assert missing.returncode == 2 and "nope.json: no such file or folder" in missing.stderr
