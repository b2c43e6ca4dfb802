"""Hostile task params stay text: no script runs, with or without the Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import run_url
from browser_support import wait_until
from lobstr_dash.fake.scenarios import HOSTILE_DESC
from lobstr_dash.ops.security import CONTENT_SECURITY_POLICY

# Positions 8, 24, 62 and 78 of the mixed run hold the hostile params and done_reason_desc.
MIXED_BY_POSITION = run_url("mixed", "?sort=position&dir=asc")
# Anything the page runs (a real alert or an onerror handler) sets this flag or opens a dialog.
TRAP = "window.__pwned = false; window.alert = () => { window.__pwned = true; };"


def assert_hostile_rows_are_text(page: Any) -> None:
    """The four hostile inputs show as literal text, and none became markup or a link."""
    table = page.locator("table.task-table")
    expect(table.locator("td.input").filter(has_text="<script>alert(1)</script>")).to_have_count(1)
    expect(table.locator("td.input").filter(has_text='"><img src=x onerror=alert(1)>')).to_have_count(1)
    expect(table.locator(".unsafe-url", has_text="javascript:alert(1)")).to_have_count(1)
    expect(table.locator(f'.reason[title="{HOSTILE_DESC}"]')).to_have_count(1)
    expect(table.locator("td").filter(has_text=f"account_blocked: {HOSTILE_DESC}")).to_have_count(1)
    assert table.locator("script, img, iframe, object, embed").count() == 0
    assert page.locator('a[href^="javascript:"], [onerror], [onload], [onclick]').count() == 0
    assert page.evaluate("window.__pwned") is False


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
def test_hostile_params_never_execute(new_context: Any, csp: str) -> None:
    # With the CSP bypassed, only the templates' escaping stands between a param and the page.
    context = new_context(bypass_csp=(csp == "bypassed"))
    context.add_init_script(TRAP)
    page = context.new_page()
    page.goto(MIXED_BY_POSITION)
    assert_hostile_rows_are_text(page)
    # The same rows arriving through an htmx swap (innerHTML) must stay text as well.
    page.fill("#filter-q", "alert")
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 1–3 of 3 matching")
    table = page.locator("table.task-table")
    expect(table.locator("td.input").filter(has_text="<script>alert(1)</script>")).to_have_count(1)
    assert table.locator("script, img").count() == 0
    assert page.evaluate("window.__pwned") is False


def test_hostile_params_stay_text_without_javascript(nojs_page: Any) -> None:
    nojs_page.goto(MIXED_BY_POSITION)
    table = nojs_page.locator("table.task-table")
    expect(table.locator("td.input").filter(has_text="<script>alert(1)</script>")).to_have_count(1)
    assert table.locator("script, img").count() == 0
    assert nojs_page.locator('a[href^="javascript:"]').count() == 0


def test_the_watcher_sees_a_csp_violation(page: Any, watch: Any, base_url: str) -> None:
    # Proves the harness: an inline script under the app's CSP is refused and reported.
    probe = f"{base_url}/__csp-probe"
    page.route(probe, lambda route: route.fulfill(
        body="<!doctype html><title>probe</title><p style='color:red'>x</p><script>alert(1)</script>",
        content_type="text/html", headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY}))
    page.goto(probe)
    expect(page.locator("p")).to_have_text("x")
    wait_until(page, "window.__cspViolations.length >= 2")
    seen = "\n".join(watch.problems)
    assert "script-src" in seen and "style-src" in seen
    assert not watch.dialogs
    watch.problems.clear()
