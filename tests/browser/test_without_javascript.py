"""With JavaScript off, every flow still works: forms and links do full page loads."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from browser_support import run_url
from lobstr_dash.fake import DEMO_RUN_IDS

ABORTED = DEMO_RUN_IDS["aborted"]


def test_paste_a_run_without_javascript(nojs_page: Any) -> None:
    page = nojs_page
    page.goto("/")
    page.fill("#run-input", f"https://app.lobstr.io/dashboard/runs/{ABORTED}")
    page.get_by_role("button", name="Open run").click()
    expect(page).to_have_url(re.compile(rf"/runs/{ABORTED}$"))
    expect(page.locator("#run-status .figures")).to_contain_text("300")
    expect(page.locator("table.task-table tbody tr")).to_have_count(100)


def test_filter_sort_page_and_back_without_javascript(nojs_page: Any) -> None:
    page = nojs_page
    page.goto(run_url("aborted"))
    filters = page.locator("form#filters")
    filters.get_by_role("checkbox", name=re.compile(r"^aborted")).check()
    page.fill("#filter-q", "florist")
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=aborted"))
    expect(page).to_have_url(re.compile(r"q=florist"))
    expect(page.locator("#tasks .count")).to_contain_text("matching (of 300)")
    expect(page.locator("#filter-q")).to_have_value("florist")
    expect(filters.get_by_role("checkbox", name=re.compile(r"^aborted"))).to_be_checked()
    florist_count = page.locator("#tasks .count").inner_text()

    page.locator("table.task-table thead").get_by_role("link", name="Duration").click()
    expect(page).to_have_url(re.compile(r"sort=duration"))
    expect(page.locator("th[aria-sort]")).to_contain_text("Duration")
    expect(page.locator("#filter-q")).to_have_value("florist")

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=florist"))
    expect(page.locator("#tasks .count")).to_have_text(florist_count)
    expect(page.locator("th[aria-sort]")).to_contain_text("Gap")

    page.goto(run_url("aborted"))
    page.locator(".pager").get_by_role("link", name="Last »").click()
    expect(page).to_have_url(re.compile(r"\?page=3$"))
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 201–300 of 300")
    page.locator(".pager").get_by_role("link", name="‹ Previous").click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?page=3$"))
    expect(page.locator("#tasks .count")).to_contain_text("Tasks 201–300 of 300")


def test_facet_links_filter_without_javascript(nojs_page: Any) -> None:
    page = nojs_page
    page.goto(run_url("mixed"))
    # The facets are the filters: a checkbox per value, applied by the form (issue 11).
    filters = page.locator("form#filters")
    filters.locator("fieldset", has_text="Status").get_by_role(
        "checkbox", name=re.compile(r"^completed")).check()
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=completed"))
    statuses = set(page.locator("table.task-table tbody td:nth-child(2)").all_inner_texts())
    assert statuses == {"completed"}
    page.locator("#run-status .figures").get_by_role("link").click()  # "Tasks short"
    expect(page).to_have_url(re.compile(r"short=1"))
