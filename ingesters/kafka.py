"""Kafka sink (confluent-kafka): a local broker or the Event Hubs Kafka endpoint.

Key = safetyreportid, value = the payload bytes, headers = the contract metadata. Delivery is
asynchronous: `send` queues, librdkafka batches and retries, and a delivery callback counts
each event as sent or dead-letters it with the broker's reason. `flush` waits for all of them.

A delivery report carries the event's key and payload but not its headers (confluent-kafka does
not hand them back, to keep reports cheap); binding each event to its own callback instead
costs the sending thread 2-3 µs an event, a sixth of its time at full speed. So a delivery
failure's dead letter has the key (the report id) and the exact payload, without headers or
vigil_event_seq; an event refused before queueing (e.g. too large) keeps everything.
"""

from __future__ import annotations

import functools
import logging
import socket
import time

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from ingesters.dead_letter import DeadLetterFile
from ingesters.errors import SinkConfigError, SinkFatalError
from ingesters.sink import LATENCY_SAMPLE_EVERY, Sink, seq_of

METADATA_TIMEOUT = 10.0
LOG = logging.getLogger("ingesters.kafka")
LOG.addHandler(logging.NullHandler())
# errors after which no further event can be delivered: stop instead of dead-lettering everything
_FATAL_CODES = {
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError._FATAL,
}


