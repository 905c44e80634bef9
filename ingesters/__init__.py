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

from generators import speedups

speedups.install()  # before ingesters.kafka loads: its compiled build, when current

from ingesters.errors import SinkConfigError, SinkFatalError  # noqa: E402
from ingesters.factory import SINK_NAMES, open_sink  # noqa: E402
from ingesters.sink import Sink  # noqa: E402
from ingesters.stats import DeliveryStats  # noqa: E402

__all__ = ["SINK_NAMES", "DeliveryStats", "Sink", "SinkConfigError", "SinkFatalError", "open_sink"]
