"""python -m generators: generate a scenario into Event Hubs, Kafka or landing files.

Exit codes: 0 everything delivered; 2 bad arguments, scenario or sink configuration (one line
on stderr, nothing sent); 3 some events could not be delivered (see the dead-letter file);
130 interrupted with Ctrl-C (after flushing and printing the summary); 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from jobs.widgets import whole_number_argument  # stdlib only: a usage error stays fast

if TYPE_CHECKING:
    from generators.runner import RunSummary

PROG = "python -m generators"
# the same values as generators.runner's; repeated here so that a usage error exits before
# the generator (Faker, reference data) is even imported
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see --help)\n")


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of events per second: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _seconds(text: str) -> float:
    from generators.clock import parse_duration

    try:
        value = parse_duration(text if text[-1:].isalpha() else f"{text}s")
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration (e.g. 60, 90s, 5m): {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROG,
        description="Generate realistic openFDA-shaped adverse-event reports, with injected "
                    "anomalies and a ground-truth manifest, into Event Hubs, Kafka or files — "
                    "or replay real openFDA reports from files (--replay).",
        epilog="Docs: docs/GENERATOR.md. Secrets come from the environment only "
               "(EVENTHUB_CONNECTION_STRING); Entra ID via DefaultAzureCredential is the default.",
    )
    what = parser.add_argument_group("what to generate")
    what.add_argument("--scenario",
                      help="scenario name (generators/scenarios/) or YAML path (default: demo)")
    what.add_argument("--replay", nargs="+", metavar="PATH",
                      help="send real reports instead: openFDA downloads or API responses "
                           "(.json, .json.zip), JSON lines (.jsonl, one report per line, sent "
                           "byte for byte), .gz, or folders of them; --count caps the reports")
    what.add_argument("--seed", type=whole_number_argument(0),
                      help="repeatable output: same seed, same bytes (default: random, reported)")
    what.add_argument("--count", type=whole_number_argument(0),
                      help="background reports (default: rate × duration, else the scenario's)")
    what.add_argument("--start", help="where simulated time begins: ISO-8601 or 'now'")
    what.add_argument("--clock", choices=("sim", "wall"),
                      help="generated_at from simulated time or the wall clock "
                           "(default: sim when --seed is given)")
    what.add_argument("--list-scenarios", action="store_true", help="list scenarios and exit")

    how = parser.add_argument_group("how fast")
    how.add_argument("--rate", type=_rate, help="events per second, open loop (default: flat out)")
    how.add_argument("--duration", type=_seconds,
                     help="stop after this long: seconds, or 90s / 5m / 1h")
    how.add_argument("--workers", type=whole_number_argument(1), default=1,
                     help="generator processes, each with its own sink (default 1)")
    how.add_argument("--dry-run", action="store_true",
                     help="generate and serialize, deliver nothing")

    where = parser.add_argument_group("where to")
    where.add_argument("--sink", choices=("files", "kafka", "eventhubs"), default="files",
                       help="files (default), kafka, or eventhubs")
    where.add_argument("--topic", default="adverse-events",
                       help="Kafka topic, event hub, or landing folder name (default adverse-events)")
    where.add_argument("--landing-dir", default=".vigil/landing",
                       help="files sink: root folder (default .vigil/landing)")
    where.add_argument("--file-format", choices=("payload", "envelope"), default="payload",
                       help="files sink: one payload per line (default, what the pipeline reads) "
                            "or Capture-like envelopes that keep the headers")
    where.add_argument("--partitions", type=whole_number_argument(1), default=4,
                       help="files sink partitions; partitions of a Kafka topic it creates (4)")
    where.add_argument("--bootstrap", default=os.environ.get("VIGIL_KAFKA_BOOTSTRAP"),
                       help="kafka sink: bootstrap servers (env VIGIL_KAFKA_BOOTSTRAP)")
    where.add_argument("--kafka-auth", choices=("none", "connection-string", "entra"),
                       default="none",
                       help="kafka sink against Event Hubs (port 9093): connection-string "
                            "(SASL PLAIN, from EVENTHUB_CONNECTION_STRING) or entra (OAUTHBEARER)")
    where.add_argument("--compression", choices=("none", "gzip", "snappy", "lz4", "zstd"),
                       help="kafka compression (default lz4 local, gzip for Event Hubs)")
    where.add_argument("--namespace", default=os.environ.get("EVENTHUB_NAMESPACE"),
                       help="Event Hubs namespace, name or FQDN (env EVENTHUB_NAMESPACE)")

    out = parser.add_argument_group("output")
    out.add_argument("--manifest", help="ground-truth JSON lines path "
                                        "(default .vigil/ground-truth/<run_id>.jsonl)")
    out.add_argument("--dead-letter", help="dead-letter JSON lines path "
                                           "(default .vigil/dead-letter/<run_id>-<sink>.jsonl)")
    out.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    progress = out.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None,
                          help="show progress (default: when stderr is a terminal)")
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    return parser


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from generators.scenario import ScenarioError, scenario_names
    from ingesters.errors import SinkConfigError

    if args.list_scenarios:
        print("\n".join(scenario_names()))
        return 0
    if args.replay:
        given = [flag for flag, value in (("--scenario", args.scenario), ("--seed", args.seed),
                                          ("--start", args.start), ("--clock", args.clock),
                                          ("--manifest", args.manifest)) if value is not None]
        if given:
            return _fail(f"--replay sends real reports: {', '.join(given)} does not apply to it")
    from generators.runner import RunOptions, replay, run

    options = RunOptions(
        sink=args.sink, seed=args.seed, rate=args.rate, count=args.count, duration=args.duration,
        workers=args.workers, dry_run=args.dry_run, manifest=args.manifest,
        dead_letter=args.dead_letter, clock=args.clock, start=args.start, topic=args.topic,
        landing_dir=args.landing_dir, file_format=args.file_format, partitions=args.partitions,
        bootstrap=args.bootstrap,
        kafka_auth=args.kafka_auth, compression=args.compression, namespace=args.namespace,
        connection_string=os.environ.get("EVENTHUB_CONNECTION_STRING") or None,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
        tune_gc=True,
    )
    try:
        summary = (replay(args.replay, options) if args.replay
                   else run(args.scenario or "demo", options))
    except (ScenarioError, SinkConfigError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted before anything was sent\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # one line, not a traceback; VIGIL_DEBUG=1 shows it
        if os.environ.get("VIGIL_DEBUG"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc}", EXIT_ERROR)
    if args.json:
        sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    else:
        sys.stdout.write(format_summary(summary))
    if summary.error:
        sys.stderr.write(f"{PROG}: error: {summary.error}\n")
    return summary.exit_code


def _rate_text(rate: float) -> str:
    """1,000 or 2.5 or 0.0001 or 1e+12: digits a person can read, whatever the rate given."""
    return f"{rate:,.0f}" if 100 <= rate < 1e9 else f"{rate:.3g}"


def format_summary(s: RunSummary) -> str:
    latency = s.latency_ms
    lat = ("  ".join(f"{k} {v:,.2f} ms" for k, v in latency.items() if v is not None)
           or "n/a")
    target = f" (target {_rate_text(s.rate_target)}/s)" if s.rate_target else ""
    state = "interrupted — flushed what was in flight" if s.interrupted else "done"
    what = (f"  replay          {s.source}   run {s.run_id}" if s.source is not None
            else f"  scenario        {s.scenario}   seed {s.seed}   run {s.run_id}")
    lines = [
        f"vigil generator: {state}",
        what,
        f"  sink            {s.sink} → {s.target}   workers {s.workers}",
        f"  sent            {s.sent:,}   failed {s.failed:,}   dead-lettered {s.dead_lettered:,}",
        f"  bytes           {s.bytes:,} ({s.bytes / 1e6:,.1f} MB)",
        f"  elapsed         {s.elapsed_seconds:,.2f} s   achieved {s.achieved_rate:,.1f} events/s"
        f"{target}",
        f"  send latency    {lat}",
    ]
    if s.manifest:
        lines.append(f"  ground truth    {s.manifest} ({s.anomalies} anomalies)")
    if s.dead_letter_files:
        lines.append(f"  dead letters    {', '.join(s.dead_letter_files)}")
    return "\n".join(lines) + "\n"
