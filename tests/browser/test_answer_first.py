"""Issue 11 in a real browser: the verdict on the first screen, a filter panel that stays true
while a run loads and after Back, a phone width without sideways scrolling, and no blank band
below the footer. JavaScript on and off."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from browser_support import WATCH_SCRIPT
from browser_support import run_url
from browser_support import wait_until
from lobstr_dash import create_app

WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
JS = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])

#: The panel's figures as a user reads them: every checkbox's label and count, in order.
FACETS = """() => [...document.querySelectorAll('#facets li.facet-value')]
  .map(li => li.querySelector('input').name + '=' + li.querySelector('input').value + ' '
             + li.querySelector('.facet-count').textContent)"""


def open_page(new_context: Callable[..., Any], js: bool, **options: Any) -> Any:
    """A page in a new context (desktop 1440×900 unless told otherwise)."""
    options.setdefault("viewport", WIDE)
    return new_context(java_script_enabled=js, color_scheme="light", **options).new_page()


@JS
@pytest.mark.parametrize("slug", ["big", "mixed"])
def test_the_verdict_is_on_the_first_screen(new_context: Any, artifacts: Path, slug: str,
                                            js: bool) -> None:
    page = open_page(new_context, js)
    page.goto(run_url(slug))
    verdict = page.locator(".verdict")
    expect(verdict).to_be_visible()
    expect(page.locator("#verdict-title")).to_contain_text("results missing")
    box = verdict.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= WIDE["height"], box
    # The first cause (its share, its name, its link) is inside the first screen too.
    cause = page.locator(".verdict .cause a").first
    expect(cause).to_contain_text("%")
    link = cause.bounding_box()
    assert link["y"] + link["height"] <= WIDE["height"]
    assert re.search(r"\?class=(site|account|aborted|other)$", cause.get_attribute("href"))
    page.screenshot(path=str(artifacts / f"first-screen-{slug}-{'js' if js else 'nojs'}.png"))


@pytest.fixture
def cold_dashboard(tmp_path: Path) -> Iterator[str]:
    """A dashboard of its own (nothing loaded yet) with a slow upstream, so a big run loads for
    a few seconds while the page is open."""
    app = create_app({"LOBSTR_TOKEN": None, "DATA_DIR": str(tmp_path / "cold"),
                      "DEMO_LATENCY_MS": 120, "LOBSTR_RATE_LIMIT": 0, "LOAD_WAIT_SECONDS": 1.0})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    loader = app.extensions["lobstr_dash"].loader
    for run_id in list(loader._threads):
        loader.join(run_id, 30)


def test_after_a_cold_open_has_loaded_the_panel_equals_a_fresh_reload(
        chromium: Any, cold_dashboard: str, watch: Any, artifacts: Path) -> None:
    context = chromium.new_context(base_url=cold_dashboard, viewport=WIDE)
    context.add_init_script(WATCH_SCRIPT)
    context.on("page", watch.attach)
    try:
        page = context.new_page()
        page.goto(run_url("big"))
        # The first view is partial: lobstr's stats give the estimate, the panel says "so far".
        expect(page.locator("#run-status progress")).to_be_visible()
        expect(page.locator("#verdict-title")).to_contain_text("estimate")
        page.screenshot(path=str(artifacts / "cold-big-loading.png"))
        during = page.evaluate(FACETS)
        # Wait, as a user would, until the progress bar has gone.
        wait_until(page, "!document.querySelector('#run-status progress')", timeout=60)
        wait_until(page, "!document.querySelector('#facets legend .muted')", timeout=10)
        after = page.evaluate(FACETS)
        summary_short = page.locator(".figures div:has(> dt:text-is('Tasks short')) dd").inner_text()
        page.reload()
        fresh = page.evaluate(FACETS)
        assert after == fresh
        assert after != during, "the panel never moved while the run loaded"
        assert f"short=1 {summary_short}" in fresh  # the same short count as the summary
        expect(page.locator("#verdict-title")).not_to_contain_text("estimate")
    finally:
        context.close()
    watch.assert_clean()


def checkbox(page: Any, group: str, name: str) -> Any:
    """One checkbox of the filter panel, by its group's legend and its label."""
    return page.locator("#facets fieldset", has=page.locator(f"legend:text-is('{group}')")) \
        .get_by_role("checkbox", name=re.compile(rf"^{re.escape(name)}\b"))


@JS
def test_back_restores_the_checked_filters_and_combining_keeps_them(new_context: Any,
                                                                    js: bool) -> None:
    page = open_page(new_context, js)
    page.goto(run_url("mixed"))

    def apply() -> None:
        if not js:
            page.locator("form#filters").get_by_role("button", name="Apply").click()

    def url(query: str) -> re.Pattern[str]:
        # Without JavaScript the form also names its empty text field.
        return re.compile(rf"\?{re.escape(query)}(&q=)?$")

    checkbox(page, "Status", "error").check()
    apply()
    expect(page).to_have_url(url("status=error"))
    errors = page.locator("#tasks .count").inner_text()
    checkbox(page, "Done reason", "request_failed").check()
    apply()
    expect(page).to_have_url(url("status=error&reason=request_failed"))

    page.go_back()
    expect(page).to_have_url(url("status=error"))
    expect(checkbox(page, "Status", "error")).to_be_checked()
    expect(checkbox(page, "Done reason", "request_failed")).not_to_be_checked()
    expect(page.locator("#tasks .count")).to_have_text(errors)
    # Ticking another reason after Back keeps the status filter.
    checkbox(page, "Done reason", "cookies_expired").check()
    apply()
    expect(page).to_have_url(url("status=error&reason=cookies_expired"))
    expect(checkbox(page, "Status", "error")).to_be_checked()

    page.go_back()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f]{32}$"))
    expect(page.locator("#facets input:checked")).to_have_count(0)
    page.go_forward()
    expect(page).to_have_url(url("status=error"))
    expect(checkbox(page, "Status", "error")).to_be_checked()


