"""Event Hubs sink (azure-eventhub, AMQP): EventDataBatch filled to the maximum size.

Every event keeps safetyreportid as its partition key. An EventDataBatch carries one partition
key for all its events, so instead the sink does what the SDK's buffered producer does: it maps
each key to a partition with the service's own hash, fills one batch per partition, and stamps
each event with its partition key. Every version of a report therefore lands on one partition,
in order, and batches stay full.

Contract metadata travel as application properties. A batch that fails with a transient error
(server busy, timeout, lost connection) is retried with exponential backoff; a batch that still
fails, or fails for good, is dead-lettered event by event with the reason.
"""

from __future__ import annotations

import random
import time

from azure.eventhub import EventData, EventDataBatch
from azure.eventhub.exceptions import (
    AuthenticationError,
    ClientClosedError,
    ConnectError,
    ConnectionLostError,
    EventDataSendError,
    EventHubError,
    OperationTimeoutError,
)

from ingesters.dead_letter import DeadLetterFile
from ingesters.errors import SinkConfigError, SinkFatalError
from ingesters.sink import LATENCY_SAMPLE_EVERY, Sink

try:  # the service's key → partition hash, as the SDK's buffered producer uses it
    from azure.eventhub._buffered_producer._partition_resolver import PartitionResolver
except ImportError:  # pragma: no cover - only if the SDK moves it
    PartitionResolver = None

PARTITION_KEY_ANNOTATION = b"x-opt-partition-key"
TRANSIENT_CONDITIONS = ("server-busy", "timeout", "operation-cancelled", "container-close")
MAX_WAIT_SECONDS = 0.25  # a partly filled batch is sent when its oldest event is this old


def is_transient(exc: Exception) -> bool:
    """Worth retrying: the service was busy or the connection failed, not the request itself."""
    if isinstance(exc, AuthenticationError | ClientClosedError):
        return False
    if isinstance(exc, OperationTimeoutError | ConnectionLostError | ConnectError):
        return True
    if isinstance(exc, EventHubError):
        condition = (exc.error or "").lower()
        text = str(exc).lower()
        return any(c in condition or c.replace("-", "") in text.replace(" ", "")
                   for c in TRANSIENT_CONDITIONS) or (
            isinstance(exc, EventDataSendError) and not condition)
    return isinstance(exc, TimeoutError | ConnectionError)


def event_data(event) -> EventData:
    """The SDK event for one generated event: body, properties, partition key annotation."""
    data = EventData(event.payload)
    data.properties = dict(event.headers)
    if event.key is not None:
        message = data.raw_amqp_message
        annotations = dict(message.annotations or {})
        annotations[PARTITION_KEY_ANNOTATION] = event.key
        message.annotations = annotations
    return data


class _Pending:
    __slots__ = ("batch", "events", "starts", "opened")

    def __init__(self, batch: EventDataBatch):
        self.batch = batch
        self.events: list = []
        self.starts: list = []
        self.opened = time.monotonic()


