"""The local KRaft broker: starts, answers, refuses a taken port, reports a failed start."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.settings import PROJECT_ROOT
from scripts.kafka_broker import BrokerError, KafkaBroker, answers_metadata, port_is_free

pytestmark = pytest.mark.kafka


def test_fixture_broker_answers_and_started_in_time(kafka_broker):
    assert kafka_broker.bootstrap.startswith("127.0.0.1:")
    assert answers_metadata(kafka_broker.bootstrap)
    print(f"broker start: {kafka_broker.startup_seconds:.1f} s")
    # The ceiling on this machine; the benchmark-free sanity bound, not a speed test.
    assert kafka_broker.startup_seconds < 30


def test_taken_port_is_refused_with_the_fix(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is already in use.*--port"):
            KafkaBroker(data_dir=tmp_path, port=port).start()
        result = subprocess.run(
            [sys.executable, "-m", "scripts.kafka_broker", "start", "--port", str(port),
             "--data-dir", str(tmp_path)],
            cwd=PROJECT_ROOT, capture_output=True, text=True,
        )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "already in use" in result.stderr


def test_a_port_left_in_time_wait_by_a_stopped_broker_is_free():
    """`make kafka-stop && make kafka-start` on a fixed port: the stopped broker's accepted
    connections linger in TIME_WAIT for a minute, and the new broker can bind anyway."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    assert not port_is_free(port)  # listening
    accepted.close()  # the server side closes first: its end waits in TIME_WAIT
    client.close()
    listener.close()
    # /proc/net/tcp: local address is column 2 (hex ip:port), state column 4 (06 = TIME_WAIT)
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    assert any(r[1].endswith(f":{port:04X}") and r[3] == "06" for r in rows)
    assert port_is_free(port)


@pytest.mark.slow
def test_cli_start_status_stop_and_a_broker_that_dies_while_starting(tmp_path):
    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "scripts.kafka_broker", *args, "--data-dir", str(tmp_path)],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        )

    started = cli("start")
    assert started.returncode == 0, started.stderr
    bootstrap = started.stdout.strip()
    assert answers_metadata(bootstrap)
    assert cli("status").stdout.startswith(f"kafka broker running on {bootstrap}")
    assert cli("start").stdout.strip() == bootstrap  # idempotent: the same broker
    assert cli("stop").stdout.strip() == "kafka broker stopped"
    assert not answers_metadata(bootstrap)
    status = cli("status")
    assert status.returncode == 1 and status.stdout.strip() == "kafka broker is not running"

    # Storage is formatted now; a JVM that cannot start must be reported, not waited on.
    with pytest.raises(BrokerError, match="exited with code .* while starting; see"):
        KafkaBroker(data_dir=tmp_path, heap="1k").start(timeout=30)


def test_cluster_ids_never_start_with_a_dash(monkeypatch):
    """The storage tool reads '-t -abc…' as an option: one random id in 64 used to fail it."""
    import uuid

    from scripts import kafka_broker

    dash_first = uuid.UUID(bytes=b"\xfb" + bytes(15))  # base64 of 0xfb… starts with '-'
    draws = iter([dash_first, uuid.UUID(int=7)])
    monkeypatch.setattr(kafka_broker.uuid, "uuid4", lambda: next(draws))
    cluster_id = kafka_broker._cluster_id()
    assert not cluster_id.startswith("-") and len(cluster_id) == 22
