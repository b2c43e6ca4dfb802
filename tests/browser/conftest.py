"""Browser tests: the dashboard in demo mode on a loopback port, driven by Debian's Chromium.

Playwright never downloads a browser here: it launches /usr/bin/chromium. When that file is
missing, every test in this folder is skipped with a reason that pytest's `-ra` summary prints.
Every page a test opens is watched: a console error, an uncaught exception, a dialog (alert) or a
Content-Security-Policy violation fails the test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from werkzeug.serving import make_server

from browser_support import ARTIFACTS
from browser_support import CHROMIUM
from browser_support import CHROMIUM_ARGS
from browser_support import DESKTOP
from browser_support import HERE
from browser_support import SKIP_REASON
from browser_support import WATCH_SCRIPT
from browser_support import Watch
from lobstr_dash import create_app


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this folder's tests `browser`, and skip them all when Chromium is not installed."""
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.is_file():
                item.add_marker(skip)


# Two cores shared with other work: give assertions the same patience as actions.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The dashboard in demo mode: no latency, no rate limit, and a live run that refreshes every 1 s."""
    app = create_app({
        "LOBSTR_TOKEN": None, "DATA_DIR": str(tmp_path_factory.mktemp("browser-data")),
        "DEMO_LATENCY_MS": 0, "LOBSTR_RATE_LIMIT": 0, "LIVE_REFRESH_SECONDS": 1.0,
        # Long enough that even the 5,000-task run is stored before its page answers.
        "LOAD_WAIT_SECONDS": 15.0,
    })
    yield app
    loader = app.extensions["lobstr_dash"].loader
    for run_id in list(loader._threads):
        loader.join(run_id, 10)


@pytest.fixture(scope="session")
def base_url(dashboard: Flask) -> Iterator[str]:
    """The dashboard served on a free loopback port by a threaded werkzeug server."""
    server = make_server("127.0.0.1", 0, dashboard, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-tests-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, launched once for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def watch() -> Watch:
    """What the test's pages reported; checked after the test."""
    return Watch()


@pytest.fixture
def new_context(chromium: Any, base_url: str, watch: Watch) -> Iterator[Callable[..., Any]]:
    """Open browser contexts (JavaScript off, dark, phone-sized, …); every page in them is watched."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", DESKTOP)
        context = chromium.new_context(base_url=base_url, **options)
        context.set_default_timeout(10_000)
        context.add_init_script(WATCH_SCRIPT)
        context.on("page", watch.attach)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    watch.assert_clean()


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    """A page with JavaScript on, desktop-sized, light colour scheme."""
    return new_context(color_scheme="light").new_page()


@pytest.fixture
def nojs_page(new_context: Callable[..., Any]) -> Any:
    """A page with JavaScript off: everything must still work by full reloads."""
    return new_context(java_script_enabled=False, color_scheme="light").new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
