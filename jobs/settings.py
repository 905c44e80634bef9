"""One place where Vigil decides where it runs.

A profile (`local` or `azure`) is chosen once, at the edge — by the `VIGIL_PROFILE`
environment variable, a notebook widget or a CLI flag — and turned into a `Settings`
object. Everything downstream (the SparkSession factory, sources, table locations, the
serving connection) reads its choices from that object and never asks where it runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROFILES = ("local", "azure")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
JVM_DIR = PROJECT_ROOT / ".jvm"
SPARK_JARS_DIR = JVM_DIR / "spark-jars"
KAFKA_JARS_DIR = JVM_DIR / "kafka-jars"
DEFAULT_LOCAL_DATA = PROJECT_ROOT / ".vigil"
ADVERSE_EVENTS_TOPIC = "adverse-events"


class SettingsError(ValueError):
    """A profile or setting that cannot work; the message says how to fix it."""


@dataclass(frozen=True)
class Settings:
    profile: str
    # Root of everything the pipeline writes: Delta tables, checkpoints, landing files.
    data_root: str
    # Kafka bootstrap servers: the local broker, or the Event Hubs Kafka endpoint (:9093).
    kafka_bootstrap: str | None
    topic: str = ADVERSE_EVENTS_TOPIC
    # Extra `kafka.*` options for Spark's Kafka source (SASL settings on Azure).
    kafka_options: dict[str, str] = field(default_factory=dict)
    # Unity Catalog catalog on Azure; tables are addressed by path locally.
    catalog: str | None = None
    # Streaming checkpoints and landing files; under data_root unless set (on Azure each
    # has its own container, as infra/bicep creates them).
    checkpoints: str | None = None
    landing: str | None = None

    @property
    def is_local(self) -> bool:
        return self.profile == "local"

    @property
    def checkpoint_root(self) -> str:
        return self.checkpoints or f"{self.data_root}/checkpoints"

    @property
    def landing_root(self) -> str:
        return self.landing or f"{self.data_root}/landing"

    def table_path(self, name: str) -> str:
        """Storage location of a `<layer>.<subject>` table, e.g. `bronze.adverse_event_raw`."""
        layer, subject = _split_table_name(name)
        return f"{self.data_root}/tables/{layer}/{subject}"

    def table_identifier(self, name: str) -> str:
        """The name Spark SQL reads the table by: a path locally, a UC name on Azure."""
        if self.catalog:
            layer, subject = _split_table_name(name)
            return f"`{self.catalog}`.`{layer}`.`{subject}`"
        return f"delta.`{self.table_path(name)}`"


def _split_table_name(name: str) -> tuple[str, str]:
    layer, dot, subject = name.partition(".")
    if not dot or not layer or not subject or "." in subject:
        raise SettingsError(f"table name {name!r} is not of the form <layer>.<subject>")
    return layer, subject


def settings_for(profile: str | None = None, **overrides: str) -> Settings:
    """Settings for a profile; `profile=None` reads `VIGIL_PROFILE` (default `local`).

    Overrides win over the environment, so tests and notebooks can pin a data root; empty
    ones (a notebook widget left blank) are ignored.
    """
    overrides = {key: value for key, value in overrides.items() if value not in (None, "")}
    profile = (profile or os.environ.get("VIGIL_PROFILE") or "local").strip().lower()
    if profile == "local":
        return _local(**overrides)
    if profile == "azure":
        return _azure(**overrides)
    raise SettingsError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")


def _local(**overrides: str) -> Settings:
    data_root = overrides.pop("data_root", None) or os.environ.get("VIGIL_DATA_ROOT")
    bootstrap = overrides.pop("kafka_bootstrap", None) or os.environ.get("VIGIL_KAFKA_BOOTSTRAP")
    if bootstrap is None:
        bootstrap = _running_local_broker()
    return Settings(
        profile="local",
        data_root=str(Path(data_root or DEFAULT_LOCAL_DATA).resolve()),
        kafka_bootstrap=bootstrap,
        **overrides,
    )


def _running_local_broker() -> str | None:
    """The bootstrap address of a broker started by `scripts.kafka_broker start`, if any."""
    from scripts.kafka_broker import running_broker_bootstrap

    return running_broker_bootstrap()


def _azure(**overrides: str) -> Settings:
    """Azure: ADLS Gen2 + Unity Catalog + Event Hubs' Kafka endpoint.

    Reads the names the Bicep deployment outputs (see docs/DEPLOY.md). Credentials are
    never read here: the Kafka source gets its SASL settings from `jobs.sources`, which
    pulls the secret from a Databricks secret scope or uses Entra ID.
    """

    def need(var: str) -> str:
        value = overrides.pop(var.lower().removeprefix("vigil_"), None) or os.environ.get(var)
        if not value:
            raise SettingsError(f"profile 'azure' needs {var}; set it in the job's environment")
        return value

    namespace = need("VIGIL_EVENTHUB_NAMESPACE")  # e.g. vigil-dev-ehns.servicebus.windows.net
    storage = need("VIGIL_STORAGE_ACCOUNT")
    catalog = overrides.pop("catalog", None) or os.environ.get("VIGIL_CATALOG", "vigil")

    def container(name: str) -> str:
        return f"abfss://{name}@{storage}.dfs.core.windows.net/vigil"

    return Settings(
        profile="azure",
        data_root=overrides.pop("data_root", None) or container("lakehouse"),
        checkpoints=overrides.pop("checkpoints", None) or container("checkpoints"),
        landing=overrides.pop("landing", None) or container("landing"),
        kafka_bootstrap=f"{namespace}:9093",
        catalog=catalog,
        **overrides,
    )
