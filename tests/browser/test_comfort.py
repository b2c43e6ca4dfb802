"""Comfort: dark mode from the system, a sticky table header, a phone-width layout, visible focus,
and table markup a screen reader can use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from browser_support import run_url

PHONE = {"width": 360, "height": 740}
BACKGROUND = "getComputedStyle(document.body).backgroundColor"


def test_colour_scheme_follows_the_system_setting(new_context: Any) -> None:
    page = new_context(color_scheme="dark").new_page()
    page.goto(run_url("aborted"))
    assert page.evaluate(BACKGROUND) == "rgb(17, 21, 27)"
    # Only the gap cell is tinted (issue 11): the rest of the row keeps the page's colours.
    gap_cell = page.locator("tr.gap-4 td.gap").first
    dark_row = gap_cell.evaluate("r => getComputedStyle(r).backgroundColor")
    # The system switching to light mode recolours the open page, with no reload.
    page.emulate_media(color_scheme="light")
    assert page.evaluate(BACKGROUND) == "rgb(255, 255, 255)"
    light_row = gap_cell.evaluate("r => getComputedStyle(r).backgroundColor")
    assert dark_row != light_row
    plain = page.locator("tr.gap-4 td.input").first.evaluate("c => getComputedStyle(c).backgroundColor")
    assert plain == "rgba(0, 0, 0, 0)"


def test_table_header_stays_visible_while_the_rows_scroll(page: Any) -> None:
    page.goto(run_url("aborted"))
    header = page.locator("table.task-table thead th").first
    # The page scrolls, not a box inside it (issue 11): one scrollbar, and the header sticks to
    # the top of the window.
    assert page.evaluate("""() => [...document.querySelectorAll('main *')].filter(el => {
        const s = getComputedStyle(el);
        return /(auto|scroll)/.test(s.overflowY) && el.scrollHeight > el.clientHeight + 1;
      }).length""") == 0
    page.evaluate("window.scrollTo(0, 2000)")
    assert page.evaluate("window.scrollY") > 1000, "the page should scroll"
    box = header.bounding_box()
    assert abs(box["y"]) < 2, "the header scrolled away with the rows"
    # And it is painted on top of the rows, not under them.
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('th') !== null",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert hit


def test_usable_at_a_phone_width(new_context: Any, artifacts: Path) -> None:
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    for name, url in (("home", "/"), ("run-aborted", run_url("aborted"))):
        page.goto(url)
        # No sideways scrolling of the page: only the table scrolls, inside its own frame.
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{url} is {widths[0]} px wide on a {widths[1]} px screen"
        # Every control outside the table is within the screen's width.
        off_screen = page.evaluate("""() => [...document.querySelectorAll('input, button, a')]
            .filter(el => !el.closest('.table-wrap') && !el.classList.contains('skip')
                          && el.getClientRects().length > 0)
            .filter(el => { const r = el.getBoundingClientRect();
                            return r.left < 0 || r.right > window.innerWidth + 1; })
            .map(el => el.outerHTML.slice(0, 80))""")
        assert off_screen == [], f"{url}: off screen at {PHONE['width']} px: {off_screen}"
        page.screenshot(path=str(artifacts / f"{name}-phone.png"))
    page.locator("form#filters").get_by_role("checkbox", name=re.compile(r"^aborted")).tap()
    expect(page).to_have_url(re.compile(r"status=aborted"))


def test_keyboard_focus_is_always_visible(page: Any) -> None:
    page.goto(run_url("aborted"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0, "the skip link must show when focused"
    targets = [
        page.locator("#jump-run"),
        page.locator("form#filters input[type=checkbox]").first,
        page.locator("#filter-q"),
        page.locator("form#filters button"),
        page.locator("table.task-table thead a").first,
        page.locator("table.task-table tbody a").first,
        page.locator(".pager a").first,
    ]
    for target in targets:
        target.focus()
        # Keyboard focus (not a click): show the ring the way :focus-visible does.
        page.keyboard.press("Shift")
        style = target.evaluate("""el => {
          const s = getComputedStyle(el);
          return {style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                  visible: el.matches(':focus-visible')};
        }""")
        assert style["visible"] and style["style"] != "none" and style["width"] >= 2, (
            f"{target}: focus ring {style}")


def test_table_markup_names_columns_and_sort_order(page: Any) -> None:
    page.goto(run_url("aborted"))
    headers = page.locator("table.task-table thead th")
    assert headers.count() == 10
    assert set(headers.evaluate_all("hs => hs.map(h => h.getAttribute('scope'))")) == {"col"}
    sorted_by = page.locator("table.task-table th[aria-sort]")
    expect(sorted_by).to_have_count(1)
    expect(sorted_by).to_have_attribute("aria-sort", "descending")
    expect(sorted_by).to_contain_text("Gap")
    # aria-sort tells the order; the arrow is for the eyes and is not read out as "down arrow".
    expect(sorted_by.get_by_role("link")).to_have_accessible_name("Gap")
    page.locator("table.task-table thead").get_by_role("link", name="Started").click()
    expect(sorted_by).to_have_attribute("aria-sort", "ascending")
    expect(sorted_by).to_contain_text("Started")
    page.locator("table.task-table thead").get_by_role("link", name=re.compile("^Started")).click()
    expect(sorted_by).to_have_attribute("aria-sort", "descending")
    # Every form control has a name a screen reader can announce.
    unnamed = page.evaluate("""() => [
        ...document.querySelectorAll('input:not([type=hidden]), button, select')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !(el.tagName === 'BUTTON' && el.textContent.trim()))
        .map(el => el.outerHTML.slice(0, 80))""")
    assert unnamed == []
    # The live regions announce the count line after a swap, not the whole table.
    expect(page.locator("#tasks .count")).to_have_attribute("role", "status")
