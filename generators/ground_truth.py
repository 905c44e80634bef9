"""The ground-truth manifest: every injected anomaly and the events that carry it.

One JSON line per anomaly: overdose clusters, signals and spikes list the safetyreportids they
made (or changed) and the vigil_event_seq of every event carrying them, follow-ups and re-sends
included. Each data fault is its own line, because a faulty event may have no id at all: its
vigil_event_seq is what ties it to the event. Follow-ups and exact duplicates get a line each
too, so deduplication can be checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson


@dataclass
class _Line:
    order: tuple
    anomaly_id: str
    type: str
    params: dict
    carriers: list[tuple[int, str | None]] = field(default_factory=list)  # (event seq, report id)


class GroundTruth:
    """Records are staged while a chunk of events is made and committed with it, so an
    interrupted run never names an event that was not handed to a sink."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self._lines: dict[str, _Line] = {}
        self._staged: list[tuple] = []

    def declare(self, anomaly_id: str, type_: str, params: dict, order: tuple) -> None:
        """Name an anomaly even if no event ends up carrying it (a signal that never fired)."""
        if anomaly_id not in self._lines:
            self._lines[anomaly_id] = _Line(order, anomaly_id, type_, params)

    def stage(self, anomaly_id: str, type_: str, params: dict, order: tuple,
              report_id: str | None, seq: int) -> None:
        """Declare and record in one step, staged (for per-event lines such as data faults)."""
        self._staged.append((anomaly_id, (order, type_, params), report_id, seq))

    def record(self, anomaly_id: str, report_id: str | None, seq: int) -> None:
        self._staged.append((anomaly_id, None, report_id, seq))

    def commit(self) -> None:
        for anomaly_id, declaration, report_id, seq in self._staged:
            if declaration is not None:
                order, type_, params = declaration
                self.declare(anomaly_id, type_, params, order)
            self._lines[anomaly_id].carriers.append((seq, report_id))
        self._staged.clear()

    def rollback(self) -> None:
        self._staged.clear()

    def discard(self, seqs: set[int]) -> None:
        """Forget events that were made but never handed to a sink; drop lines left empty that
        were only there for those events (data faults)."""
        if not seqs:
            return
        for anomaly_id in list(self._lines):
            line = self._lines[anomaly_id]
            kept = [c for c in line.carriers if c[0] not in seqs]
            if len(kept) != len(line.carriers):
                line.carriers = kept
                if not kept and line.type == "data_fault":
                    del self._lines[anomaly_id]

    def merge(self, other: GroundTruth) -> None:
        """Add another worker's share of the same run (committed records only)."""
        for anomaly_id, line in other._lines.items():
            mine = self._lines.get(anomaly_id)
            if mine is None:
                self._lines[anomaly_id] = _Line(line.order, line.anomaly_id, line.type,
                                                line.params, list(line.carriers))
            else:
                mine.carriers.extend(line.carriers)

    def lines(self) -> list[dict]:
        out = []
        for line in sorted(self._lines.values(), key=lambda x: x.order):
            carriers = sorted(line.carriers)
            ids = list(dict.fromkeys(r for _, r in carriers if r is not None))
            out.append({
                "anomaly_id": line.anomaly_id,
                "type": line.type,
                "params": line.params,
                "count": len(carriers),
                "safetyreportids": ids,
                "event_seqs": [s for s, _ in carriers],
                "run_id": self.run_id,
            })
        return out

    def to_jsonl(self) -> bytes:
        return b"".join(orjson.dumps(line) + b"\n" for line in self.lines())

    def write(self, path: str | Path) -> Path:
        """Write the manifest atomically (temp file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_bytes(self.to_jsonl())
        os.replace(tmp, path)
        return path


def read_manifest(path: str | Path) -> list[dict]:
    with open(path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]
