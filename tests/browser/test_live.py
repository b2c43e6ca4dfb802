"""The live demo run (tasks still running) updates itself while someone watches it."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from browser_support import run_url
from browser_support import wait_until

LIVE = run_url("live")
COLLECTED = "#run-status .figures div:has(> dt:text-is('Collected')) dd"


def test_live_run_updates_itself_in_place(page: Any) -> None:
    page.goto(LIVE)
    expect(page.locator("#run-status")).to_have_attribute("hx-trigger", re.compile(r"^every 1s$"))
    before = page.locator(COLLECTED).inner_text()
    page.evaluate("""() => {
      window.__sameDocument = true;
      document.querySelector('#tasks').__before = true;
    }""")
    # The fake's tasks collect results every second or so: the figure moves without a reload.
    expect(page.locator(COLLECTED)).not_to_have_text(before, timeout=15_000)
    # The status poll tells the table it is stale, and the table reloads itself too.
    wait_until(page, "!document.querySelector('#tasks').__before")
    assert page.evaluate("window.__sameDocument === true"), "the live view reloaded the whole page"
    assert page.url.endswith(LIVE), "a refresh must not push a URL into the history"


def test_live_run_refreshes_itself_without_javascript(nojs_page: Any) -> None:
    nojs_page.goto(LIVE)
    before = nojs_page.locator(COLLECTED).inner_text()
    # <noscript><meta http-equiv=refresh> reloads the page every LIVE_REFRESH_SECONDS.
    with nojs_page.expect_event("framenavigated", timeout=10_000):
        pass
    expect(nojs_page.locator(COLLECTED)).not_to_have_text(before, timeout=15_000)
