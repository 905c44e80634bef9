"""The README's demo: the whole local platform, end to end, in a few minutes.

1. a local Kafka broker (the running one, or one started for the demo);
2. the generator CLI sends the demo scenario — background reports plus an overdose cluster,
   a new safety signal, a reporting spike and data faults — with its ground-truth manifest;
3. bronze → silver → gold with `availableNow`, as the Databricks job's notebooks run them;
4. safety signals and alerts over silver;
5. the serving database (DuckDB, the same T-SQL as Azure SQL) is loaded and its Power BI
   views previewed.
Each run starts from an empty topic and data folder (`.vigil/demo`), so the figures it prints
are the scenario's own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from jobs import pipeline, serving, signals
from jobs.runtime import RuntimeSetupError, get_spark
from jobs.serving.connections import ServingError
from jobs.settings import DEFAULT_LOCAL_DATA, PROJECT_ROOT, settings_for
from jobs.sources import SourceParams
from scripts.kafka_broker import DEFAULT_DATA_DIR, BrokerError, KafkaBroker

DEMO_ROOT = DEFAULT_LOCAL_DATA / "demo"
TOPIC = "adverse-events"
SEED = 42


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def fresh_topic(bootstrap: str, topic: str) -> None:
    """Delete the topic if an earlier run left it, so the demo counts only its own events."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    if topic in admin.list_topics(timeout=10).topics:
        for future in admin.delete_topics([topic]).values():
            future.result(timeout=30)
        deadline = time.monotonic() + 30
        while topic in admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
            time.sleep(0.5)


def send_scenario(bootstrap: str, manifest: Path) -> None:
    command = [sys.executable, "-m", "generators", "--scenario", "demo", "--seed", str(SEED),
               "--sink", "kafka", "--bootstrap", bootstrap, "--topic", TOPIC,
               "--manifest", str(manifest), "--no-progress"]
    print("$ python -m " + " ".join(command[2:]))
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)


def print_summary(summary: dict) -> None:
    r = summary["reconciliation"]
    print(f"reports in silver: {summary['reports']:,}  overdoses: {summary['overdoses']:,}  "
          f"anomalies: {summary['anomalies']:,}")
    print(f"bronze events: {r['bronze_events']:,} = {r['in_silver']:,} in silver + "
          f"{r['quarantined']:,} quarantined (unaccounted: {r['unaccounted']})")
    print("quarantined by rule: " + ", ".join(f"{rule} {n}" for rule, n in
                                              summary["quarantined_by_rule"].items()))
    print("top suspect drugs: " + ", ".join(f"{d} ({n})" for d, n in summary["top_drugs"]))


def main() -> int:
    started = time.monotonic()
    manifest = DEMO_ROOT / "ground_truth.jsonl"
    shutil.rmtree(DEMO_ROOT, ignore_errors=True)
    settings = settings_for("local", data_root=str(DEMO_ROOT))
    broker = None
    try:
        step("event transport")
        if settings.kafka_bootstrap is None:
            broker = KafkaBroker(data_dir=DEFAULT_DATA_DIR)
            t0 = time.monotonic()
            broker.start()
            print(f"started a local Kafka broker on {broker.bootstrap} in "
                  f"{time.monotonic() - t0:.1f} s")
            settings = settings_for("local", data_root=str(DEMO_ROOT),
                                    kafka_bootstrap=broker.bootstrap)
        else:
            print(f"using the running Kafka broker on {settings.kafka_bootstrap}")
        fresh_topic(settings.kafka_bootstrap, TOPIC)

        step("generator: the demo scenario into Kafka")
        send_scenario(settings.kafka_bootstrap, manifest)

        step("pipeline: bronze -> silver -> gold (availableNow)")
        spark = get_spark(settings, app_name="vigil-demo")
        for run in pipeline.run_available_now(spark, settings, SourceParams()):
            print(f"{run.stage:<7} {run.input_rows:>7,} rows in {run.seconds:5.1f} s")
        print_summary(pipeline.summary(spark, settings))

        step("signals: disproportionality (PRR, ROR, IC), reporting spikes, overdose clusters")
        run = signals.run_available_now(spark, settings)
        print(f"signals {run.input_rows:>7,} rows in {run.seconds:5.1f} s; top alerts per type:")
        for a in signals.summary(spark, settings, top=3).collect():
            print(f"  {a.alert_type:<17} {a.subject:<45} {a.statistic} {a.statistic_value:.3g} "
                  f"(threshold {a.threshold:g}), {a.evidence_reports} reports")

        step("serving: load the local database (same T-SQL as Azure SQL) and read the views")
        print(serving.load_all(spark, settings))
        print(serving.preview_views(settings))
    except (BrokerError, RuntimeSetupError, ServingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as err:
        print(f"error: the generator exited with code {err.returncode}", file=sys.stderr)
        return 1
    finally:
        if broker is not None:
            broker.stop()
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s; tables under {DEMO_ROOT}, "
          f"ground truth in {manifest}")
    print("dashboards: run `make dashboard`, then open http://127.0.0.1:8501/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
