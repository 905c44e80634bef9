"""Compiled hot-path modules: used only when built from the current source, same output bytes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from generators import speedups

# generates a run's first events and prints which build made them and a digest of everything a
# sink receives (payload, key, headers, seq, arrival time), faults and follow-ups included
DIGEST = """
import hashlib
from generators import generate, speedups
digest, n = hashlib.sha256(), 0
for e in generate("load_test", seed=11):
    digest.update(e.payload)
    digest.update(repr((e.key, sorted(e.headers.items()), e.seq, e.time)).encode())
    n += 1
    if n == 40_000:
        break
print(speedups.status()["generators.reports"], speedups.status()["generators.stream"],
      digest.hexdigest())
"""


def _digest(pure: bool) -> list[str]:
    env = {"PATH": "/usr/bin:/bin", speedups.PURE_PYTHON_ENV: "1" if pure else "0"}
    done = subprocess.run([sys.executable, "-c", DIGEST], cwd=speedups.ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_compiled_modules_make_the_same_bytes_as_pure_python():
    if not all(speedups.compiled_spec(name) for name in speedups.MODULES):
        pytest.skip("no current compiled build (scripts/build_speedups.py, run by make setup)")
    compiled, pure = _digest(pure=False), _digest(pure=True)
    assert compiled[:2] == ["compiled", "compiled"]
    assert pure[:2] == ["python", "python"]
    assert compiled[2] == pure[2]


def _fake_build(tmp_path, source: bytes, built_from: bytes):
    """A source tree with generators/reports.py and a 'build' of it made from `built_from`."""
    import hashlib

    root, build = tmp_path / "src", tmp_path / "build"
    (root / "generators").mkdir(parents=True)
    build.mkdir()
    (root / "generators" / "reports.py").write_bytes(source)
    speedups.built_path("generators.reports", build).write_bytes(b"\x7fELF not really")
    speedups.stamp_path("generators.reports", build).write_text(
        hashlib.sha256(built_from).hexdigest() + "\n")
    return root, build


def test_a_build_of_the_current_source_is_used(tmp_path):
    root, build = _fake_build(tmp_path, b"X = 1\n", b"X = 1\n")
    spec = speedups.compiled_spec("generators.reports", root, build)
    assert spec is not None and spec.origin == str(speedups.built_path("generators.reports", build))


def test_a_stale_build_never_shadows_an_edited_source(tmp_path):
    root, build = _fake_build(tmp_path, b"X = 2  # edited after the build\n", b"X = 1\n")
    assert speedups.compiled_spec("generators.reports", root, build) is None


def test_no_build_or_no_stamp_means_pure_python(tmp_path):
    root, build = _fake_build(tmp_path, b"X = 1\n", b"X = 1\n")
    speedups.stamp_path("generators.reports", build).unlink()
    assert speedups.compiled_spec("generators.reports", root, build) is None
    assert speedups.compiled_spec("generators.reports", root, tmp_path / "nowhere") is None


def test_pure_python_switch(monkeypatch):
    monkeypatch.setenv(speedups.PURE_PYTHON_ENV, "1")
    assert not speedups.enabled()
    monkeypatch.setenv(speedups.PURE_PYTHON_ENV, "0")
    assert speedups.enabled()
