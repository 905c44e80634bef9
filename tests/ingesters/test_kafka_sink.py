"""Kafka sink against the real local KRaft broker: every event arrives once, with its key,
headers and exact bytes; what the broker refuses is dead-lettered and the exit code says so."""

from __future__ import annotations

import base64
import time
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from generators import contract, run
from generators.ground_truth import read_manifest
from generators.scenario import load_scenario, scenario_from_dict
from generators.stream import generate
from ingesters.dead_letter import read_dead_letters

pytestmark = pytest.mark.kafka


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    messages = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                if msg.error() is None:
                    messages.append(msg)
        # and nothing more arrives
        messages += [m for m in consumer.consume(num_messages=100, timeout=2.0) if not m.error()]
    finally:
        consumer.close()
    return messages


def test_every_event_arrives_with_key_headers_and_bytes(kafka_broker, tmp_path):
    topic = f"adverse-events-{uuid.uuid4().hex[:8]}"
    scenario = load_scenario("demo").with_overrides(reports=800)
    summary = run(scenario, sink="kafka", bootstrap=kafka_broker.bootstrap, topic=topic, seed=11,
                  manifest=str(tmp_path / "gt.jsonl"), dead_letter=str(tmp_path / "dl.jsonl"))
    expected = {e.seq: e for e in generate(scenario, seed=11)}
    assert summary.exit_code == 0 and summary.failed == 0
    assert summary.sent == len(expected) == summary.generated
    assert summary.latency_ms["p50"] is not None

    messages = consume_all(kafka_broker.bootstrap, topic, summary.sent)
    assert len(messages) == summary.sent, "each event exactly once"
    partitions_of: dict[bytes, set[int]] = {}
    for msg in messages:
        headers = {k: v.decode() for k, v in msg.headers()}
        event = expected[int(headers[contract.H_EVENT_SEQ])]
        assert headers == event.headers
        assert msg.value() == event.payload  # faulty payloads too, byte for byte
        assert msg.key() == (event.key.encode() if event.key else None)
        if msg.key():
            partitions_of.setdefault(msg.key(), set()).add(msg.partition())
    assert all(len(p) == 1 for p in partitions_of.values()), "a report's versions share a partition"
    metadata = AdminClient({"bootstrap.servers": kafka_broker.bootstrap}).list_topics(topic)
    assert len(metadata.topics[topic].partitions) == 4, "the sink created the topic"


def test_an_event_the_broker_refuses_is_dead_lettered_and_exit_code_3(kafka_broker, tmp_path):
    topic = f"adverse-events-{uuid.uuid4().hex[:8]}"
    scenario = scenario_from_dict({
        "name": "oversize", "background": {"reports": 50},
        "anomalies": [{"type": "data_faults", "counts": {"oversize": 1, "empty_payload": 1}}],
    })
    summary = run(scenario, sink="kafka", bootstrap=kafka_broker.bootstrap, topic=topic, seed=11,
                  manifest=str(tmp_path / "gt.jsonl"), dead_letter=str(tmp_path / "dl.jsonl"))
    assert summary.exit_code == 3
    assert summary.failed == summary.dead_lettered == 1
    assert summary.sent == summary.generated - 1
    assert summary.dead_letter_files == [str(tmp_path / "dl.jsonl")]
    (letter,) = read_dead_letters(tmp_path / "dl.jsonl")
    assert "MSG_SIZE_TOO_LARGE" in letter["reason"]
    oversize = [line for line in read_manifest(tmp_path / "gt.jsonl")
                if line["params"].get("kind") == "oversize"]
    assert [letter["vigil_event_seq"]] == oversize[0]["event_seqs"]
    assert len(base64.b64decode(letter["payload_base64"])) > 1_000_000
    assert len(consume_all(kafka_broker.bootstrap, topic, summary.sent)) == summary.sent


def _events(count: int) -> list:
    scenario = load_scenario("load_test").with_overrides(reports=count)
    return [e for e in generate(scenario, seed=5)][:count]


def test_one_event_in_sixteen_is_timed(kafka_broker):
    from ingesters.kafka import KafkaSink
    from ingesters.kafka_config import local_config
    from ingesters.sink import LATENCY_SAMPLE_EVERY

    topic = f"adverse-events-{uuid.uuid4().hex[:8]}"
    events = _events(100)
    with KafkaSink(local_config(kafka_broker.bootstrap), topic, create_partitions=2) as sink:
        sink.send(events)
        sink.flush(30)
        assert (sink.stats.sent, sink.stats.failed) == (100, 0)
        assert sink.stats.latency.seen == -(-100 // LATENCY_SAMPLE_EVERY)
    got = consume_all(kafka_broker.bootstrap, topic, 100)
    assert sorted(m.value() for m in got) == sorted(e.payload for e in events)


def test_deliveries_that_fail_after_queueing_are_dead_lettered(tmp_path):
    """Nothing listens on the port: every queued event times out and is dead-lettered with the
    reason, its key and its exact payload (delivery reports carry no headers, see the sink)."""
    import socket

    from ingesters.dead_letter import DeadLetterFile
    from ingesters.kafka import KafkaSink
    from ingesters.kafka_config import local_config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    config = {**local_config(closed), "message.timeout.ms": 1500}
    events = _events(40)
    sink = KafkaSink(config, "nowhere", dead_letter=DeadLetterFile(tmp_path / "dl.jsonl", "kafka"),
                     check=False)
    sink.send(events)
    sink.flush(20)
    sink.close()
    assert (sink.stats.sent, sink.stats.failed) == (0, 40)
    letters = read_dead_letters(tmp_path / "dl.jsonl")
    assert sorted((x["key"], base64.b64decode(x["payload_base64"])) for x in letters) == sorted(
        (e.key, e.payload) for e in events)
    assert all("timed out" in x["reason"].lower() for x in letters)
