"""A single-node Kafka broker in KRaft mode, from the Maven-resolved jars in .jvm/kafka-jars.

Used three ways: `python -m scripts.kafka_broker start|stop|status` (also `make kafka-start`),
the demo, and the session-scoped `kafka_broker` pytest fixture. It listens on loopback
only, on a free port unless one is asked for, and keeps its data in one folder.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from jobs.settings import DEFAULT_LOCAL_DATA, KAFKA_JARS_DIR, PROJECT_ROOT
from scripts.prereqs import MIN_JAVA, java_major

LOG4J_CONFIG = PROJECT_ROOT / "jvm" / "log4j2-kafka.properties"
DEFAULT_DATA_DIR = DEFAULT_LOCAL_DATA / "kafka"
STATE_FILE = "broker.json"
HOST = "127.0.0.1"


class BrokerError(RuntimeError):
    """The broker cannot start or be reached; the message names the problem and the fix."""


@dataclass
class KafkaBroker:
    data_dir: Path
    port: int | None = None  # None: pick a free loopback port
    controller_port: int | None = None
    partitions: int = 4
    heap: str = "512m"
    process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def start(self, timeout: float = 30.0) -> str:
        """Start the broker and return its bootstrap address once it answers metadata requests."""
        java = require_java()
        jars = require_broker_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self._claim_port(self.port)
        self.controller_port = self._claim_port(self.controller_port)
        props = self._write_properties()
        classpath = f"{jars}{os.sep}*"
        jvm_opts = [
            f"-Xmx{self.heap}",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}",
            f"-Dvigil.kafka.log={self.log_file}",
        ]
        if not (self.data_dir / "logs" / "meta.properties").exists():
            fmt = subprocess.run(
                [java, *jvm_opts, "-cp", classpath, "kafka.tools.StorageTool", "format",
                 "-t", _cluster_id(), "-c", str(props)],
                capture_output=True, text=True,
            )
            if fmt.returncode != 0:
                detail = (fmt.stderr or fmt.stdout).strip().splitlines()[-1:] or ["no output"]
                raise BrokerError(f"formatting the broker's storage failed: {detail[0]}")
        with open(self.data_dir / "broker.out", "ab") as out:
            self.process = subprocess.Popen(
                [java, *jvm_opts, "-cp", classpath, "kafka.Kafka", str(props)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the terminal goes to us, not the broker
            )
        self._wait_ready(timeout)
        return self.bootstrap

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        _terminate(self.process.pid, timeout, wait=self.process.wait)
        self.process = None

    def _claim_port(self, port: int | None) -> int:
        if port is None:
            return free_port()
        if not port_is_free(port):
            raise BrokerError(
                f"port {port} on {HOST} is already in use; stop what holds it "
                f"(`python -m scripts.kafka_broker stop`) or choose another with --port"
            )
        return port

    def _write_properties(self) -> Path:
        props = self.data_dir / "server.properties"
        props.write_text(
            "\n".join([
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{HOST}:{self.controller_port}",
                f"listeners=PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://{HOST}:{self.port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={self.data_dir / 'logs'}",
                f"num.partitions={self.partitions}",
                # One node: internal topics cannot have more than one replica.
                "offsets.topic.replication.factor=1",
                "share.coordinator.state.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                # Room for the pipeline's oversize-payload tests (Event Hubs allows 1 MB).
                "message.max.bytes=4194304",
                "",
            ])
        )
        return props

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(
                    f"the Kafka broker exited with code {self.process.returncode} while starting; "
                    f"see {self.log_file} and {self.data_dir / 'broker.out'}"
                )
            if answers_metadata(self.bootstrap):
                return
            time.sleep(0.2)
        self.stop()
        raise BrokerError(
            f"the Kafka broker did not answer on {self.bootstrap} within {timeout:.0f} s; "
            f"see {self.log_file}"
        )


def answers_metadata(bootstrap: str, timeout: float = 2.0) -> bool:
    """True once the broker accepts connections and serves cluster metadata."""
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            pass
    except OSError:
        return False
    from confluent_kafka.admin import AdminClient

    try:
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        return bool(admin.list_topics(timeout=timeout).brokers)
    except Exception:  # not ready yet: KafkaException, timeouts
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens on the port. Connections of a stopped broker in TIME_WAIT do not count:
    the broker binds with SO_REUSEADDR (as Java does), so the check does too."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def require_java() -> str:
    """The java executable (JAVA_HOME first, as Spark does), checked to be version 17+."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home, "bin", "java")) if java_home else "java"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, PermissionError):
        raise BrokerError("Java was not found; install a JDK 17 or newer (e.g. openjdk-17-jdk)") from None
    version = java_major(out.stderr + out.stdout)
    if version is None or version < MIN_JAVA:
        raise BrokerError(
            f"Java {version or '?'} found at {java}; Kafka and Spark need Java {MIN_JAVA}+ "
            f"— install a newer JDK or point JAVA_HOME at one"
        )
    return java


