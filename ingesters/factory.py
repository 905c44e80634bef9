"""Open a sink by name with plain options: what the CLI and `generators.run` call."""

from __future__ import annotations

from pathlib import Path

from ingesters.dead_letter import DeadLetterFile
from ingesters.errors import SinkConfigError
from ingesters.sink import Sink

SINK_NAMES = ("files", "kafka", "eventhubs")
KAFKA_AUTH = ("none", "connection-string", "entra")


def open_sink(
    name: str,
    *,
    dead_letter_path: str | Path | None = None,
    topic: str = "adverse-events",
    # files
    landing_dir: str | Path = ".vigil/landing",
    partitions: int = 4,
    writer: str = "w0",
    file_format: str = "payload",
    # kafka
    bootstrap: str | None = None,
    kafka_auth: str = "none",
    compression: str | None = None,
    create_topic: bool = True,
    # eventhubs (and kafka against Event Hubs)
    namespace: str | None = None,
    connection_string: str | None = None,
    credential=None,
    eventhubs_client=None,
) -> Sink:
    """A ready sink, or SinkConfigError with one line saying what is wrong."""
    dead_letter = DeadLetterFile(dead_letter_path, name) if dead_letter_path else None
    if name == "null":
        from ingesters.null import NullSink

        return NullSink(dead_letter)
    if name == "files":
        from ingesters.files import FileSink

        try:
            return FileSink(landing_dir, topic, partitions=partitions, writer=writer,
                            line_format=file_format, dead_letter=dead_letter)
        except ValueError as exc:
            raise SinkConfigError(str(exc)) from None
    if name == "kafka":
        return _kafka(topic, dead_letter, bootstrap, kafka_auth, compression, create_topic,
                      partitions, namespace, connection_string, credential)
    if name == "eventhubs":
        from ingesters.eventhubs import EventHubsSink, producer_client

        client = eventhubs_client or producer_client(
            topic, namespace=namespace, connection_string=connection_string, credential=credential)
        return EventHubsSink(client, dead_letter=dead_letter)
    raise SinkConfigError(f"unknown sink {name!r}: use one of {', '.join(SINK_NAMES)}")


def _kafka(topic, dead_letter, bootstrap, auth, compression, create_topic, partitions, namespace,
           connection_string, credential):
    from ingesters import kafka_config
    from ingesters.kafka import KafkaSink

    if auth not in KAFKA_AUTH:
        raise SinkConfigError(f"unknown --kafka-auth {auth!r}: use one of {', '.join(KAFKA_AUTH)}")
    if auth == "none":
        if not bootstrap:
            raise SinkConfigError("the kafka sink needs --bootstrap HOST:PORT (or VIGIL_KAFKA_BOOTSTRAP)")
        config = kafka_config.local_config(bootstrap, compression=compression or "lz4")
        return KafkaSink(config, topic, dead_letter=dead_letter,
                         create_partitions=partitions if create_topic else None)
    if not namespace:
        raise SinkConfigError(f"--kafka-auth {auth} needs --namespace (or EVENTHUB_NAMESPACE)")
    if auth == "connection-string":
        if not connection_string:
            raise SinkConfigError("--kafka-auth connection-string needs EVENTHUB_CONNECTION_STRING "
                                  "in the environment")
        config = kafka_config.eventhubs_connection_string_config(namespace, connection_string)
    else:
        from ingesters.azure_auth import check_credential, default_credential, kafka_oauth_callback

        credential = credential or default_credential()
        check_credential(credential, namespace)
        config = kafka_config.eventhubs_entra_config(
            namespace, kafka_oauth_callback(credential, namespace))
    if compression:
        config["compression.type"] = compression
    # an event hub is created with the namespace (Bicep), never by the generator
    return KafkaSink(config, topic, dead_letter=dead_letter, create_partitions=None)
