"""Event Hubs sink with the SDK's own EventData / EventDataBatch and a stand-in client that
fails on command (no Azure account needed)."""

from __future__ import annotations

import base64
import math

import pytest
from azure.eventhub import EventDataBatch
from azure.eventhub._buffered_producer._partition_resolver import PartitionResolver
from azure.eventhub.exceptions import (
    AuthenticationError,
    ConnectionLostError,
    EventDataError,
    EventDataSendError,
    EventHubError,
    OperationTimeoutError,
)

from generators.event import Event
from generators.scenario import load_scenario
from generators.stream import generate
from ingesters.dead_letter import DeadLetterFile, read_dead_letters
from ingesters.errors import SinkConfigError, SinkFatalError
from ingesters.eventhubs import EventHubsSink, event_data, is_transient, producer_client

PARTITIONS = ("0", "1", "2", "3")


def server_busy() -> EventDataSendError:
    exc = EventDataSendError("The request was terminated because the entity is being "
                             "throttled. Error code : 50002.")
    exc.error = "server-busy"  # what the SDK sets from the AMQP condition com.microsoft:server-busy
    return exc


class StandInClient:
    """The three calls the sink makes; batches are the SDK's real EventDataBatch."""

    def __init__(self, max_size: int = 64 * 1024, failures=(), partitions=PARTITIONS,
                 refuse_partitions: Exception | None = None):
        self.max_size = max_size
        self.failures = list(failures)  # raised by send_batch, in order, before it succeeds
        self.partitions = partitions
        self.refuse_partitions = refuse_partitions
        self.sent: list[EventDataBatch] = []
        self.attempts = 0
        self.closed = False

    def get_partition_ids(self):
        if self.refuse_partitions:
            raise self.refuse_partitions
        return list(self.partitions)

    def create_batch(self, partition_id=None, partition_key=None, max_size_in_bytes=None):
        return EventDataBatch(max_size_in_bytes=self.max_size, partition_id=partition_id,
                              partition_key=partition_key)

    def send_batch(self, batch):
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(batch)

    def close(self):
        self.closed = True


@pytest.fixture(scope="module")
def events():
    scenario = load_scenario("demo").with_overrides(reports=300)
    return [e for e in generate(scenario, seed=11) if e.payload]


def _sink(client, tmp_path, **kw):
    sleeps: list[float] = []
    sink = EventHubsSink(client, dead_letter=DeadLetterFile(tmp_path / "dl.jsonl", "eventhubs"),
                         sleep=sleeps.append, **kw)
    return sink, sleeps


def test_event_properties_body_and_partition_key():
    event = Event("50000009", b'{"safetyreportid":"50000009"}',
                  {"event_type": "adverse_event", "schema_version": "1", "vigil_event_seq": "12"},
                  12, 0.0)
    data = event_data(event)
    assert data.body_as_str() == '{"safetyreportid":"50000009"}'
    assert data.properties == event.headers
    assert data.partition_key == "50000009"
    batch = EventDataBatch(max_size_in_bytes=10_000, partition_id="1")
    batch.add(data)  # the real batch accepts it (no conflicting batch-level key)
    assert [e.partition_key for e in batch._internal_events] == ["50000009"]
    keyless = event_data(Event(None, b"", {"event_type": "adverse_event"}, 16, 0.0))
    assert keyless.partition_key is None and keyless.body_as_str() == ""


def test_batches_are_filled_to_the_maximum_size(events, tmp_path):
    client = StandInClient(max_size=16 * 1024)
    sink, _ = _sink(client, tmp_path, max_wait=3600)
    sink.send(events)
    sink.flush()
    assert sink.stats.sent == len(events) and sink.stats.failed == 0
    assert sum(len(b) for b in client.sent) == len(events)
    # pack each partition's events into fresh batches of the same size: as many batches
    by_partition: dict[str, list] = {}
    for event in events:
        by_partition.setdefault(sink.partition_for(event.key) if event.key else "rr", []).append(event)
    expected = 0
    for partition, items in by_partition.items():
        if partition == "rr":
            expected += len(items)  # keyless events spread round-robin; at most one batch each
            continue
        batch = EventDataBatch(max_size_in_bytes=16 * 1024)
        expected += 1
        for event in items:
            try:
                batch.add(event_data(event))
            except ValueError:
                expected += 1
                batch = EventDataBatch(max_size_in_bytes=16 * 1024)
                batch.add(event_data(event))
    keyless = sum(1 for e in events if e.key is None)
    assert expected - keyless <= len(client.sent) <= expected
    assert all(b.size_in_bytes <= 16 * 1024 for b in client.sent)
    assert len(client.sent) < len(events) / 4, "many events per send"


def test_every_version_of_a_report_lands_on_one_partition_by_the_service_hash(events, tmp_path):
    client = StandInClient()
    sink, _ = _sink(client, tmp_path, max_wait=3600)
    sink.send(events)
    sink.flush()
    resolver = PartitionResolver(list(PARTITIONS))
    seen: dict[str, set] = {}
    for batch in client.sent:
        for data in batch._internal_events:
            if data.partition_key is not None:
                key = data.partition_key
                key = key.decode() if isinstance(key, bytes) else key
                assert batch._partition_id == resolver.get_partition_id_by_partition_key(key)
                seen.setdefault(key, set()).add(batch._partition_id)
    assert seen and all(len(p) == 1 for p in seen.values())
    assert len({p for ps in seen.values() for p in ps}) == len(PARTITIONS)


