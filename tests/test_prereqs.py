"""Missing or wrong prerequisites get one clear line and a non-zero exit, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.settings import PROJECT_ROOT
from scripts.prereqs import java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"', 8),
        ("nonsense", None),
    ],
)
def test_java_major(output, major):
    assert java_major(output) == major


def _bin_with(tmp_path: Path, scripts: dict[str, str]) -> dict[str, str]:
    """An environment whose PATH holds only the given stand-in programs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(bin_dir)
    return env


def _run_prereqs(env):
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "prereqs.py")],
        env=env, capture_output=True, text=True,
    )


def test_missing_java_and_maven_each_get_one_line(tmp_path):
    result = _run_prereqs(_bin_with(tmp_path, {}))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: Java is missing") and "JDK 17" in lines[0]
    assert lines[1].startswith("error: Maven is missing") and "apt-get install maven" in lines[1]
    assert "Traceback" not in result.stderr


def test_old_java_is_named_with_its_version(tmp_path):
    env = _bin_with(tmp_path, {
        "java": "echo 'openjdk version \"11.0.2\" 2019-01-15' >&2",
        "mvn": "exit 0",
    })
    result = _run_prereqs(env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and "Java 11" in lines[0] and "17+" in lines[0]


def test_all_present_passes(tmp_path):
    env = _bin_with(tmp_path, {"java": "echo 'openjdk version \"17.0.1\"' >&2", "mvn": "exit 0"})
    result = _run_prereqs(env)
    assert result.returncode == 0 and result.stderr == ""


def test_broker_without_java_says_so_in_one_line(tmp_path):
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-jdk")}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.kafka_broker", "start", "--data-dir", str(tmp_path / "k")],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: Java was not found; install a JDK 17 or newer (e.g. openjdk-17-jdk)"
    )
