"""Entra ID tokens for Event Hubs, through DefaultAzureCredential (managed identity, workload
identity, Azure CLI, …). No secret is ever read from a file; a connection string, when used,
comes from the environment."""

from __future__ import annotations

import os

from ingesters.errors import SinkConfigError
from ingesters.kafka_config import fully_qualified_namespace

CONNECTION_STRING_ENV = "EVENTHUB_CONNECTION_STRING"
NAMESPACE_ENV = "EVENTHUB_NAMESPACE"


def eventhubs_scope(namespace: str) -> str:
    return f"https://{fully_qualified_namespace(namespace)}/.default"


def default_credential():
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def check_credential(credential, namespace: str) -> None:
    """Get one token now, so a missing sign-in fails at start with one clear line."""
    try:
        credential.get_token(eventhubs_scope(namespace))
    except Exception as exc:  # azure.identity raises several types; all mean "no usable identity"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SinkConfigError(
            f"no Entra ID token for {fully_qualified_namespace(namespace)} ({first_line}); "
            f"sign in (az login, managed identity) or set {CONNECTION_STRING_ENV}"
        ) from None


def kafka_oauth_callback(credential, namespace: str):
    """A confluent-kafka `oauth_cb`: returns (token, expiry in epoch seconds)."""
    scope = eventhubs_scope(namespace)

    def oauth_cb(_config_str: str):
        token = credential.get_token(scope)
        return token.token, float(token.expires_on)

    return oauth_cb


def namespace_from(option: str | None) -> str | None:
    return option or os.environ.get(NAMESPACE_ENV) or None


def connection_string_from_env() -> str | None:
    return os.environ.get(CONNECTION_STRING_ENV) or None
