"""Fixtures shared by the whole suite: one SparkSession, one Kafka broker, the shared folder.

Spark and Kafka are real (local[*] with Delta; a KRaft broker from the Maven jars), started
once per session, with their data in a temporary folder so tests never touch `.vigil/`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from jobs.settings import PROJECT_ROOT, Settings

SHARED_DIR = Path(os.environ.get("VIGIL_SHARED", PROJECT_ROOT.parent / "shared")).resolve()


def shared_file(relative: str) -> Path:
    """A file from the shared folder beside the repo; skips the test where it is absent."""
    path = SHARED_DIR / relative
    if not path.exists():
        pytest.skip(
            f"{path} is absent: it ships in the Vigil project's shared folder "
            f"(set VIGIL_SHARED to where it is)"
        )
    return path


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("vigil-data")


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """A real single-node KRaft broker on a free loopback port; `.bootstrap` is its address."""
    from scripts.kafka_broker import KafkaBroker

    broker = KafkaBroker(data_dir=tmp_path_factory.mktemp("kafka"))
    started = time.monotonic()
    broker.start()
    broker.startup_seconds = time.monotonic() - started
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def settings(data_root) -> Settings:
    """Local settings over the session's temporary data root, with no event transport."""
    return Settings(profile="local", data_root=str(data_root), kafka_bootstrap=None)


@pytest.fixture(scope="session")
def spark(data_root):
    from jobs.runtime import get_spark

    session = get_spark(Settings(profile="local", data_root=str(data_root), kafka_bootstrap=None),
                        app_name="vigil-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def kafka_settings(data_root, kafka_broker) -> Settings:
    return Settings(profile="local", data_root=str(data_root), kafka_bootstrap=kafka_broker.bootstrap)
