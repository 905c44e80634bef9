"""The dashboard's one way to the data: the local serving database, read-only, through the
`vigil.vw_…` views that Power BI reads too.

Metrics live in the views (sql/migrations/V005__views.sql); this module only sums, counts and
filters their rows, as Power BI's measures do. Each query opens the DuckDB file read-only and
closes it again, so the serving load (which needs the file's write lock) is never kept out for
longer than one query. While the load holds the lock, DuckDB refuses readers: that, a missing
file and a file that is not a database are reported as `Unreachable`, with the path and why.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

SCHEMA = "vigil"
VIEWS = (
    "vw_report",
    "vw_report_drug",
    "vw_report_reaction",
    "vw_overdose_trend",
    "vw_reactions_by_drug",
    "vw_age_sex_by_reaction",
    "vw_alert",
    "vw_data_quality",
)
# The signals view, when the safety-signal work serves gold.safety_signal; optional.
SIGNAL_VIEW = "vw_safety_signal"
# Alert statuses that are no longer open (gold.alert: open | provisional | final | late |
# withdrawn, and acknowledged | closed once people act on them). The Power BI measure
# `Open alerts` uses the same list.
CLOSED_ALERT_STATUSES = ("withdrawn", "acknowledged", "closed")

ENV_DB = "VIGIL_SERVING_DB"
FILL_COMMAND = ".venv/bin/python -m jobs.serving load"


class DashboardDataError(RuntimeError):
    """Something the page shows instead of numbers."""


class Unreachable(DashboardDataError):
    """The database cannot be opened: which one and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot open the serving database {path}: {reason}")
        self.path = path
        self.reason = reason


class NotLoaded(DashboardDataError):
    """The database opens but holds nothing to show yet."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"the serving database {path} {reason}")
        self.path = path
        self.reason = reason
        self.command = fill_command(path)


def default_database_path() -> Path:
    """VIGIL_SERVING_DB, else the local profile's `<data_root>/serving/vigil_serving.duckdb`."""
    if os.environ.get(ENV_DB):
        return Path(os.environ[ENV_DB])
    from jobs.serving.connections import local_database_path
    from jobs.settings import settings_for

    return local_database_path(settings_for("local"))


def fill_command(path: str | Path) -> str:
    """The command that fills this database (from the Delta tables the pipeline wrote)."""
    from jobs.settings import DEFAULT_LOCAL_DATA

    data_root = Path(path).resolve().parent.parent  # <data_root>/serving/<file>
    if data_root == DEFAULT_LOCAL_DATA.resolve():
        return FILL_COMMAND
    return f"{FILL_COMMAND} --data-root {data_root}"


@dataclass(frozen=True)
class Filters:
    """The filters every page offers. Empty means all; dates are inclusive."""

    start: date | None = None
    end: date | None = None
    drugs: tuple[str, ...] = ()
    reactions: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    def active(self) -> list[str]:
        names = []
        if self.start or self.end:
            names.append("date")
        for name, values in (("drug", self.drugs), ("reaction", self.reactions), ("country", self.countries)):
            if values:
                names.append(name)
        return names


# How each filter reaches each view: a column, a semi-join through another view, or nothing.
_BY_DRUG = "safetyreportid IN (SELECT safetyreportid FROM vigil.vw_report_drug WHERE generic_name IN ({}))"
_BY_REACTION = (
    "safetyreportid IN (SELECT safetyreportid FROM vigil.vw_report_reaction WHERE reactionmeddrapt IN ({}))"
)
FILTER_COLUMNS: dict[str, dict[str, str]] = {
    "vw_report": {
        "date": "receivedate",
        "country": "occurcountry",
        "drug": _BY_DRUG,
        "reaction": _BY_REACTION,
    },
    "vw_report_drug": {
        "date": "receivedate",
        "country": "occurcountry",
        "drug": "generic_name",
        "reaction": _BY_REACTION,
    },
    "vw_report_reaction": {
        "date": "receivedate",
        "country": "occurcountry",
        "reaction": "reactionmeddrapt",
        "drug": _BY_DRUG,
    },
    "vw_overdose_trend": {"date": "receivedate", "drug": "generic_name", "country": "occurcountry"},
    "vw_reactions_by_drug": {"date": "receivedate", "drug": "generic_name", "reaction": "reactionmeddrapt"},
    "vw_age_sex_by_reaction": {"date": "receivedate", "reaction": "reactionmeddrapt"},
    # alert subjects: drug=D;reaction=R | country=C | drug=D | drug=D;country=C | all — read
    # as jobs.signals.spikes.subject_parts reads them, since names (free text) may hold ; or =
    "vw_alert": {
        "date": "window",
        "drug": r"regexp_extract(subject, '(?s)^drug=(.*?)(?:;country=[^;]*|;reaction=.*)?\z', 1)",
        "reaction": r"regexp_extract(subject, '(?s)^drug=.*?;reaction=(.*)\z', 1)",
        "country": r"regexp_extract(subject, '(?:^|;)country=([^;]*)\z', 1)",
    },
    "vw_data_quality": {},
}


