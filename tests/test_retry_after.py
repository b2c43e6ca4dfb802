"""lobstr's Retry-After is waited out exactly: no request of that endpoint family goes before it,
a page that cannot wait says so, and the run still loads completely. On a fake clock, over HTTP."""

from __future__ import annotations

from typing import Any

from helpers import soup
from lobstr_dash import create_app
from lobstr_dash.fake import FaultRule
from lobstr_dash.fake import synthetic_run_id
from support import TOKEN
from support import make_rows
from support import dashboard_config

RUN = synthetic_run_id("retry-after-450")


def test_after_a_429_retry_after_45_the_next_request_waits_45_s_and_the_run_loads(
        served_fake: Any, fake_clock: Any, tmp_path: Any) -> None:
    fake, base_url = served_fake(tokens={TOKEN}, clock=fake_clock, extra_runs={RUN: 450})
    fake.state.faults.append(FaultRule(endpoint="runtasks", page=2, status=429, retry_after=45,
                                       times=1))
    # One page at a time, so "after" is plain: every request sent once the 429 was answered.
    app = create_app(dashboard_config(None, str(tmp_path), base_url=base_url, CLOCK=fake_clock,
                                      LOBSTR_MAX_RETRY_AFTER=900, EXPORT_WAIT_SECONDS=30,
                                      LOBSTR_CONCURRENCY=1))
    body = app.test_client().get(f"/runs/{RUN}/tasks.json").json
    assert body["complete"] is True and len(body["tasks"]) == 450
    pages = [r for r in fake.state.requests if r.endpoint == "runtasks"]
    refused = next(r for r in pages if r.status == 429)
    after = pages[pages.index(refused) + 1:]
    # Nothing reached the runtasks family of lobstr before the 45 s it asked for were over.
    assert after and min(r.at for r in after) >= refused.at + 45
    assert sum(r.page == 2 for r in pages) == 2  # the refused page once more, no hammering


def test_a_page_that_cannot_wait_says_how_long_lobstr_asked_for(served_fake: Any,
                                                               tmp_path: Any) -> None:
    fake, base_url = served_fake(tokens={TOKEN}, extra_runs={RUN: 450})
    fake.state.faults.append(FaultRule(endpoint="runtasks", page=1, status=429, retry_after=45,
                                       times=1))
    app = create_app(dashboard_config(None, str(tmp_path), base_url=base_url,
                                      LOAD_WAIT_SECONDS=0.5, LOBSTR_MAX_RETRY_AFTER=900))
    page = app.test_client().get(f"/runs/{RUN}")
    assert page.status_code == 200  # at once, with the progress view
    text = soup(page).select_one("#run-status").get_text(" ", strip=True)
    assert "lobstr asked us to wait" in text
    limiter = app.extensions["lobstr_dash"].client.limiter
    assert 40 < limiter.pause_left("runtasks") <= 45
    assert fake.count(RUN) == 1  # and nothing more was asked meanwhile


def test_a_free_plan_cap_is_named_and_never_a_failed_page(served_fake: Any, tmp_path: Any) -> None:
    fake, base_url = served_fake(tokens={TOKEN}, extra_runs={RUN: 450}, plan_cap=150)
    app = create_app(dashboard_config(None, str(tmp_path), base_url=base_url))
    client = app.test_client()
    body = client.get(f"/runs/{RUN}/tasks.json").json
    assert len(body["tasks"]) == 150 and body["missing_positions"] == []
    assert body["lobstr_warning"].startswith("Export limit reached - only 150 results returned")
    assert body["not_returned_by_lobstr"] == 300
    # Loading stopped at the cap: beyond the pages already in flight when page 2 said so (four
    # at a time), none was asked for, and none twice (an empty page with the warning is no fault).
    asked = [r.page for r in fake.state.requests if r.endpoint == "runtasks"]
    assert sorted(asked) == sorted(set(asked)) and set(asked) <= {1, 2, 3, 4, 5}
    page = client.get(f"/runs/{RUN}")
    text = soup(page).select_one("#run-status").get_text(" ", strip=True)
    assert "Export limit reached - only 150 results returned" in text
    assert "300 of 450 tasks were not returned by lobstr (plan limit)" in text
    assert "Retry the missing rows" not in page.get_data(as_text=True)
    assert "kept failing" not in text
    # The verdict never says "nothing missing" of tasks it cannot see.
    verdict = soup(page).select_one("#verdict-title").get_text(" ", strip=True)
    assert verdict.endswith("results missing 150 of 450 tasks")  # the badge: what it covers
    assert "lobstr did not return 300 of the run's 450 tasks" in text
    digest = client.get(f"/runs/{RUN}/digest.txt").get_data(as_text=True)
    assert "Export limit reached" in digest
    csv_answer = client.get(f"/runs/{RUN}/tasks.csv")
    assert csv_answer.headers["X-Lobstr-Warning"].startswith("Export limit reached")
    assert csv_answer.get_data(as_text=True).count("\r\n") == 151


def test_a_capped_run_whose_returned_tasks_are_whole_is_not_called_complete(
        served_fake: Any, tmp_path: Any) -> None:
    fake, base_url = served_fake(tokens={TOKEN}, plan_cap=100)
    fake.add_run(RUN, make_rows(RUN, 250, short_every=0))
    app = create_app(dashboard_config(None, str(tmp_path), base_url=base_url))
    page = app.test_client().get(f"/runs/{RUN}")
    verdict = soup(page).select_one("section.verdict")
    assert "verdict-limited" in verdict["class"]
    assert verdict.select_one("#verdict-title").get_text(" ", strip=True) == (
        "Nothing missing in the 100 tasks lobstr returned")
    assert "lobstr did not return 150 of the run's 250 tasks" in verdict.get_text(" ", strip=True)
