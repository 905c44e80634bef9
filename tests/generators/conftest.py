"""Generated streams shared by the generator tests (made once per session: they are pure)."""

from __future__ import annotations

import pytest

from generators.scenario import load_scenario
from generators.stream import generate

DEMO_SEED = 11
BACKGROUND_REPORTS = 12_000


@pytest.fixture(scope="session")
def demo_stream():
    """The demo scenario, seed 11: (stream, events). The stream's ground truth is filled."""
    stream = generate(load_scenario("demo"), seed=DEMO_SEED)
    events = list(stream)
    return stream, events


@pytest.fixture(scope="session")
def background_events():
    """12,000 background reports (load_test scenario): enough for distributions, no anomalies."""
    scenario = load_scenario("load_test").with_overrides(reports=BACKGROUND_REPORTS)
    stream = generate(scenario, seed=5)
    return list(stream)