def test_server_busy_and_timeouts_are_retried_with_backoff(events, tmp_path):
    client = StandInClient(failures=[server_busy(), OperationTimeoutError("timed out"),
                                     ConnectionLostError("link detached")])
    sink, sleeps = _sink(client, tmp_path, backoff_base=1.0, max_wait=3600)
    sink.send(events[:20])
    sink.flush()
    assert sink.stats.sent == 20 and sink.stats.failed == 0 and sink.retries == 3
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0


def test_a_batch_that_keeps_failing_is_dead_lettered_with_the_reason(events, tmp_path):
    client = StandInClient(failures=[server_busy()] * 10)
    sink, sleeps = _sink(client, tmp_path, max_retries=3, max_wait=3600)
    batch_events = [e for e in events if e.key and sink.partition_for(e.key) == "0"][:5]
    sink.send(batch_events)
    sink.flush()
    sink.close()
    assert sink.stats.sent == 0 and sink.stats.failed == sink.stats.dead_lettered == 5
    assert len(sleeps) == 3 and client.attempts == 4
    letters = read_dead_letters(tmp_path / "dl.jsonl")
    assert [r["vigil_event_seq"] for r in letters] == [e.seq for e in batch_events]
    assert all("gave up after retries" in r["reason"] and "50002" in r["reason"] for r in letters)
    assert [base64.b64decode(r["payload_base64"]) for r in letters] == \
        [e.payload for e in batch_events]
    assert letters[0]["headers"] == batch_events[0].headers and client.closed


def test_errors_that_retrying_cannot_fix_are_dead_lettered_at_once(events, tmp_path):
    client = StandInClient(failures=[EventDataError("message is too large")])
    sink, sleeps = _sink(client, tmp_path, max_wait=3600)
    sink.send(events[:1])
    sink.flush()
    assert sleeps == [] and sink.stats.dead_lettered == 1
    assert "not retryable" in read_dead_letters(tmp_path / "dl.jsonl")[0]["reason"]


def test_a_refused_credential_stops_the_run(events, tmp_path):
    client = StandInClient(failures=[AuthenticationError("Unauthorized access")])
    sink, _ = _sink(client, tmp_path, max_wait=3600)
    sink.send(events[:3])
    with pytest.raises(SinkFatalError, match="refused the credential"):
        sink.flush()
    assert sink.stats.dead_lettered >= 1


def test_an_event_larger_than_a_batch_is_dead_lettered_and_the_rest_sent(events, tmp_path):
    client = StandInClient(max_size=8 * 1024)
    sink, _ = _sink(client, tmp_path, max_wait=3600)
    huge = Event("50000009", b"x" * 9000, {"vigil_event_seq": "999"}, 999, 0.0)
    sink.send([events[0], huge, events[1]])
    sink.flush()
    assert sink.stats.sent == 2 and sink.stats.dead_lettered == 1
    assert "larger than the maximum batch size" in read_dead_letters(tmp_path / "dl.jsonl")[0]["reason"]


def test_a_partly_filled_batch_goes_out_after_max_wait(events, tmp_path):
    client = StandInClient()
    sink, _ = _sink(client, tmp_path, max_wait=0.0)
    sink.send(events[:3])  # send() polls: with max_wait 0 nothing waits
    assert sum(len(b) for b in client.sent) == 3


def test_startup_problems_are_config_errors(tmp_path):
    with pytest.raises(SinkConfigError, match="refused the credential"):
        EventHubsSink(StandInClient(refuse_partitions=AuthenticationError("nope")))
    with pytest.raises(SinkConfigError, match="needs --namespace"):
        producer_client("adverse-events")
    with pytest.raises(SinkConfigError, match="EVENTHUB_CONNECTION_STRING is not usable"):
        producer_client("adverse-events", connection_string="not a connection string")


@pytest.mark.parametrize(("exc", "transient"), [
    (server_busy(), True),
    (OperationTimeoutError("timeout"), True),
    (ConnectionLostError("detached"), True),
    (EventHubError("boom"), False),
    (EventDataError("too large"), False),
    (AuthenticationError("no"), False),
    (ValueError("bug"), False),
])
def test_which_errors_are_transient(exc, transient):
    assert is_transient(exc) is transient


def test_backoff_is_exponential_and_capped(events, tmp_path):
    client = StandInClient(failures=[server_busy()] * 8)
    sink, sleeps = _sink(client, tmp_path, max_retries=8, backoff_base=1.0, backoff_max=5.0,
                         max_wait=3600)
    sink.send(events[:1])
    sink.flush()
    caps = [min(5.0, 2 ** i) for i in range(8)]
    assert all(c / 2 <= s <= c for s, c in zip(sleeps, caps, strict=True))
    assert math.isclose(max(caps), 5.0) and sink.stats.sent == 1
