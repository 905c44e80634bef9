"""Synthetic openFDA-shaped adverse-event reports with injected anomalies and ground truth.

Python API (names load lazily, so `import generators.event` stays light):

    from generators import load_scenario, generate, run

    scenario = load_scenario("demo")            # a name in generators/scenarios/ or a path
    stream = generate(scenario, seed=42)         # iterate: Event(key, payload, headers, seq, time)
    for event in stream: ...
    stream.ground_truth.write("manifest.jsonl")  # after iterating

    summary = run("demo", sink="files", seed=42, landing_dir=".vigil/landing",
                  manifest=".vigil/ground-truth/demo.jsonl")
    summary.exit_code                            # 0 ok, 3 something dead-lettered, 130 Ctrl-C

CLI: python -m generators --help
"""

from __future__ import annotations

import importlib

from generators import speedups

speedups.install()  # before any hot-path module loads: compiled builds, when current

_EXPORTS = {
    "Event": "generators.event",
    "EventStream": "generators.stream",
    "generate": "generators.stream",
    "Scenario": "generators.scenario",
    "ScenarioError": "generators.scenario",
    "load_scenario": "generators.scenario",
    "scenario_from_dict": "generators.scenario",
    "RunOptions": "generators.runner",
    "RunSummary": "generators.runner",
    "run": "generators.runner",
    "read_manifest": "generators.ground_truth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'generators' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
