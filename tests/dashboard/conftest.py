"""Fixtures for the dashboard tests: a serving database filled by the pipeline, the dashboard
running on a loopback port against it, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jobs.serving.connections import local_database_path
from jobs.settings import PROJECT_ROOT, Settings

CHROMIUM = os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium")
# Known-good flags for Chromium in a container: no sandbox (no user namespaces), no GPU, and
# nothing that phones home or updates itself during a test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--mute-audio",
]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "dashboard"
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    """`python -m dashboard` as a subprocess; `.url` once it printed its address."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "--port", str(self.port), *args],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(START_TIMEOUT):
            self.stop()
            raise AssertionError("the dashboard did not print its address:\n" + "".join(self.output))
        assert self.url in "".join(self.output)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("dashboard: open "):
                self._ready.set()
        self._ready.set()  # it exited

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="module")
def served_settings(spark, tmp_path_factory) -> Settings:
    """A data root whose serving database the pipeline filled (tests/dashboard/serving_db.py)."""
    from tests.dashboard.serving_db import fill

    settings = Settings(
        profile="local", data_root=str(tmp_path_factory.mktemp("dashboard") / "data"), kafka_bootstrap=None
    )
    summary = fill(spark, settings)
    assert summary.rows_staged > 0
    return settings


@pytest.fixture(scope="module")
def served_db(request) -> Path:
    """The filled database; VIGIL_DASHBOARD_TEST_DB names one filled before (by
    `python -m tests.dashboard.serving_db DIR`) to try the browser tests without Spark."""
    if os.environ.get("VIGIL_DASHBOARD_TEST_DB"):
        return Path(os.environ["VIGIL_DASHBOARD_TEST_DB"]).resolve()
    return local_database_path(request.getfixturevalue("served_settings"))


@pytest.fixture(scope="module")
def dashboard(served_db):
    app = Dashboard("--db", str(served_db))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: install Debian's `chromium` (scripts/debian-packages.txt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="UTC")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def wait_rendered(page, heading: str, metrics: int = 0) -> None:
    """Until the page's script has run to the end — its heading and `metrics` metric values shown,
    nothing stale, the script no longer running — plus a moment for the charts to draw."""
    page.get_by_role("heading", name=heading, exact=True).first.wait_for()
    page.wait_for_function(
        """n => document.querySelector("[data-testid=stApp]")?.dataset.testScriptState === "notRunning"
            && document.querySelectorAll("[data-testid=stMetricLabel]").length >= n
            && document.querySelectorAll("[data-testid=stMetricValue]").length >= n
            && !document.querySelector("[data-stale=true], [data-testid*=Skeleton]")
            && document.querySelector(".vigil-freshness")""",
        arg=metrics,
    )
    started = time.monotonic()
    while time.monotonic() - started < 10:  # Vega draws after the script ran
        charts = page.locator("[data-testid='stVegaLiteChart']").count()
        drawn = page.locator(
            "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
        ).count()
        if drawn >= charts:
            break
        time.sleep(0.2)
    page.wait_for_timeout(500)
