"""A sink that delivers nothing: for --dry-run, and to measure generation alone."""

from __future__ import annotations

from ingesters.sink import Sink


class NullSink(Sink):
    name = "null"

    def send(self, events, starts=None) -> None:
        stats = self.stats
        stats.sent += len(events)
        stats.bytes += sum(len(e.payload) for e in events)
