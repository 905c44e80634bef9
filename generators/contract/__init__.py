"""The event contract: the JSON Schema of one adverse-event report and the metadata every event carries.

Metadata travels beside the payload, as Kafka headers / Event Hubs application properties, never
inside it, so that the payload stays exactly openFDA-shaped.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parent / "adverse_event.schema.json"

EVENT_TYPE = "adverse_event"
SCHEMA_VERSION = "1"

# Header / property names (all values are strings)
H_EVENT_TYPE = "event_type"
H_SCHEMA_VERSION = "schema_version"
H_PRODUCER = "producer"
H_GENERATED_AT = "generated_at"
H_EVENT_SEQ = "vigil_event_seq"  # ties every emitted event, faulty or not, to the ground truth
H_RUN_ID = "vigil_run_id"

HEADER_NAMES = (H_EVENT_TYPE, H_SCHEMA_VERSION, H_PRODUCER, H_GENERATED_AT, H_EVENT_SEQ, H_RUN_ID)


@functools.cache
def schema() -> dict:
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        return json.load(f)


def validator():
    """A jsonschema validator for the contract (jsonschema is a test/tooling dependency)."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())
