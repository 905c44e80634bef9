"""python -m generators as a user runs it: a subprocess. Bad input → one line, exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generators.cli import format_summary
from generators.ground_truth import read_manifest
from generators.runner import RunSummary

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EVENTHUB_", "VIGIL_KAFKA", "AZURE_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def cli(*args, tmp_path: Path, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generators", *args], cwd=tmp_path, env=env or _env(),
        capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def bad_scenario(tmp_path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("background: {reports: 10}\nanomalies:\n  - {type: spike, multiplier: 0.5}\n")
    return path


@pytest.mark.parametrize(("args", "says"), [
    (["--sink", "carrier-pigeon"], "invalid choice: 'carrier-pigeon'"),
    (["--rate", "-5"], "argument --rate: must be a positive number"),
    (["--rate", "fast"], "argument --rate: not a number"),
    (["--count", "many"], "argument --count: 'many' is not a whole number"),
    (["--duration", "soon"], "argument --duration: not a duration"),
    (["--workers", "0"], "argument --workers: '0' is not a whole number of at least 1"),
    (["--count", "-1"], "argument --count: '-1' is not a whole number of at least 0"),
    (["--workers", "100000"], "--workers 100000 is more than this machine runs"),
    (["--scenario", "no-such-scenario"], "scenario 'no-such-scenario' not found"),
    (["--scenario", "BAD"], "anomalies[0].multiplier: must be at least 1.0"),
    (["--start", "yesterday"], "--start must be an ISO-8601 time or 'now'"),
    (["--sink", "eventhubs"], "needs --namespace (or EVENTHUB_NAMESPACE)"),
    (["--sink", "kafka"], "needs --bootstrap"),
    (["--sink", "kafka", "--bootstrap", "127.0.0.1:1"], "cannot reach Kafka"),
    (["--sink", "kafka", "--kafka-auth", "connection-string", "--namespace", "vigil-ns"],
     "needs EVENTHUB_CONNECTION_STRING"),
])
def test_bad_input_is_one_line_and_exit_2(args, says, tmp_path, bad_scenario):
    args = [str(bad_scenario) if a == "BAD" else a for a in args]
    result = cli(*args, "--count", "10", tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert lines[0].startswith("python -m generators: error: ")
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / ".vigil" / "landing").exists(), "nothing was sent"


@pytest.mark.parametrize(("rate", "shown"), [(1000.0, "1,000"), (2.5, "2.5"), (0.0001, "0.0001"),
                                             (1e308, "1e+308")])
def test_the_summary_shows_any_rate_target_readably(rate, shown):
    summary = RunSummary(scenario="demo", seed=1, run_id="r", sink="null", target="nothing",
                         workers=1, rate_target=rate, sent=1, elapsed_seconds=1.0, achieved_rate=1.0)
    assert f"achieved 1.0 events/s (target {shown}/s)" in format_summary(summary)


def test_a_small_run_prints_a_json_summary(tmp_path):
    result = cli("--seed", "3", "--count", "400", "--json", "--landing-dir", "landing",
                 "--manifest", "gt.jsonl", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sent"] == summary["generated"] > 400 and summary["failed"] == 0
    assert summary["exit_code"] == 0 and summary["seed"] == 3
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99"}
    lines = sum(len(p.read_bytes().splitlines())
                for p in (tmp_path / "landing").rglob("*.jsonl"))
    assert lines == summary["sent"]
    assert len(read_manifest(tmp_path / "gt.jsonl")) == summary["anomalies"] > 20


def test_dry_run_generates_but_delivers_nothing(tmp_path):
    result = cli("--seed", "3", "--count", "300", "--dry-run", "--landing-dir", "landing",
                 tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sink            null" in result.stdout and "sent            " in result.stdout
    assert not (tmp_path / "landing").exists()


def test_ctrl_c_flushes_prints_the_summary_and_exits_130(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "generators", "--seed", "1", "--count", "200000", "--rate", "400",
         "--landing-dir", "landing", "--manifest", "gt.jsonl", "--json"],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a run started in the background (`make test &`) inherits an ignored SIGINT, which
        # Python keeps ignored; a terminal's Ctrl-C reaches its foreground job, as here
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not list((tmp_path / "landing").rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.2)  # wait until it is sending
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    summary = json.loads(stdout)
    assert summary["interrupted"] and 0 < summary["sent"] < 200_000
    assert not list((tmp_path / "landing").rglob("*.tmp")), "open files were completed"
    lines = sum(len(p.read_bytes().splitlines())
                for p in (tmp_path / "landing").rglob("*.jsonl"))
    assert lines == summary["sent"]
    named = {s for line in read_manifest(tmp_path / "gt.jsonl") for s in line["event_seqs"]}
    assert len(named) <= summary["sent"]


@pytest.mark.slow
def test_two_workers_deliver_what_one_worker_does(tmp_path):
    results = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        result = cli("--seed", "8", "--count", "1500", "--workers", str(workers), "--json",
                     "--landing-dir", str(out / "landing"), "--manifest", str(out / "gt.jsonl"),
                     tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        payloads = sorted(line for p in (out / "landing").rglob("*.jsonl")
                          for line in p.read_bytes().splitlines())
        results[workers] = (json.loads(result.stdout), payloads,
                            (out / "gt.jsonl").read_bytes())
    (one, payloads_1, truth_1), (two, payloads_2, truth_2) = results[1], results[2]
    assert two["workers"] == 2 and two["sent"] == one["sent"]
    assert payloads_2 == payloads_1
    assert truth_2 == truth_1


def test_progress_line_on_a_terminal_and_silence_otherwise():
    import io

    from generators.progress import Progress

    shown = io.StringIO()
    progress = Progress(enabled=True, stream=shown, every=0.0)
    progress.update(1234, 5)
    progress.close()
    assert shown.getvalue().startswith("\r  sent 1,234  failed 5  ") and "events/s" in shown.getvalue()
    quiet = io.StringIO()
    Progress(enabled=False, stream=quiet).update(1, 0, force=True)
    assert quiet.getvalue() == ""
