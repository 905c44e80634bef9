"""A serving database filled by the real pipeline, for the dashboard tests.

The generator's demo scenario (scaled down) goes straight into bronze, as the Kafka source would
have written it; silver and gold run as `availableNow` streams; a few gold.alert rows are written
by hand (the signals job is not part of this pipeline yet); then the serving load migrates and
fills the DuckDB file, exactly as `python -m jobs.serving load` does.

Run as a script to fill a database for trying the dashboard by hand:
    .venv/bin/python -m tests.dashboard.serving_db /tmp/vigil-dash   # then
    .venv/bin/python -m dashboard --data-root /tmp/vigil-dash
"""

from __future__ import annotations

import sys
from datetime import date, datetime

from generators.scenario import load_scenario
from generators.stream import generate
from jobs import gold, silver
from jobs.serving.load import load_all
from jobs.serving.targets import ALERT
from jobs.settings import Settings
from tests.pipeline.conftest import write_bronze
from tests.serving.lake import Lake

REPORTS = 400  # background reports; the scenario's anomalies come on top
SEED = 8

ALERTS = [  # subject formats as jobs/signals writes them
    {
        "alert_type": "safety_signal",
        "subject": "drug=DUPILUMAB;reaction=Alopecia",
        "window_start": date(2025, 1, 7),
        "window_end": date(2025, 1, 14),
        "statistic": "prr",
        "statistic_value": 6.25,
        "threshold": 2.0,
        "evidence_reports": 9,
        "expected_reports": 1.4,
        "status": "open",
        "first_detected_at": datetime(2025, 1, 9, 8, 0),
        "gold_updated_at": datetime(2025, 1, 9, 8, 0),
    },
    {
        "alert_type": "overdose_cluster",
        "subject": "drug=OXYCODONE;country=US",
        "window_start": date(2025, 1, 5),
        "window_end": date(2025, 1, 7),
        "statistic": "poisson_p",
        "statistic_value": 0.0001,
        "threshold": 0.001,
        "evidence_reports": 41,
        "expected_reports": 3.2,
        "status": "final",
        "first_detected_at": datetime(2025, 1, 6, 12, 0),
        "gold_updated_at": datetime(2025, 1, 7, 0, 0),
    },
    {
        "alert_type": "reporting_spike",
        "subject": "country=GB",
        "window_start": date(2025, 1, 10),
        "window_end": date(2025, 1, 11),
        "statistic": "poisson_p",
        "statistic_value": 0.002,
        "threshold": 0.001,
        "evidence_reports": 15,
        "expected_reports": 6.0,
        "status": "withdrawn",
        "first_detected_at": datetime(2025, 1, 10, 18, 0),
        "gold_updated_at": datetime(2025, 1, 11, 0, 0),
    },
]


def fill(spark, settings: Settings, *, reports: int = REPORTS, seed: int = SEED):
    """Run the pipeline over a small demo scenario and load the serving database; the load summary."""
    events = list(generate(load_scenario("demo").with_overrides(reports=reports), seed=seed))
    write_bronze(spark, settings, [e.payload for e in events])
    trigger = {"availableNow": True}
    for start in (silver.start, gold.start, gold.start_aggregates):
        query = start(spark, settings, trigger)
        query.awaitTermination()
        if query.exception():
            raise query.exception()
    Lake(spark, settings).merge(ALERT, ALERTS)
    return load_all(spark, settings)


if __name__ == "__main__":
    from jobs.runtime import get_spark

    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/vigil-dashboard"
    s = Settings(profile="local", data_root=root, kafka_bootstrap=None)
    print(fill(get_spark(s, app_name="vigil-dashboard-fill"), s))
