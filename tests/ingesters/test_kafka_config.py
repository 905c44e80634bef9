"""librdkafka settings: local broker, and Event Hubs' Kafka endpoint with a connection string
(SASL PLAIN) or an Entra ID token (OAUTHBEARER). librdkafka itself checks every key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from confluent_kafka import Producer

from ingesters.azure_auth import check_credential, eventhubs_scope, kafka_oauth_callback
from ingesters.errors import SinkConfigError
from ingesters.kafka import LOG
from ingesters.kafka_config import (
    eventhubs_connection_string_config,
    eventhubs_entra_config,
    fully_qualified_namespace,
    local_config,
    redacted,
)

CONNECTION = ("Endpoint=sb://vigil-ns.servicebus.windows.net/;SharedAccessKeyName=send;"
              "SharedAccessKey=c2VjcmV0")


class FakeCredential:
    def __init__(self, fail: Exception | None = None):
        self.scopes: list[str] = []
        self.fail = fail

    def get_token(self, scope):
        self.scopes.append(scope)
        if self.fail:
            raise self.fail
        return SimpleNamespace(token="eyJ0eXAi.fake", expires_on=1_900_000_000)


@pytest.mark.parametrize(("given", "fqdn"), [
    ("vigil-ns", "vigil-ns.servicebus.windows.net"),
    ("vigil-ns.servicebus.windows.net", "vigil-ns.servicebus.windows.net"),
    ("sb://vigil-ns.servicebus.windows.net/", "vigil-ns.servicebus.windows.net"),
    ("vigil-ns.servicebus.windows.net:9093", "vigil-ns.servicebus.windows.net"),
])
def test_namespace_to_fqdn(given, fqdn):
    assert fully_qualified_namespace(given) == fqdn


def test_local_broker_config_is_idempotent_acks_all_compressed():
    config = local_config("127.0.0.1:9092")
    assert config["bootstrap.servers"] == "127.0.0.1:9092"
    assert config["enable.idempotence"] is True and config["acks"] == "all"
    assert config["compression.type"] == "lz4"


def test_event_hubs_connection_string_config():
    config = eventhubs_connection_string_config("vigil-ns", CONNECTION)
    assert config["bootstrap.servers"] == "vigil-ns.servicebus.windows.net:9093"
    assert config["security.protocol"] == "SASL_SSL" and config["sasl.mechanism"] == "PLAIN"
    assert config["sasl.username"] == "$ConnectionString"
    assert config["sasl.password"] == CONNECTION
    assert config["compression.type"] == "gzip", "Event Hubs accepts gzip only"
    assert redacted(config)["sasl.password"] == "***"


def test_event_hubs_entra_config_and_token_callback():
    credential = FakeCredential()
    callback = kafka_oauth_callback(credential, "vigil-ns")
    config = eventhubs_entra_config("vigil-ns", callback)
    assert config["sasl.mechanism"] == "OAUTHBEARER" and config["oauth_cb"] is callback
    token, expiry = callback("")
    assert token == "eyJ0eXAi.fake" and expiry == 1_900_000_000.0
    assert credential.scopes == ["https://vigil-ns.servicebus.windows.net/.default"]
    assert redacted(config)["oauth_cb"] == "<callback>"


@pytest.mark.parametrize("config", [
    local_config("127.0.0.1:1"),
    eventhubs_connection_string_config("vigil-ns", CONNECTION),
    eventhubs_entra_config("vigil-ns", lambda _: ("t", 1_900_000_000.0)),
])
def test_librdkafka_accepts_every_setting(config):
    producer = Producer({**config, "logger": LOG})  # raises on an unknown or bad setting
    producer.close()


def test_a_missing_sign_in_is_one_clear_config_error():
    with pytest.raises(SinkConfigError) as caught:
        check_credential(FakeCredential(fail=RuntimeError("DefaultAzureCredential failed to "
                                                          "retrieve a token\nmore detail")),
                         "vigil-ns")
    message = str(caught.value)
    assert "\n" not in message and "EVENTHUB_CONNECTION_STRING" in message
    assert eventhubs_scope("vigil-ns") == "https://vigil-ns.servicebus.windows.net/.default"