class KafkaSink(Sink):
    name = "kafka"

    def __init__(self, config: dict, topic: str = "adverse-events", *,
                 dead_letter: DeadLetterFile | None = None, create_partitions: int | None = None,
                 check: bool = True):
        """`create_partitions`: create the topic with this many partitions when it is missing
        (local brokers); None: the topic (event hub) must exist."""
        super().__init__(dead_letter)
        self.topic = topic
        self.config = dict(config)
        self._fatal: str | None = None
        self._refused = 0  # events librdkafka refused before queueing them
        if check:
            _check_reachable(self.config.get("bootstrap.servers"))
        # librdkafka's own log lines go to a Python logger, not straight to stderr
        self.producer = Producer({**self.config, "error_cb": self._on_error, "logger": LOG})
        if check:
            self._check_topic(create_partitions)
        # sent = handed to librdkafka − failed − still in flight: a successful delivery report
        # then costs a function call and nothing more
        self._produced = 0
        self._produced_bytes = 0
        self._failed_bytes = 0
        self._delivered_cb = self._on_delivery
        self._produce = self.producer.produce
        self._poll = self.producer.poll

    def _check_topic(self, create_partitions: int | None) -> None:
        where = self.config.get("bootstrap.servers")
        try:
            metadata = self.producer.list_topics(timeout=METADATA_TIMEOUT)
        except KafkaException as exc:
            raise SinkConfigError(
                f"cannot reach Kafka at {where} within {METADATA_TIMEOUT:g} s ({exc.args[0].str()}); "
                "is the broker running? (python -m scripts.kafka_broker start)") from None
        if self._fatal:
            raise SinkConfigError(f"Kafka at {where} refused the connection: {self._fatal}")
        if self.topic in metadata.topics and metadata.topics[self.topic].error is None:
            return
        if create_partitions is None:
            raise SinkConfigError(f"topic (event hub) {self.topic!r} does not exist at {where}")
        admin = AdminClient({**{k: v for k, v in self.config.items()
                                if k in ("bootstrap.servers", "security.protocol", "sasl.mechanism",
                                         "sasl.username", "sasl.password", "oauth_cb")},
                             "logger": LOG})
        futures = admin.create_topics([NewTopic(self.topic, num_partitions=create_partitions,
                                                replication_factor=1)])
        try:
            futures[self.topic].result(timeout=METADATA_TIMEOUT)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise SinkConfigError(f"cannot create topic {self.topic!r} at {where}: "
                                      f"{exc.args[0].str()}") from None

    # --- callbacks (served by poll/flush, on this thread)
    def _on_error(self, err: KafkaError) -> None:
        if err.code() in _FATAL_CODES or err.fatal():
            self._fatal = err.str()

    def _on_delivery(self, err: KafkaError | None, msg) -> None:
        if err is not None:
            self._dead_letter(msg, err)

    def _on_delivery_timed(self, start: float, err: KafkaError | None, msg) -> None:
        if err is None:
            self.stats.latency.add(time.perf_counter() - start)
        else:
            self._dead_letter(msg, err)

    def _dead_letter(self, msg, err: KafkaError) -> None:
        headers = msg.headers()
        self._failed_bytes += len(msg)
        self.fail(f"kafka: {err.name()}: {err.str()}", key=msg.key(), headers=headers,
                  payload=msg.value(), seq=seq_of(headers))

    def _update_counts(self) -> None:
        in_flight = len(self.producer)
        self.stats.sent = self._produced - self._delivery_failures - in_flight
        self.stats.bytes = self._produced_bytes - self._failed_bytes

    @property
    def _delivery_failures(self) -> int:
        return self.stats.failed - self._refused

    # --- delivery
    def send(self, events, starts=None) -> None:
        if self._fatal:
            raise SinkFatalError(f"Kafka stopped accepting events: {self._fatal}")
        produce, poll, topic = self._produce, self._poll, self.topic
        delivered = self._delivered_cb
        timed = self._on_delivery_timed
        now = time.perf_counter
        produced = produced_bytes = 0  # locals in the loop; added to the totals once
        try:
            for i, event in enumerate(events):
                if i % LATENCY_SAMPLE_EVERY:
                    callback = delivered
                else:
                    callback = functools.partial(timed, starts[i] if starts is not None else now())
                payload = event.payload
                while True:
                    try:
                        produce(topic, payload, event.key, headers=event.headers,
                                on_delivery=callback)
                        produced += 1
                        produced_bytes += len(payload)
                        break
                    except BufferError:
                        poll(0.05)  # the local queue is full: let deliveries drain it
                    except KafkaException as exc:  # refused before queueing, e.g. too large
                        error = exc.args[0]
                        self._refused += 1
                        self.fail_event(event, f"kafka: {error.name()}: {error.str()}")
                        break
        finally:
            self._produced += produced
            self._produced_bytes += produced_bytes
        poll(0)
        self._update_counts()

    def poll(self) -> None:
        self._poll(0)
        self._update_counts()
        if self._fatal:
            raise SinkFatalError(f"Kafka stopped accepting events: {self._fatal}")

    def flush(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = self.producer.flush(max(0.0, min(1.0, deadline - time.monotonic())))
            if remaining == 0 or time.monotonic() >= deadline:
                break
        if remaining:
            # librdkafka still holds them; purge so their callbacks dead-letter them
            self.producer.purge(in_queue=True, in_flight=True)
            self.producer.flush(5.0)
        self._update_counts()

    @property
    def pending(self) -> int:
        return len(self.producer)

    def close(self) -> None:
        try:
            close = getattr(self.producer, "close", None)
            if close is not None:
                close()  # stop librdkafka's threads now, not whenever the object is collected
        finally:
            super().close()


def _check_reachable(bootstrap: str | None, timeout: float = 3.0) -> None:
    """Fail fast, with one line, when no bootstrap server accepts a TCP connection."""
    servers = [s.strip() for s in (bootstrap or "").split(",") if s.strip()]
    if not servers:
        raise SinkConfigError("no Kafka bootstrap servers given (--bootstrap HOST:PORT)")
    problems = []
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise SinkConfigError(f"bootstrap server {server!r} is not HOST:PORT")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return
        except OSError as exc:
            problems.append(f"{server}: {exc.strerror or exc}")
    raise SinkConfigError(f"cannot reach Kafka ({'; '.join(problems)}); is the broker running? "
                          "(python -m scripts.kafka_broker start)")
