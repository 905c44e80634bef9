"""The dead-letter file: every event a sink could not deliver, with the reason, as JSON lines.

Each line: reason, sink, vigil_event_seq, key, headers, payload_base64, payload_bytes, at (UTC).
The payload is base64 so that any bytes (invalid UTF-8, broken JSON) survive unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import orjson


class DeadLetterFile:
    def __init__(self, path: str | Path, sink: str):
        self.path = Path(path)
        self.sink = sink
        self._file = None
        self.written = 0

    def write(self, *, reason: str, key, headers, payload: bytes | None, seq: int | None) -> bool:
        """Append one record; False when even that fails (the caller counts it as lost)."""
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across writes
            record = {
                "reason": reason,
                "sink": self.sink,
                "vigil_event_seq": seq,
                "key": key.decode("utf-8", "replace") if isinstance(key, bytes) else key,
                "headers": _text_headers(headers),
                "payload_base64": base64.b64encode(payload or b"").decode(),
                "payload_bytes": len(payload or b""),
                "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            self._file.write(orjson.dumps(record) + b"\n")
            self._file.flush()
            self.written += 1
            return True
        except OSError:
            return False

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def _text_headers(headers) -> dict[str, str]:
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, dict) else headers
    return {
        (k.decode() if isinstance(k, bytes) else str(k)):
        (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
        for k, v in items
    }


def read_dead_letters(path: str | Path) -> list[dict]:
    with open(path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]