@dataclass
class Where:
    sql: str
    params: list = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)

    def and_(self, condition: str) -> str:
        """This WHERE clause with one more condition."""
        return f"{self.sql} AND {condition}" if self.sql else f"WHERE {condition}"


def where(view: str, filters: Filters) -> Where:
    """The WHERE clause (with bound parameters) that applies `filters` to one view, and the
    filters that view cannot take (the page says so)."""
    columns = FILTER_COLUMNS[view]
    conditions: list[str] = []
    params: list = []
    not_applied: list[str] = []
    if filters.start or filters.end:
        column = columns.get("date")
        if column is None:
            not_applied.append("date")
        elif column == "window":  # an alert's window overlaps the range
            if filters.start:
                conditions.append("COALESCE(window_end, window_start) >= ?")
                params.append(filters.start)
            if filters.end:
                conditions.append("window_start <= ?")
                params.append(filters.end)
        else:
            if filters.start:
                conditions.append(f"{column} >= ?")
                params.append(filters.start)
            if filters.end:
                conditions.append(f"{column} <= ?")
                params.append(filters.end)
    for name, values in (
        ("drug", filters.drugs),
        ("reaction", filters.reactions),
        ("country", filters.countries),
    ):
        if not values:
            continue
        column = columns.get(name)
        marks = ", ".join("?" for _ in values)
        if column is None:
            not_applied.append(name)
        elif "{}" in column:
            conditions.append(column.format(marks))
            params.extend(values)
        else:
            conditions.append(f"{column} IN ({marks})")
            params.extend(values)
    return Where("WHERE " + " AND ".join(conditions) if conditions else "", params, not_applied)


class ServingViews:
    """Read-only queries over the serving database's views."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path or default_database_path())

    def _connect(self):
        import duckdb

        path = Path(self.path)
        if not path.exists():
            raise NotLoaded(self.path, "does not exist yet: the serving load creates it")
        if path.is_dir():
            raise Unreachable(self.path, "it is a folder, not a DuckDB file")
        try:
            conn = duckdb.connect(self.path, read_only=True)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise Unreachable(
                    self.path,
                    "another process holds its write lock (is the serving load "
                    f"running?). Reload this page when it has finished. DuckDB said: {text}",
                ) from exc
            raise Unreachable(self.path, text) from exc
        except duckdb.Error as exc:
            raise Unreachable(self.path, str(exc)) from exc
        conn.execute("SET TimeZone = 'UTC'")
        return conn

    def query(self, sql: str, params: Sequence = ()):
        """The rows of one query as a pandas DataFrame."""
        conn = self._connect()
        try:
            return conn.execute(sql, list(params)).df()
        finally:
            conn.close()

    def scalar(self, sql: str, params: Sequence = ()):
        conn = self._connect()
        try:
            row = conn.execute(sql, list(params)).fetchone()
            return row[0] if row else None
        finally:
            conn.close()

    def views(self) -> set[str]:
        frame = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'VIEW'",
            [SCHEMA],
        )
        return set(frame["table_name"])

    def check(self) -> None:
        """Raise `Unreachable` or `NotLoaded` unless the views exist and hold reports."""
        missing = [v for v in VIEWS if v not in self.views()]
        if missing:
            raise NotLoaded(self.path, f"has no {', '.join(missing)} view(s): the migrations have not run")
        if not self.scalar("SELECT COUNT(*) FROM vigil.vw_report"):
            raise NotLoaded(self.path, "holds no reports yet")

    def freshness(self) -> dict:
        """Latest event and load times: what the freshness line on every page says."""
        frame = self.query(
            "SELECT (SELECT MAX(ingested_at) FROM vigil.vw_report) AS latest_event_ingested_at, "
            "(SELECT CAST(MAX(receivedate) AS VARCHAR) FROM vigil.vw_report) AS latest_receivedate, "
            "(SELECT MAX(last_seen_at) FROM vigil.vw_data_quality "
            "WHERE check_group = 'freshness') AS last_load_at, "
            "(SELECT MIN(lag_seconds) FROM vigil.vw_data_quality "
            "WHERE check_group = 'freshness') AS lag_seconds"
        )
        return {k: _plain(v) for k, v in frame.iloc[0].to_dict().items()}

    def options(self) -> dict:
        """Values the filters offer: the date bounds and the drugs, reactions and countries seen."""
        bounds = self.query("SELECT MIN(receivedate) AS lo, MAX(receivedate) AS hi FROM vigil.vw_report")
        return {
            "start": _plain(bounds.at[0, "lo"]),
            "end": _plain(bounds.at[0, "hi"]),
            "drugs": self._distinct("generic_name", "vw_report_drug"),
            "reactions": self._distinct("reactionmeddrapt", "vw_report_reaction"),
            "countries": self._distinct("occurcountry", "vw_report"),
        }

    def _distinct(self, column: str, view: str) -> list[str]:
        frame = self.query(
            f"SELECT DISTINCT {column} AS v FROM vigil.{view} WHERE {column} IS NOT NULL ORDER BY 1"
        )
        return [str(v) for v in frame["v"]]


def _plain(value):
    """pandas' NaT/NaN → None; Timestamps → datetime; leave the rest."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value
