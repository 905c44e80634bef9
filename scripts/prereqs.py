"""Check what set-up cannot install itself: Python 3.11+, Java 17+ and Maven.

Runs with the system Python before the virtualenv exists, so it uses the standard library
only. Each missing prerequisite gets one line naming it and the fix; exit 1 if any is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

MIN_PYTHON = (3, 11)
MIN_JAVA = 17


def java_major(output: str) -> int | None:
    """17 from 'openjdk version "17.0.15"', 8 from 'java version "1.8.0_402"'."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return minor if major == 1 else major


def problems() -> list[str]:
    found = []
    if sys.version_info < MIN_PYTHON:
        found.append(
            f"Python {sys.version.split()[0]} is too old; Vigil needs Python 3.11 or newer "
            f"(run set-up with PYTHON=/path/to/python3.11)"
        )
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={java_home} has no bin/java" if java_home else "no `java` on PATH"
        found.append(f"Java is missing ({where}); install JDK 17+, e.g. `apt-get install openjdk-17-jdk`")
    else:
        out = subprocess.run([java, "-version"], capture_output=True, text=True)
        major = java_major(out.stderr + out.stdout)
        if major is None or major < MIN_JAVA:
            found.append(
                f"Java {major or 'of unknown version'} at {java}; Spark 4 and Kafka 4 need Java "
                f"{MIN_JAVA}+ — install it and point JAVA_HOME at it"
            )
    if not shutil.which("mvn"):
        found.append("Maven is missing (no `mvn` on PATH); install it, e.g. `apt-get install maven`")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
