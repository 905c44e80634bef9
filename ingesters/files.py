"""Landing files: JSON lines in an Event Hubs Capture-like layout.

    <landing>/<hub>/<partition>/<yyyy>/<mm>/<dd>/<hh>/<mm><ss>-<writer>-<n>.jsonl

The time in the path is the arrival time of the file's first event (simulated when the run is
seeded, so a seeded run writes the same files byte for byte).

Two line formats:
- "payload" (default, what jobs.sources reads): each line is the event's payload, as is. Headers
  are not kept; a faulty payload is written as the bytes it is (it never contains a newline).
- "envelope": each line keeps the metadata too, with Capture's field names:
      {"SequenceNumber": 0, "Offset": "0", "EnqueuedTimeUtc": "2025-01-01T00:02:31.200Z",
       "SystemProperties": {"x-opt-partition-key": "50000009"},
       "Properties": {"event_type": "adverse_event", …, "vigil_event_seq": "0"},
       "Body": "<payload, base64>"}
  Body is base64 so that any bytes survive; unbase64(col("Body")) gives exactly what Kafka or
  Event Hubs would have delivered.

A file is written under a hidden temporary name (".…jsonl.tmp", which Spark's file source
ignores) and renamed when complete, so readers only ever see whole files.
"""

from __future__ import annotations

import base64
import os
import time
import zlib
from pathlib import Path

import orjson

from generators.clock import IsoTimestamps
from ingesters.dead_letter import DeadLetterFile
from ingesters.sink import LATENCY_SAMPLE_EVERY, Sink

DEFAULT_PARTITIONS = 4
MAX_EVENTS_PER_FILE = 10_000
ROLL_SECONDS = 5.0  # a file open this long (wall clock) is completed, so readers see progress
LINE_FORMATS = ("payload", "envelope")


class _OpenFile:
    __slots__ = ("final", "tmp", "handle", "events", "hour", "opened")

    def __init__(self, final: Path, tmp: Path, hour: int):
        self.final, self.tmp, self.hour = final, tmp, hour
        self.handle = None
        self.events = 0
        self.opened = time.monotonic()

    def open(self) -> None:
        self.tmp.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.tmp, "wb")  # noqa: SIM115 - closed in FileSink._complete


def partition_for(key: str | None, seq: int, partitions: int) -> int:
    """A stable partition for a key (crc32), or by sequence number for events without a key."""
    if key is None:
        return seq % partitions
    return zlib.crc32(key.encode()) % partitions


class FileSink(Sink):
    name = "files"

    def __init__(self, landing_dir: str | Path, hub: str = "adverse-events", *,
                 partitions: int = DEFAULT_PARTITIONS, writer: str = "w0",
                 max_events_per_file: int = MAX_EVENTS_PER_FILE,
                 roll_seconds: float = ROLL_SECONDS, durable: bool = False,
                 line_format: str = "payload", dead_letter: DeadLetterFile | None = None):
        """`durable`: fsync each file before renaming it (survives a power cut; slower). The
        rename alone already guarantees readers never see a partial file."""
        super().__init__(dead_letter)
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        if line_format not in LINE_FORMATS:
            raise ValueError(f"line format must be one of {', '.join(LINE_FORMATS)}")
        self.envelope = line_format == "envelope"
        self.root = Path(landing_dir) / hub
        self.partitions = partitions
        self.writer = writer
        self.max_events_per_file = max_events_per_file
        self.roll_seconds = roll_seconds
        self.durable = durable
        self._open: dict[int, _OpenFile] = {}
        self._sequence = [0] * partitions
        self._files_made = 0
        self._stamp = IsoTimestamps()
        self.completed: list[Path] = []

    def _file_for(self, partition: int, when: float) -> _OpenFile:
        hour = int(when // 3600)
        current = self._open.get(partition)
        if current is not None and (current.hour != hour
                                    or current.events >= self.max_events_per_file):
            self._complete(partition)
            current = None
        if current is None:
            t = time.gmtime(when)
            folder = (self.root / str(partition) / f"{t.tm_year:04d}" / f"{t.tm_mon:02d}"
                      / f"{t.tm_mday:02d}" / f"{t.tm_hour:02d}")
            name = f"{t.tm_min:02d}{t.tm_sec:02d}-{self.writer}-{self._files_made:06d}.jsonl"
            self._files_made += 1
            # known before it is opened, so that a Ctrl-C between the two leaves nothing behind
            current = self._open[partition] = _OpenFile(folder / name, folder / f".{name}.tmp",
                                                        hour)
            current.open()
        return current

    def _complete(self, partition: int) -> None:
        """Renames a partition's open file to its final name. Safe to repeat: the file leaves
        `_open` only once renamed, so a Ctrl-C anywhere in here leaves it for `close()` to
        finish rather than a `.tmp` file behind."""
        done = self._open.get(partition)
        if done is None:
            return
        if done.handle is not None:
            if not done.handle.closed:
                done.handle.flush()
                if self.durable:
                    os.fsync(done.handle.fileno())
                done.handle.close()
            if done.tmp.exists():
                os.replace(done.tmp, done.final)
            if not self.completed or self.completed[-1] != done.final:
                self.completed.append(done.final)
        del self._open[partition]

    def send(self, events, starts=None) -> None:
        stats = self.stats
        partitions = self.partitions
        dumps, b64 = orjson.dumps, base64.b64encode
        handed = self.now()
        for i, event in enumerate(events):
            key, payload, headers, seq, when = event
            partition = partition_for(key, seq, partitions)
            number = self._sequence[partition]
            if self.envelope:
                line = dumps({
                    "SequenceNumber": number,
                    "Offset": str(number),
                    "EnqueuedTimeUtc": self._stamp(when),
                    "SystemProperties": {"x-opt-partition-key": key},
                    "Properties": headers,
                    "Body": b64(payload).decode(),
                }) + b"\n"
            elif b"\n" in payload:
                self.fail_event(event, "files: a payload with a newline cannot be one JSON line")
                continue
            else:
                line = payload + b"\n"
            try:
                target = self._file_for(partition, when)
                target.handle.write(line)
            except OSError as exc:
                self.fail_event(event, f"cannot write landing file: {exc}")
                continue
            target.events += 1
            self._sequence[partition] = number + 1
            stats.sent += 1
            stats.bytes += len(payload)
            if i % LATENCY_SAMPLE_EVERY == 0:
                stats.latency.add(self.now() - (starts[i] if starts is not None else handed))
        self.poll()

    def poll(self) -> None:
        now = time.monotonic()
        for partition, current in list(self._open.items()):
            if now - current.opened >= self.roll_seconds:
                self._complete(partition)

    def flush(self, timeout: float = 30.0) -> None:
        for partition in list(self._open):
            self._complete(partition)

    def close(self) -> None:
        self.flush()
        super().close()