class EventHubsSink(Sink):
    name = "eventhubs"

    def __init__(self, client, *, dead_letter: DeadLetterFile | None = None,
                 max_retries: int = 6, backoff_base: float = 0.5, backoff_max: float = 30.0,
                 max_wait: float = MAX_WAIT_SECONDS, sleep=time.sleep):
        """`client`: an azure.eventhub.EventHubProducerClient (or anything with
        get_partition_ids(), create_batch(partition_id=...), send_batch(batch), close())."""
        super().__init__(dead_letter)
        self.client = client
        self.max_retries = max_retries
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.max_wait = max_wait
        self.sleep = sleep
        self.retries = 0
        self._jitter = random.Random()
        try:
            self.partition_ids = list(client.get_partition_ids())
        except AuthenticationError as exc:
            raise SinkConfigError(f"Event Hubs refused the credential: {_first_line(exc)}") from None
        except EventHubError as exc:
            raise SinkConfigError(f"cannot reach Event Hubs: {_first_line(exc)}") from None
        if not self.partition_ids:
            raise SinkConfigError("the event hub reports no partitions")
        self._resolver = PartitionResolver(self.partition_ids) if PartitionResolver else None
        self._round_robin = 0
        self._pending: dict[str, _Pending] = {}

    def partition_for(self, key: str | None) -> str:
        if key is not None and self._resolver is not None:
            return self._resolver.get_partition_id_by_partition_key(key)
        self._round_robin = (self._round_robin + 1) % len(self.partition_ids)
        return self.partition_ids[self._round_robin]

    def send(self, events, starts=None) -> None:
        now = time.perf_counter
        for i, event in enumerate(events):
            start = (starts[i] if starts is not None else now()) \
                if i % LATENCY_SAMPLE_EVERY == 0 else None
            self._add(event, start)
        self.poll()

    def _add(self, event, start) -> None:
        partition = self.partition_for(event.key)
        data = event_data(event)
        pending = self._pending.get(partition)
        if pending is None:
            pending = self._pending[partition] = _Pending(
                self.client.create_batch(partition_id=partition))
        try:
            pending.batch.add(data)
        except ValueError:
            if pending.events:  # the batch is full: send it and start another
                self._send(partition)
                pending = self._pending[partition] = _Pending(
                    self.client.create_batch(partition_id=partition))
                try:
                    pending.batch.add(data)
                except ValueError:
                    pending = None
            else:
                pending = None
            if pending is None:  # larger than a whole batch may be
                self.fail_event(event, f"eventhubs: event of {len(event.payload)} bytes is larger "
                                       f"than the maximum batch size")
                return
        pending.events.append(event)
        pending.starts.append(start)

    def _send(self, partition: str) -> None:
        pending = self._pending.pop(partition, None)
        if pending is None or not pending.events:
            return
        attempt = 0
        while True:
            try:
                self.client.send_batch(pending.batch)
                break
            except AuthenticationError as exc:
                self._dead_letter_batch(pending, f"eventhubs: credential refused: {_first_line(exc)}")
                raise SinkFatalError(f"Event Hubs refused the credential: {_first_line(exc)}") \
                    from None
            except Exception as exc:
                if is_transient(exc) and attempt < self.max_retries:
                    attempt += 1
                    self.retries += 1
                    delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
                    self.sleep(delay * (0.5 + self._jitter.random() / 2))
                    continue
                kind = "gave up after retries" if is_transient(exc) else "not retryable"
                self._dead_letter_batch(pending, f"eventhubs: {kind}: {type(exc).__name__}: "
                                                 f"{_first_line(exc)}")
                return
        stats = self.stats
        done = time.perf_counter()
        for event, start in zip(pending.events, pending.starts, strict=True):
            stats.sent += 1
            stats.bytes += len(event.payload)
            if start is not None:
                stats.latency.add(done - start)

    def _dead_letter_batch(self, pending: _Pending, reason: str) -> None:
        for event in pending.events:
            self.fail_event(event, reason)

    def poll(self) -> None:
        now = time.monotonic()
        for partition, pending in list(self._pending.items()):
            if pending.events and now - pending.opened >= self.max_wait:
                self._send(partition)

    def flush(self, timeout: float = 30.0) -> None:
        for partition in list(self._pending):
            self._send(partition)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            try:
                self.client.close()
            finally:
                super().close()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def producer_client(eventhub: str, *, namespace: str | None = None,
                    connection_string: str | None = None, credential=None):
    """EventHubProducerClient: Entra ID (DefaultAzureCredential) on the namespace by default, or
    a connection string (from the environment) when given."""
    from azure.eventhub import EventHubProducerClient

    from ingesters.azure_auth import check_credential, default_credential
    from ingesters.kafka_config import fully_qualified_namespace

    if connection_string:
        try:
            return EventHubProducerClient.from_connection_string(connection_string,
                                                                 eventhub_name=eventhub)
        except ValueError as exc:
            raise SinkConfigError(f"EVENTHUB_CONNECTION_STRING is not usable: {exc}") from None
    if not namespace:
        raise SinkConfigError("the eventhubs sink needs --namespace (or EVENTHUB_NAMESPACE) to "
                              "sign in with Entra ID, or EVENTHUB_CONNECTION_STRING")
    credential = credential or default_credential()
    check_credential(credential, namespace)
    return EventHubProducerClient(fully_qualified_namespace=fully_qualified_namespace(namespace),
                                  eventhub_name=eventhub, credential=credential)
