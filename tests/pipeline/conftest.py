"""Helpers for pipeline tests: hand-made events written straight into bronze."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime

import pytest

from jobs import tables
from jobs.settings import Settings

BASE_REPORT = {
    "safetyreportid": "10000001",
    "safetyreportversion": "1",
    "receivedate": "20240105",
    "receivedateformat": "102",
    "serious": "1",
    "seriousnesshospitalization": "1",
    "occurcountry": "US",
    "primarysource": {"qualification": "1", "reportercountry": "US"},
    "sender": {"senderorganization": "FDA-Public Use"},
    "patient": {
        "patientonsetage": "54",
        "patientonsetageunit": "801",
        "patientsex": "2",
        "patientweight": "70",
        "reaction": [{"reactionmeddrapt": "Nausea", "reactionoutcome": "2"}],
        "drug": [{
            "medicinalproduct": "Tylenol",
            "drugcharacterization": "1",
            "drugstructuredosagenumb": "500",
            "drugstructuredosageunit": "003",
            "drugadministrationroute": "048",
        }],
    },
}


def report(**changes) -> dict:
    """The base report with top-level or `patient.<field>` changes; None removes a field."""
    r = copy.deepcopy(BASE_REPORT)
    for key, value in changes.items():
        target, field = (r["patient"], key[len("patient_"):]) if key.startswith("patient_") else (r, key)
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    return r


def payload(value) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


@pytest.fixture
def fresh_settings(tmp_path) -> Settings:
    """Settings over an empty data root: each test gets its own tables and checkpoints."""
    return Settings(profile="local", data_root=str(tmp_path / "data"), kafka_bootstrap=None)


def bronze_frame(spark, payloads):
    """Bronze rows of these payloads (bytes) as a DataFrame, not written: offsets 0, 1, …"""
    now = datetime(2024, 1, 6)
    rows = [(f"t/0/{i}", None, p, {}, "kafka", "t", 0, i, now, None, now, now.date())
            for i, p in enumerate(payloads)]
    return spark.createDataFrame(rows, tables.BRONZE_RAW.schema)


def write_bronze(spark, settings, payloads, start_offset=0, enqueued=None):
    """Append events to bronze as the Kafka source would have delivered them."""
    tables.ensure(spark, settings, tables.BRONZE_RAW)
    now = enqueued or datetime.now(UTC).replace(tzinfo=None)
    topic = f"t-{uuid.uuid4().hex[:6]}"
    rows = [
        (f"{topic}/0/{start_offset + i}", None, payload(p), {"event_type": "adverse_event"},
         "kafka", topic, 0, start_offset + i, now, None, now, now.date())
        for i, p in enumerate(payloads)
    ]
    df = spark.createDataFrame(rows, tables.BRONZE_RAW.schema)
    tables.append(df, settings, tables.BRONZE_RAW)


def table(spark, settings, t):
    return spark.read.format("delta").load(settings.table_path(t.name))
