"""Compiled (Cython) builds of the generator's hot paths, used only when they match the source.

The .py modules are the source of truth and run as they are anywhere. `make setup` (through
scripts/build_speedups.py) also compiles the modules in MODULES, unchanged, with Cython into
build/speedups/, which makes report generation about a fifth faster (docs/BENCHMARKS.md). A
finder put in front of the import system loads a compiled module instead of its .py only when
it was built from byte-for-byte the same source (its SHA-256 is recorded at build time), so an
edited .py is never shadowed by a stale build. VIGIL_PURE_PYTHON=1 turns compiled modules off.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

# the per-event loops: building reports, the chunk loop, the Kafka send loop
MODULES = ("generators.reports", "generators.stream", "ingesters.kafka")
ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build" / "speedups"
PURE_PYTHON_ENV = "VIGIL_PURE_PYTHON"


def source_path(name: str, root: Path = ROOT) -> Path:
    return root / (name.replace(".", "/") + ".py")


def source_digest(name: str, root: Path = ROOT) -> str:
    return hashlib.sha256(source_path(name, root).read_bytes()).hexdigest()


def built_path(name: str, build_dir: Path = BUILD_DIR) -> Path:
    """Where the compiled module lives, e.g. build/speedups/generators.reports.cpython-311-….so"""
    return build_dir / (name + importlib.machinery.EXTENSION_SUFFIXES[0])


def stamp_path(name: str, build_dir: Path = BUILD_DIR) -> Path:
    """The SHA-256 of the source the compiled module was built from."""
    return build_dir / (name + ".sha256")


def compiled_spec(name: str, root: Path = ROOT, build_dir: Path = BUILD_DIR):
    """The import spec of the compiled module when one was built from the current source; None
    otherwise (not built, built from another version of the source, or the source is gone)."""
    so = built_path(name, build_dir)
    try:
        built_from = stamp_path(name, build_dir).read_text().strip()
        current = source_digest(name, root)
    except OSError:
        return None
    if built_from != current or not so.is_file():
        return None
    return importlib.util.spec_from_file_location(name, so)


class _CompiledFinder:
    """A meta-path finder for MODULES only; every other import goes the usual way."""

    def find_spec(self, fullname, path=None, target=None):
        return compiled_spec(fullname) if fullname in MODULES else None


def enabled() -> bool:
    return os.environ.get(PURE_PYTHON_ENV, "").strip().lower() not in ("1", "true", "yes")


def install() -> None:
    """Called by the generators and ingesters packages before any of their modules load."""
    if enabled() and not any(isinstance(f, _CompiledFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _CompiledFinder())


def status() -> dict[str, str]:
    """For each module: 'compiled' when its compiled build is the one imported (or would be),
    'python' otherwise; what benchmarks and summaries report."""
    out = {}
    for name in MODULES:
        module = sys.modules.get(name)
        if module is not None:
            compiled = not str(getattr(module, "__file__", "")).endswith(".py")
        else:
            compiled = enabled() and compiled_spec(name) is not None
        out[name] = "compiled" if compiled else "python"
    return out
