"""librdkafka settings for the local broker and for the Event Hubs Kafka endpoint.

Delivery is idempotent with acks=all (no duplicates or reordering from producer retries), keyed
by safetyreportid. Event Hubs' Kafka endpoint listens on port 9093 over SASL_SSL, takes either
PLAIN with the literal user name "$ConnectionString" and a connection string as password, or
OAUTHBEARER with an Entra ID token, and accepts gzip compression only.
"""

from __future__ import annotations

EVENTHUBS_KAFKA_PORT = 9093
EVENTHUBS_DOMAIN = ".servicebus.windows.net"

# throughput settings: large batches, a short linger, a deep local queue
_COMMON = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "message.max.bytes": 1_000_000,
    "message.timeout.ms": 120_000,
    "client.id": "vigil-generator",
}


def fully_qualified_namespace(namespace: str) -> str:
    """'myns' or 'myns.servicebus.windows.net' (optionally with a scheme or port) → the FQDN."""
    host = namespace.strip()
    for prefix in ("sb://", "https://", "amqps://"):
        host = host.removeprefix(prefix)
    host = host.split("/")[0].split(":")[0]
    return host if "." in host else host + EVENTHUBS_DOMAIN


def local_config(bootstrap: str, *, compression: str = "lz4") -> dict:
    """A local or self-managed Kafka broker without authentication."""
    return {**_COMMON, "bootstrap.servers": bootstrap, "compression.type": compression}


def eventhubs_connection_string_config(namespace: str, connection_string: str) -> dict:
    """Event Hubs Kafka endpoint, SASL PLAIN with a connection string (from the environment)."""
    return {
        **_eventhubs_common(namespace),
        "sasl.mechanism": "PLAIN",
        "sasl.username": "$ConnectionString",
        "sasl.password": connection_string,
    }


def eventhubs_entra_config(namespace: str, token_callback) -> dict:
    """Event Hubs Kafka endpoint, SASL OAUTHBEARER; `token_callback(config_str)` returns
    (access_token, expiry_epoch_seconds), see ingesters.azure_auth.kafka_oauth_callback."""
    return {**_eventhubs_common(namespace), "sasl.mechanism": "OAUTHBEARER",
            "oauth_cb": token_callback}


def _eventhubs_common(namespace: str) -> dict:
    return {
        **_COMMON,
        "bootstrap.servers": f"{fully_qualified_namespace(namespace)}:{EVENTHUBS_KAFKA_PORT}",
        "security.protocol": "SASL_SSL",
        "compression.type": "gzip",
        # Event Hubs closes idle connections after 240 s and limits request size to 1 MB
        "socket.keepalive.enable": True,
        "metadata.max.age.ms": 180_000,
        "connections.max.idle.ms": 180_000,
        "request.timeout.ms": 60_000,
    }


def redacted(config: dict) -> dict:
    """The config with secrets and callbacks hidden, for logs and summaries."""
    return {k: ("***" if k in ("sasl.password",) else "<callback>" if callable(v) else v)
            for k, v in config.items()}