@JS
@pytest.mark.parametrize("slug", ["big", "mixed", "live"])
def test_a_phone_never_scrolls_sideways_and_rows_are_cards(new_context: Any, artifacts: Path,
                                                           slug: str, js: bool) -> None:
    page = open_page(new_context, js, viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(run_url(slug))
    expect(page.locator("table.task-table tbody tr").first).to_be_visible()
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{slug}: {width} px wide on a {inner} px screen"
    card = page.locator("table.task-table tbody tr").first
    assert card.evaluate("r => getComputedStyle(r).display") == "grid"
    for label in ("Expected", "Collected", "Gap", "Done reason"):
        expect(card.locator(f"td[data-label='{label}']")).to_be_visible()
    expect(card.locator("td.status .chip")).to_be_visible()
    page.screenshot(path=str(artifacts / f"phone-{slug}-{'js' if js else 'nojs'}.png"))


FOOTER_GAP = """() => {
  const foot = document.querySelector('footer.foot').getBoundingClientRect();
  return document.documentElement.scrollHeight - (foot.bottom + window.scrollY);
}"""


@JS
@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["wide", "phone"])
def test_no_blank_area_below_the_footer(new_context: Any, viewport: dict[str, int],
                                        js: bool) -> None:
    page = open_page(new_context, js, viewport=viewport)
    for url in (run_url("mixed"), run_url("big", "?page=3"), run_url("empty"), "/", "/reasons"):
        page.goto(url)
        expect(page.locator("footer.foot")).to_be_visible()
        assert page.evaluate(FOOTER_GAP) <= 1, f"{url}: blank space below the footer"
        foot = page.locator("footer.foot").bounding_box()
        # On a short page the footer sits at the bottom of the window, not half-way up.
        height = page.evaluate("document.documentElement.scrollHeight")
        if height <= viewport["height"]:
            assert foot["y"] + foot["height"] >= viewport["height"] - 1, url


@JS
def test_the_empty_run_shows_its_own_message(new_context: Any, js: bool) -> None:
    page = open_page(new_context, js)
    page.goto(run_url("empty"))
    expect(page.locator("#verdict-title")).to_have_text("This run has no tasks")
    expect(page.locator("form#filters")).to_have_count(0)
    expect(page.locator("table.task-table")).to_have_count(0)
    expect(page.locator("#charts")).to_have_count(0)


def test_a_second_visit_asks_for_no_static_file(chromium: Any, tmp_path: Path, watch: Any) -> None:
    app = create_app({"LOBSTR_TOKEN": None, "DATA_DIR": str(tmp_path / "second"),
                      "DEMO_LATENCY_MS": 0, "LOBSTR_RATE_LIMIT": 0, "LOAD_WAIT_SECONDS": 15.0})
    asked: list[str] = []
    inner = app.wsgi_app

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        if "/static/" in environ.get("PATH_INFO", ""):
            asked.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    server = make_server("127.0.0.1", 0, counting, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = chromium.new_context(base_url=f"http://127.0.0.1:{server.server_port}",
                                   viewport=WIDE)
    context.add_init_script(WATCH_SCRIPT)
    context.on("page", watch.attach)
    try:
        page = context.new_page()
        page.goto(run_url("aborted"))
        expect(page.locator("table.task-table tbody tr")).to_have_count(100)
        first = list(asked)
        assert any(p.endswith("/app.css") for p in first) and any(p.endswith("/app.js") for p in first)
        asked.clear()
        page.goto("/")  # another page, then the same one again: both from the browser's cache
        page.goto(run_url("mixed"))
        expect(page.locator("#verdict-title")).to_be_visible()
        assert asked == [], f"static files asked again: {asked}"
    finally:
        context.close()
        server.shutdown()
        thread.join(5)
        loader = app.extensions["lobstr_dash"].loader
        for run_id in list(loader._threads):
            loader.join(run_id, 10)
    watch.assert_clean()


def test_the_keyboard_keeps_its_place_while_the_panel_is_redrawn(page: Any) -> None:
    page.goto(run_url("mixed"))
    first = page.locator("#facets input[name=status]").first
    first.focus()
    focused = page.evaluate("document.activeElement.id")
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"\?status=\w+$"))
    expect(page.locator("#tasks .count")).to_contain_text("matching")
    # The panel was redrawn (out of band), and the focus is back on the same checkbox.
    assert page.evaluate("document.activeElement.id") == focused
    assert page.evaluate("document.activeElement.checked") is True
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"\?status=\w+&status=\w+$"))
