"""A person's path through the dashboard: paste a run, filter, sort, page, and come Back."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from browser_support import run_url
from lobstr_dash.fake import DEMO_RUN_IDS

ABORTED = DEMO_RUN_IDS["aborted"]


def mark_document(page: Any) -> None:
    """Tag the current document, so a later check tells an htmx swap from a full reload."""
    page.evaluate("window.__sameDocument = true")


def same_document(page: Any) -> bool:
    """True while no full page load happened since `mark_document`."""
    return page.evaluate("window.__sameDocument === true")


def statuses(page: Any) -> set[str]:
    """The status chips of the table's rows."""
    return set(page.locator("table.task-table tbody td:nth-child(2)").all_inner_texts())


def test_home_paste_a_lobstr_url_opens_the_run_page(page: Any) -> None:
    page.goto("/")
    expect(page.locator("#run-input")).to_be_focused()
    page.fill("#run-input", f"see https://app.lobstr.io/dashboard/runs/{ABORTED.upper()} please")
    page.press("#run-input", "Enter")
    expect(page).to_have_url(re.compile(rf"/runs/{ABORTED}$"))
    expect(page.locator("h1")).to_contain_text(ABORTED)
    expect(page.locator("#run-status .figures")).to_contain_text("300")
    expect(page.locator("table.task-table tbody tr")).to_have_count(100)


def test_home_rejects_text_without_a_run_id_and_says_why(page: Any, watch: Any) -> None:
    watch.allow(r"status of 400")  # the form answers 400 with the message; the browser logs it
    page.goto("/")
    page.fill("#run-input", "no run id here")
    page.press("#run-input", "Enter")
    expect(page.locator("#run-error")).to_be_visible()
    expect(page.locator("#run-input")).to_have_attribute("aria-invalid", "true")


def test_demo_card_and_header_box_open_runs(page: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="Clean completed run").click()
    expect(page).to_have_url(re.compile(rf"/runs/{DEMO_RUN_IDS['clean']}$"))
    page.fill("#jump-run", DEMO_RUN_IDS["empty"])
    page.press("#jump-run", "Enter")
    expect(page).to_have_url(re.compile(rf"/runs/{DEMO_RUN_IDS['empty']}$"))
    expect(page.locator(".verdict")).to_contain_text("This run has no tasks")


def test_filter_sort_page_update_the_address_bar_without_reloading(page: Any) -> None:
    page.goto(run_url("aborted"))
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 1–100 of 300")
    mark_document(page)

    page.locator("form#filters").get_by_role("checkbox", name=re.compile(r"^aborted")).check()
    expect(page).to_have_url(re.compile(r"\?status=aborted$"))
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 1–100 of 116 matching (of 300)")
    assert statuses(page) == {"aborted"}

    page.locator("table.task-table thead").get_by_role("link", name="Expected").click()
    expect(page).to_have_url(re.compile(r"\?status=aborted&sort=expected$"))
    expect(page.locator("th[aria-sort]")).to_have_count(1)
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("th[aria-sort]")).to_contain_text("Expected")

    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"\?status=aborted&sort=expected&page=2$"))
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 101–116 of 116")
    expect(page.locator("table.task-table tbody tr")).to_have_count(16)

    page.fill("#filter-q", "florist")
    expect(page).to_have_url(re.compile(r"[?&]q=florist"))
    expect(page.locator("#tasks .count")).to_contain_text("matching (of 300)")
    # The input column shows what differs between rows; the full URL is the link's title.
    inputs = page.locator("table.task-table tbody td.input a").evaluate_all(
        "links => links.map(a => a.title)")
    assert inputs and all("florist" in text for text in inputs)
    assert statuses(page) == {"aborted"}
    assert same_document(page), "a filter, sort or page change reloaded the whole page"


def test_back_restores_the_previous_view(page: Any) -> None:
    page.goto(run_url("aborted"))
    first_cell = page.locator("table.task-table tbody tr td").first
    first_position = first_cell.inner_text()
    page.locator("table.task-table thead").get_by_role("link", name="Collected").click()
    expect(page).to_have_url(re.compile(r"\?sort=collected$"))
    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"\?sort=collected&page=2$"))
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 101–200 of 300")

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?sort=collected$"))
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 1–100 of 300")
    expect(page.locator("th[aria-sort]")).to_contain_text("Collected")

    page.go_back()
    expect(page).to_have_url(re.compile(rf"/runs/{ABORTED}$"))
    expect(page.locator("th[aria-sort]")).to_contain_text("Gap")
    expect(first_cell).to_have_text(first_position)

    page.go_forward()
    expect(page).to_have_url(re.compile(r"\?sort=collected$"))
    expect(page.locator("th[aria-sort]")).to_contain_text("Collected")


def test_slash_focuses_the_search_box(page: Any, watch: Any) -> None:
    watch.allow(r"status of 404")
    page.goto(run_url("aborted"))
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(page.locator("#filter-q")).to_be_focused()
    assert page.input_value("#filter-q") == "", "the '/' itself must not be typed into the box"
    page.keyboard.type("dentist/")  # once in a text box, "/" is an ordinary character
    assert page.input_value("#filter-q") == "dentist/"

    page.goto("/")
    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.locator("#run-input")).to_be_focused()

    page.goto("/runs/" + "0" * 32)  # an error page: no search box of its own, so the header's
    page.locator("h1").first.click()
    page.keyboard.press("/")
    expect(page.locator("#jump-run")).to_be_focused()
