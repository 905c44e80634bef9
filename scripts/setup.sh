#!/usr/bin/env bash
# Set up everything Vigil needs beyond Python, Java and Maven, idempotently:
#   .venv/        Python packages from requirements-dev.txt
#   .jvm/         Spark's Delta + Kafka jars and the Kafka broker's jars, from jvm/pom.xml
#   Debian packages listed in scripts/debian-packages.txt (ODBC driver manager and driver)
# Each step is skipped when its inputs have not changed since it last succeeded, so a
# second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON was not found; install Python 3.11+ or set PYTHON=/path/to/python3" >&2
  exit 1
fi
"$PYTHON" scripts/prereqs.py

stamp_of() { cat "$@" | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'; }

missing=()
while read -r pkg; do
  [ -z "$pkg" ] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/debian-packages.txt)
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing system packages (${missing[*]}) and no apt-get here; install their equivalents and re-run" >&2
    exit 1
  fi
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  apt_log="${TMPDIR:-/tmp}/vigil-apt.log"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
         --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    echo "error: could not install ${missing[*]} (see $apt_log); run \`sudo apt-get install ${missing[*]}\` and re-run \`make setup\`" >&2
    exit 1
  fi
fi

py_stamp=$(stamp_of requirements.txt requirements-dev.txt)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.vigil-stamp 2>/dev/null)" != "$py_stamp" ]; then
  echo "setup: installing Python packages into .venv (first run takes a few minutes)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$py_stamp" > .venv/.vigil-stamp
fi

jvm_stamp=$(stamp_of jvm/pom.xml jvm/spark/pom.xml jvm/kafka-broker/pom.xml jvm/settings.xml)
if [ "$(cat .jvm/.vigil-stamp 2>/dev/null)" != "$jvm_stamp" ]; then
  echo "setup: resolving JVM jars with Maven into .jvm/"
  rm -rf .jvm
  if ! mvn -q -B -Dstyle.color=never -s jvm/settings.xml -f jvm/pom.xml dependency:copy-dependencies; then
    echo "error: Maven could not resolve the jars in jvm/pom.xml; check access to Maven Central and re-run \`make setup\`" >&2
    exit 1
  fi
  echo "$jvm_stamp" > .jvm/.vigil-stamp
fi
# compiled builds of the generator's hot paths; skipped when current, pure Python if it fails
.venv/bin/python scripts/build_speedups.py | grep -v "up to date" || true
echo "setup: ready (.venv, .jvm)"
