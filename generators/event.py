"""One event as it leaves the generator: what a sink needs to deliver it."""

from __future__ import annotations

from typing import NamedTuple


class Event(NamedTuple):
    key: str | None  # partition key: the safetyreportid, None when the event has none
    payload: bytes  # the report as UTF-8 JSON, or the raw bytes of a data fault
    headers: dict[str, str]  # contract metadata: event_type, schema_version, producer, ...
    seq: int  # vigil_event_seq: unique per event in a run, the same for any --workers
    time: float  # arrival time, epoch seconds (simulated when seeded): paces and files the event
