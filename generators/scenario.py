"""Scenario files: the simulated timeline, the background volume and the anomalies to inject.

A scenario is YAML (see docs/GENERATOR.md for the format and generators/scenarios/ for
examples). Loading checks every field and names the one that is wrong, so the CLI can print one
clear line.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generators.clock import SECONDS_PER_DAY, iso_instant, parse_duration, parse_instant
from generators.ids import DEFAULT_ID_BASE
from generators.reference import ReferenceData, load_reference

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
DEFAULT_START = "2025-01-01T00:00:00Z"

FAULT_KINDS = (
    "malformed_json",
    "missing_required",
    "impossible_age",
    "future_date",
    "wrong_types",
    "empty_payload",
    "invalid_utf8",
    "concatenated_json",
    "duplicate_key",
    "oversize",
)


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Followups:
    share: float = 0.0  # share of reports that get later versions
    max_versions: int = 3  # highest safetyreportversion a report reaches
    mean_delay: float = 5 * SECONDS_PER_DAY  # seconds between versions, exponential


@dataclass(frozen=True)
class Duplicates:
    share: float = 0.0  # share of reports re-sent as exact duplicates
    max_delay: float = 2 * 3600.0  # seconds; the copy arrives uniformly within this delay


@dataclass(frozen=True)
class Lateness:
    share: float = 0.0  # share of reports whose receivedate lies before their arrival day
    mean: float = 3 * SECONDS_PER_DAY  # mean lag, exponential, in seconds
    max: float = 60 * SECONDS_PER_DAY


@dataclass(frozen=True)
class Anomaly:
    anomaly_id: str
    start: float  # epoch seconds

    type = "anomaly"

    def params(self) -> dict:
        """The parameters as the ground-truth manifest states them."""
        raise NotImplementedError


@dataclass(frozen=True)
class OverdoseCluster(Anomaly):
    drug: str
    country: str
    duration: float
    rate: float  # reports per simulated day

    type = "overdose_cluster"

    @property
    def count(self) -> int:
        return round(self.rate * self.duration / SECONDS_PER_DAY)

    def params(self) -> dict:
        return {"drug": self.drug, "country": self.country, "start": iso_instant(self.start),
                "duration_seconds": self.duration, "rate_per_day": self.rate}


@dataclass(frozen=True)
class Signal(Anomaly):
    drug: str
    reaction: str
    strength: float  # probability that a report of the drug in the window carries the reaction
    duration: float | None  # None: until the end of the timeline

    type = "signal"

    def params(self) -> dict:
        return {"drug": self.drug, "reaction": self.reaction, "start": iso_instant(self.start),
                "duration_seconds": self.duration, "strength": self.strength}


@dataclass(frozen=True)
class Spike(Anomaly):
    duration: float
    multiplier: float  # background rate during the spike, as a multiple of the usual rate
    country: str | None
    drug: str | None

    type = "spike"

    def params(self) -> dict:
        return {"start": iso_instant(self.start), "duration_seconds": self.duration,
                "multiplier": self.multiplier, "country": self.country, "drug": self.drug}


@dataclass(frozen=True)
class DataFaults(Anomaly):
    duration: float
    counts: dict[str, int]
    oversize_bytes: int

    type = "data_faults"

    def params(self) -> dict:
        return {"counts": dict(self.counts), "oversize_bytes": self.oversize_bytes}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    start: float  # epoch seconds where the simulated timeline begins
    span: float  # seconds of simulated time
    background_reports: int
    followups: Followups = Followups()
    duplicates: Duplicates = Duplicates()
    lateness: Lateness = Lateness()
    anomalies: tuple[Anomaly, ...] = ()
    id_base: int = DEFAULT_ID_BASE
    source: str = "<python>"
    start_given: bool = field(default=True, compare=False)

    @property
    def end(self) -> float:
        return self.start + self.span

    def with_overrides(self, *, reports: int | None = None, start: float | None = None,
                       span: float | None = None) -> Scenario:
        """A copy with another background volume or timeline; anomalies keep their offsets."""
        shift = 0.0 if start is None else start - self.start
        anomalies = tuple(dataclasses.replace(a, start=a.start + shift) for a in self.anomalies)
        return dataclasses.replace(
            self,
            background_reports=self.background_reports if reports is None else reports,
            start=self.start + shift,
            span=self.span if span is None else span,
            anomalies=anomalies,
            start_given=self.start_given or start is not None,
        )


# --- loading

def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    if isinstance(name_or_path, str) and "/" not in name_or_path and not name_or_path.endswith(
            (".yaml", ".yml")):
        candidate = SCENARIO_DIR / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    raise ScenarioError(
        f"scenario {str(name_or_path)!r} not found: give a path to a YAML file or one of "
        f"{', '.join(scenario_names())}"
    )


def load_scenario(name_or_path: str | Path, ref: ReferenceData | None = None) -> Scenario:
    """Load and check a scenario by path or by name (a file in generators/scenarios/)."""
    path = resolve_scenario_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ScenarioError(f"{path}:{where} is not valid YAML: "
                            f"{getattr(exc, 'problem', None) or exc}") from None
    return scenario_from_dict(data, source=str(path), ref=ref)


class _Fields:
    """Reads one mapping of a scenario and reports a wrong field by its path."""

    def __init__(self, data, where: str, source: str):
        if not isinstance(data, dict):
            raise ScenarioError(f"{source}: {where or 'the scenario'} must be a mapping")
        self.data, self.where, self.source = data, where, source
        self.used: set[str] = set()

    def fail(self, key: str, message: str):
        path = f"{self.where}.{key}" if self.where else key
        raise ScenarioError(f"{self.source}: {path}: {message}")

    def get(self, key: str, default=None):
        self.used.add(key)
        return self.data.get(key, default)

    def required(self, key: str):
        if key not in self.data:
            self.fail(key, "is required")
        return self.get(key)

    def number(self, key: str, default=None, *, minimum: float | None = None,
               maximum: float | None = None, integer: bool = False):
        value = self.get(key, default) if default is not None else self.required(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                integer and not float(value).is_integer()):
            self.fail(key, f"must be {'a whole number' if integer else 'a number'}, got {value!r}")
        if not math.isfinite(value):
            self.fail(key, f"must be finite, got {value!r}")
        if minimum is not None and value < minimum:
            self.fail(key, f"must be at least {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            self.fail(key, f"must be at most {maximum}, got {value!r}")
        return int(value) if integer else float(value)

    def duration(self, key: str, default: str | None = None) -> float | None:
        """A duration such as '90s', '6h', '3d' or a number of days; None when absent and no default."""
        if key not in self.data:
            self.used.add(key)
            if default is None:
                return None
            value = default
        else:
            value = self.get(key)
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.fail(key, str(exc))
        if seconds <= 0:
            self.fail(key, "must be positive")
        return seconds

    def instant(self, key: str, base: float) -> float:
        """An ISO-8601 instant, or an offset such as '3d' from the scenario start."""
        value = self.get(key, 0)
        try:
            return base + parse_duration(value)
        except ValueError:
            pass
        try:
            return parse_instant(str(value))
        except ValueError:
            self.fail(key, f"must be an offset such as 3d / 6h or an ISO-8601 time, got {value!r}")

    def text(self, key: str, default=None, *, required: bool = False) -> str | None:
        value = self.required(key) if required else self.get(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(key, f"must be text, got {value!r}")
        return value

    def mapping(self, key: str) -> _Fields:
        return _Fields(self.get(key, {}) or {}, f"{self.where}.{key}" if self.where else key,
                       self.source)

    def done(self):
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            self.fail(unknown[0], f"unknown field (known: {', '.join(sorted(self.used))})")


def scenario_from_dict(data, *, source: str = "<dict>", ref: ReferenceData | None = None) -> Scenario:
    ref = ref or load_reference()
    top = _Fields(data if data is not None else {}, "", source)
    name = top.text("name", Path(source).stem) or "scenario"
    description = top.text("description", "") or ""
    start_given = "start" in top.data
    start_text = top.get("start", DEFAULT_START)
    try:
        start = parse_instant(str(start_text))
    except ValueError:
        top.fail("start", f"must be an ISO-8601 time or 'now', got {start_text!r}")
    span = top.duration("days", "14d")
    id_base = top.number("id_base", DEFAULT_ID_BASE, minimum=1_000_000, integer=True)

    bg = top.mapping("background")
    reports = bg.number("reports", 1000, minimum=0, integer=True)
    bg.done()

    fu = top.mapping("followups")
    followups = Followups(
        share=fu.number("share", 0.0, minimum=0, maximum=1),
        max_versions=fu.number("max_versions", 3, minimum=2, maximum=9, integer=True),
        mean_delay=fu.duration("mean_delay", "5d"),
    )
    fu.done()
    du = top.mapping("duplicates")
    duplicates = Duplicates(
        share=du.number("share", 0.0, minimum=0, maximum=1),
        max_delay=du.duration("max_delay", "2h"),
    )
    du.done()
    la = top.mapping("lateness")
    lateness = Lateness(
        share=la.number("share", 0.0, minimum=0, maximum=1),
        mean=la.duration("mean", "3d"),
        max=la.duration("max", "60d"),
    )
    la.done()
    if followups.share + duplicates.share > 1:
        top.fail("duplicates", "followups.share + duplicates.share must not exceed 1")

    raw = top.get("anomalies", []) or []
    if not isinstance(raw, list):
        top.fail("anomalies", "must be a list")
    anomalies = []
    counters: dict[str, int] = {}
    for i, item in enumerate(raw):
        anomalies.append(_anomaly(_Fields(item, f"anomalies[{i}]", source), start, span, ref,
                                  counters))
    top.done()
    ids = [a.anomaly_id for a in anomalies]
    duplicate_ids = sorted({i for i in ids if ids.count(i) > 1})
    if duplicate_ids:
        raise ScenarioError(f"{source}: anomalies: id {duplicate_ids[0]!r} is used twice")
    return Scenario(name=name, description=description, start=start, span=span,
                    background_reports=reports, followups=followups, duplicates=duplicates,
                    lateness=lateness, anomalies=tuple(anomalies), id_base=id_base, source=source,
                    start_given=start_given)


def _drug_name(f: _Fields, key: str, ref: ReferenceData, *, required: bool = True) -> str | None:
    name = f.text(key, required=required)
    if name is None:
        return None
    drug = ref.drug_by_name.get(name.upper())
    if drug is None:
        f.fail(key, f"unknown drug {name!r} (see generators/reference/drugs.jsonl)")
    return drug.generic_name


def _country(f: _Fields, key: str, *, required: bool = True) -> str | None:
    code = f.text(key, required=required)
    if code is not None and (len(code) != 2 or not code.isalpha() or not code.isupper()):
        f.fail(key, f"must be an ISO 3166 alpha-2 code such as US or GB, got {code!r}")
    return code


def _anomaly(f: _Fields, start: float, span: float, ref: ReferenceData,
             counters: dict[str, int]) -> Anomaly:
    kind = f.text("type", required=True)
    kinds = ("overdose_cluster", "signal", "spike", "data_faults")
    if kind not in kinds:
        f.fail("type", f"must be one of {', '.join(kinds)}, got {kind!r}")
    counters[kind] = counters.get(kind, 0) + 1
    anomaly_id = f.text("id", f"{kind}-{counters[kind]}")
    begin = f.instant("start", start)
    if kind == "overdose_cluster":
        anomaly: Anomaly = OverdoseCluster(
            anomaly_id=anomaly_id, start=begin, drug=_drug_name(f, "drug", ref),
            country=_country(f, "country"), duration=f.duration("duration", "1d"),
            rate=f.number("rate", minimum=0.001))
    elif kind == "signal":
        reaction = f.text("reaction", required=True)
        term = ref.term_by_name.get(reaction.lower())
        if term is None:
            f.fail("reaction", f"unknown MedDRA preferred term {reaction!r} "
                               "(see generators/reference/meddra_pt.csv)")
        anomaly = Signal(
            anomaly_id=anomaly_id, start=begin, drug=_drug_name(f, "drug", ref),
            reaction=term.pt, strength=f.number("strength", minimum=0.0001, maximum=1),
            duration=f.duration("duration"))
    elif kind == "spike":
        anomaly = Spike(
            anomaly_id=anomaly_id, start=begin, duration=f.duration("duration", "6h"),
            multiplier=f.number("multiplier", minimum=1.0),
            country=_country(f, "country", required=False),
            drug=_drug_name(f, "drug", ref, required=False))
    else:
        counts_f = f.mapping("counts")
        counts = {k: counts_f.number(k, 0, minimum=0, integer=True) for k in FAULT_KINDS
                  if k in counts_f.data}
        counts_f.done()
        if not any(counts.values()):
            f.fail("counts", f"must give a count for at least one of {', '.join(FAULT_KINDS)}")
        anomaly = DataFaults(
            anomaly_id=anomaly_id, start=begin,
            duration=f.duration("duration") or max(span - (begin - start), 1.0),
            counts=counts,
            oversize_bytes=f.number("oversize_bytes", 1_100_000, minimum=1024, integer=True))
    f.done()
    return anomaly
