"""`python -m dashboard [--port 8501] [--host 127.0.0.1] [--data-root DIR | --db FILE]`

Starts the local dashboard (Streamlit) over the local serving database — by default the local
profile's `<data_root>/serving/vigil_serving.duckdb` — waits until it answers, prints its
address, and serves until stopped (Ctrl+C). Exits non-zero with one line if it cannot start.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dashboard.data import ENV_DB
from jobs.widgets import whole_number_argument

APP = Path(__file__).resolve().parent / "app.py"
ROOT = APP.parent.parent


def address(host: str, port: int) -> str:
    return f"http://{host}:{port}/"


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "light",
    ]


def wait_until_up(host: str, port: int, process: subprocess.Popen, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    url = f"http://{host}:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL we built
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.25)
    return False


def database_path(args) -> Path:
    if args.db:
        return Path(args.db).resolve()
    from jobs.serving.connections import local_database_path
    from jobs.settings import settings_for

    return local_database_path(settings_for("local", data_root=args.data_root)).resolve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=whole_number_argument(1, 65535), default=8501)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data-root", default="", help="local data root (default: VIGIL_DATA_ROOT or .vigil)")
    where.add_argument("--db", default="", help="the serving DuckDB file itself")
    args = parser.parse_args(argv)

    db = database_path(args)
    # Stopped by SIGTERM (a service manager, a test): stop Streamlit too, through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    env = {
        **os.environ,
        ENV_DB: str(db),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    process = subprocess.Popen(
        streamlit_command(args.host, args.port), env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        if not wait_until_up(args.host, args.port, process):
            print(
                f"error: the dashboard did not start on {args.host}:{args.port} "
                "(is the port free? try --port N; Streamlit's own message is above)",
                file=sys.stderr,
            )
            return 1
        print(f"dashboard: serving {db}", flush=True)
        print(f"dashboard: open {address(args.host, args.port)}  (Ctrl+C stops it)", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    except SystemExit as stop:
        return stop.code or 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
