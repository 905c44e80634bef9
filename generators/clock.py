"""Dates and timestamps in the shapes the contract uses, computed fast.

Event time is simulated: a scenario starts at a configurable instant and every report's dates
derive from it, so a seeded run never reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
SECONDS_PER_DAY = 86_400


def parse_instant(text: str) -> float:
    """ISO-8601 date or date-time (UTC when no offset is given) → epoch seconds; 'now' → wall clock."""
    if text == "now":
        return float(int(time.time()))
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def iso_instant(epoch: float) -> str:
    """Epoch seconds → '2025-01-01T00:00:00Z' (whole seconds)."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "": 86_400}


def parse_duration(value: str | int | float) -> float:
    """'90s', '30m', '6h', '3d', '2w' or a bare number of days → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) * SECONDS_PER_DAY
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 30m, 6h, 3d, 2w)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class DayStrings:
    """Day number (days since 1970-01-01) → 'YYYYMMDD', cached in a list for speed.

    Indexing outside [first, last] is a bug in the caller; the shared table spans 1980–2120.
    """

    def __init__(self, first_day: int, last_day: int):
        self.first = first_day
        self.last = last_day
        start = dt.date.fromordinal(EPOCH_ORDINAL + first_day)
        days = []
        year, month, day = start.year, start.month, start.day
        for _ in range(last_day - first_day + 1):
            days.append(f"{year:04d}{month:02d}{day:02d}")
            day += 1
            if day > _month_length(year, month):
                day, month = 1, month + 1
                if month > 12:
                    month, year = 1, year + 1
        self._days = days
        self._bytes = [d.encode() for d in days]
        # 'YYYY-MM-DDT', the date part of an ISO-8601 timestamp
        self.iso_prefixes = [f"{d[:4]}-{d[4:6]}-{d[6:]}T" for d in days]

    def __getitem__(self, day: int) -> str:
        return self._days[day - self.first]

    def as_bytes(self, day: int) -> bytes:
        return self._bytes[day - self.first]



def _month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


FIRST_DAY = dt.date(1980, 1, 1).toordinal() - EPOCH_ORDINAL
LAST_DAY = dt.date(2120, 12, 31).toordinal() - EPOCH_ORDINAL


@functools.cache
def shared_days() -> DayStrings:
    """One day table per process, wide enough for any scenario the generator accepts."""
    return DayStrings(FIRST_DAY, LAST_DAY)


# time of day and milliseconds, tabled: an ISO timestamp is then three lookups and a concatenation
HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
MILLIS = [f".{ms:03d}Z" for ms in range(1000)]


class IsoTimestamps:
    """Epoch seconds → '2025-01-01T00:00:00.000Z', from the day table and the time tables."""

    def __init__(self, days: DayStrings | None = None):
        self._days = days or shared_days()

    def __call__(self, epoch: float) -> str:
        day = int(epoch // SECONDS_PER_DAY)
        second_of_day = epoch - day * SECONDS_PER_DAY
        whole = int(second_of_day)
        return (self._days.iso_prefixes[day - self._days.first] + HMS[whole]
                + MILLIS[int((second_of_day - whole) * 1000)])