def require_broker_jars() -> Path:
    if not any(KAFKA_JARS_DIR.glob("kafka_2.13-*.jar")):
        raise BrokerError(f"the Kafka broker jars are missing from {KAFKA_JARS_DIR}; run `make setup`")
    return KAFKA_JARS_DIR


def _cluster_id() -> str:
    """A random Kafka cluster id (URL-safe base64 of a UUID). Like Kafka's Uuid.randomUuid, never
    one starting with '-', which the storage tool would read as an option (1 start in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _terminate(pid: int, timeout: float, wait=None) -> None:
    """SIGTERM (the broker shuts down cleanly), then SIGKILL if it does not exit in time."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wait is not None:
            try:
                wait(timeout=0.2)
                return
            except subprocess.TimeoutExpired:
                continue
        if not _alive(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) still answers kill(0); check /proc where there is one.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


# --- the CLI's detached broker, remembered in a state file so `stop` and `status` find it ---

def _state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def read_state(data_dir: Path = DEFAULT_DATA_DIR) -> dict | None:
    try:
        state = json.loads(_state_path(data_dir).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state if _alive(state["pid"]) else None


def running_broker_bootstrap(data_dir: Path = DEFAULT_DATA_DIR) -> str | None:
    state = read_state(data_dir)
    return state["bootstrap"] if state else None


def cli_start(data_dir: Path, port: int | None) -> str:
    state = read_state(data_dir)
    if state and answers_metadata(state["bootstrap"]):
        return state["bootstrap"]
    broker = KafkaBroker(data_dir=data_dir, port=port)
    started = time.monotonic()
    bootstrap = broker.start()
    seconds = round(time.monotonic() - started, 2)
    state = {"pid": broker.process.pid, "bootstrap": bootstrap, "started_in_s": seconds}
    _state_path(data_dir).write_text(json.dumps(state))
    return bootstrap


def cli_stop(data_dir: Path) -> bool:
    state = read_state(data_dir)
    if state is None:
        return False
    _terminate(state["pid"], timeout=20.0)
    _state_path(data_dir).unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.kafka_broker", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=None, help="loopback port (default: a free one)")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"default: {DEFAULT_DATA_DIR}"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            started = time.monotonic()
            bootstrap = cli_start(args.data_dir, args.port)
            print(bootstrap)
            print(f"kafka broker ready on {bootstrap} in {time.monotonic() - started:.1f} s "
                  f"(data: {args.data_dir})", file=sys.stderr)
        elif args.command == "stop":
            print("kafka broker stopped" if cli_stop(args.data_dir) else "kafka broker was not running")
        else:
            state = read_state(args.data_dir)
            if state is None:
                print("kafka broker is not running")
                return 1
            print(f"kafka broker running on {state['bootstrap']} (pid {state['pid']})")
    except BrokerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
