"""A real browser (Debian's chromium, driven by Playwright) against the app served on loopback.

Off CI, a machine without ``/usr/bin/chromium`` or without the console's build skips these tests with
the reason; under CI=true (where scripts/check installs chromium and builds the console) they fail.
Each page collects the browser's console errors and uncaught exceptions (a Content-Security-Policy
violation is one), and a test ends by asserting there were none.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pixelmill.config import Settings
from tests.support.console import require_console_build
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.server import LiveServer, start_server
from tests.support.services import in_ci

CHROMIUM = Path("/usr/bin/chromium")

playwright_sync = pytest.importorskip("playwright.sync_api", reason="the playwright package (dev extra) is missing")


def _require_chromium() -> None:
    if CHROMIUM.is_file() or shutil.which("chromium"):
        return
    message = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium; scripts/check does)"
    if in_ci():
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(message)


@pytest.fixture
def browser(console_server: LiveServer) -> Iterator[playwright_sync.Browser]:
    """A browser per test, started after the server and the database: Playwright's sync API keeps
    an event loop running in this thread for as long as it lives, where asyncio.run (which seeding,
    templates and other tests' fixtures use) refuses to start."""
    _require_chromium()
    require_console_build()
    with playwright_sync.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def console_server(settings: Settings) -> Iterator[LiveServer]:
    """The app on a loopback port; runs may also use the test node types (``test.sleep``)."""
    server = start_server(settings)
    use_run_nodes(server.app.state.runtime)
    yield server
    GATES.reset()
    server.stop()


@dataclass
class Tab:
    """A page in a fresh browser context (its own cookies), with what went wrong in it."""

    page: playwright_sync.Page
    base_url: str
    problems: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def assert_no_problems(self) -> None:
        assert self.problems == [], self.problems


@pytest.fixture
def open_tab(browser: playwright_sync.Browser, console_server: LiveServer) -> Iterator[Callable[..., Tab]]:
    """Opens tabs, each in its own browser context (a separate browser session)."""
    contexts: list[playwright_sync.BrowserContext] = []

    def open_one(width: int = 1280, height: int = 800) -> Tab:
        context = browser.new_context(base_url=console_server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(20_000)
        contexts.append(context)
        tab = Tab(context.new_page(), console_server.url)
        tab.page.on("console", lambda msg: tab.problems.append(msg.text) if msg.type == "error" else None)
        tab.page.on("pageerror", lambda exc: tab.problems.append(str(exc)))
        return tab

    yield open_one
    for context in contexts:
        context.close()
