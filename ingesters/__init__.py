"""Sinks that deliver generated events: Event Hubs, Kafka, landing files (and a null sink).

    from ingesters import open_sink
    sink = open_sink("kafka", bootstrap="127.0.0.1:9092", topic="adverse-events",
                     dead_letter_path=".vigil/dead-letter/kafka.jsonl")
    sink.send(events)        # generators.event.Event instances
    sink.flush()
    sink.close()
    sink.stats               # sent, failed, dead-lettered, bytes, latency percentiles

Nothing is lost silently: an event a sink cannot deliver goes to the dead-letter file with the
reason, and is counted.
"""

from ingesters.errors import SinkConfigError, SinkFatalError
from ingesters.factory import SINK_NAMES, open_sink
from ingesters.sink import Sink
from ingesters.stats import DeliveryStats

__all__ = ["SINK_NAMES", "DeliveryStats", "Sink", "SinkConfigError", "SinkFatalError", "open_sink"]
