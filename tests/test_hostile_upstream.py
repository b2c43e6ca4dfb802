"""An upstream that lies, drips, floods and redirects (lobstr_dash.fake.hostile, raw sockets over
real loopback HTTP): every size and every wait stays bounded, and no route answers a 5xx it
should not (a 502/503 that says what lobstr did is the honest answer to a broken upstream)."""

from __future__ import annotations

import csv
import io
import threading
import time
import tracemalloc
from typing import Any

import pytest
from flask import Flask

from helpers import soup
from lobstr_dash import create_app
from lobstr_dash.fake.hostile import HostileLobstr
from support import TOKEN
from support import dashboard_config

RUN = "4a1f" * 8
BUDGET = 2.0


def dashboard(tmp_path: Any, base_url: str, **overrides: Any) -> Flask:
    """A dashboard against a hostile upstream over real HTTP, with short budgets."""
    config = dashboard_config(None, str(tmp_path / "data"), base_url=base_url,
                              LOBSTR_RETRY_BUDGET=BUDGET, LOBSTR_READ_TIMEOUT=1.5,
                              LOBSTR_CONNECT_TIMEOUT=1.0, LOAD_WAIT_SECONDS=8.0,
                              EXPORT_WAIT_SECONDS=8.0, LOBSTR_RATE_LIMIT=0)
    config.update(overrides)
    return create_app(config)


def finish(app: Flask, run_id: str = RUN) -> None:
    app.extensions["lobstr_dash"].loader.join(run_id, 30)


def test_a_claim_of_a_billion_pages_costs_a_handful_of_requests_and_is_named(tmp_path: Any) -> None:
    with HostileLobstr("liar") as hostile:
        base_url = hostile.base_url
        app = dashboard(tmp_path, base_url)
        client = app.test_client()
        tracemalloc.start()
        body = client.get(f"/runs/{RUN}/tasks.json").json
        finish(app)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        asked = hostile.count("runtasks")
        status = soup(client.get(f"/runs/{RUN}")).select_one("#run-status").get_text(" ", strip=True)
    assert asked <= 30, asked  # page 1, pages 2-3, then empty pages until the list plainly ended
    assert peak < 50 * 1024 * 1024
    assert len(body["tasks"]) == 250 and body["complete"] is True
    assert "lobstr claimed 1,000,000,000 pages" in status and "read 3" in status


def test_pages_that_answer_404_past_the_end_trip_the_breaker(tmp_path: Any) -> None:
    with HostileLobstr("liar_404") as hostile:
        base_url = hostile.base_url
        app = dashboard(tmp_path, base_url, LOBSTR_MAX_PAGES=500)
        client = app.test_client()
        client.get(f"/runs/{RUN}")
        finish(app)
        asked = hostile.count("runtasks")
        body = client.get(f"/runs/{RUN}/tasks.json").json
        page = client.get(f"/runs/{RUN}")
    assert asked <= 40, asked  # 3 good pages, 20 failures in a row, a few in flight
    assert len(body["tasks"]) == 250 and body["complete"] is False
    assert body["missing_positions"][0] == [301, 400]
    assert page.status_code == 200


@pytest.mark.parametrize("mode", ["flood", "flood_declared", "gzip_bomb"])
def test_a_page_far_larger_than_asked_is_refused_without_reading_it_into_memory(
        tmp_path: Any, mode: str) -> None:
    with HostileLobstr(mode) as hostile:
        base_url = hostile.base_url
        app = dashboard(tmp_path, base_url)
        client = app.test_client()
        tracemalloc.start()
        started = time.monotonic()
        answer = client.get(f"/runs/{RUN}/tasks.json")
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        asked = hostile.count("runtasks")
        proxied = client.get(f"/api/v1/runtasks?run={RUN}&page=1&limit=100")
    assert peak < 40 * 1024 * 1024, peak  # the 8 MB ceiling, a copy and change; never 60 MB+
    assert answer.status_code == 502 and answer.json["kind"] == "bad_response"
    assert asked == 1  # a page too large will not shrink: never asked again
    assert elapsed < BUDGET + 2
    assert proxied.status_code == 502 and proxied.mimetype == "application/json"


def test_a_drip_fed_answer_is_cut_at_the_budget(tmp_path: Any) -> None:
    for mode in ("drip", "drip_headers"):
        with HostileLobstr(mode, interval=0.2) as hostile:
            base_url = hostile.base_url
            app = dashboard(tmp_path / mode, base_url, LOBSTR_MAX_ATTEMPTS=1)
            client = app.test_client()
            started = time.monotonic()
            answer = client.get(f"/api/v1/runtasks?run={RUN}&page=1&limit=100")
            elapsed = time.monotonic() - started
        assert answer.status_code == 503, mode
        assert "time budget" in answer.json["error"]
        assert BUDGET - 0.3 < elapsed < BUDGET + 1.0, (mode, elapsed)


def test_twenty_requests_on_a_drip_feeding_upstream_end_in_budget_and_fail_fast_past_the_slots(
        tmp_path: Any) -> None:
    with HostileLobstr("drip", interval=0.5) as hostile:
        base_url = hostile.base_url
        app = dashboard(tmp_path, base_url, LOBSTR_MAX_ATTEMPTS=1)
        times: list[tuple[int, float]] = []

        def ask() -> None:
            started = time.monotonic()
            answer = app.test_client().get(f"/api/v1/runtasks?run={RUN}&page=1&limit=100")
            times.append((answer.status_code, time.monotonic() - started))

        threads = [threading.Thread(target=ask) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(times) == 20
    assert all(status == 503 and seconds < BUDGET + 1.5 for status, seconds in times), times
    fast = [seconds for _, seconds in times if seconds < 1.5]
    assert len(fast) >= 16  # past the 4 request slots, a call fails at once: no thread held


def test_a_redirect_is_not_followed(tmp_path: Any) -> None:
    with HostileLobstr("redirect") as hostile:
        base_url = hostile.base_url
        client = dashboard(tmp_path, base_url).test_client()
        answer = client.get(f"/api/v1/runtasks?run={RUN}&page=1&limit=100")
        page = client.get(f"/runs/{RUN}")
        asked_elsewhere = hostile.count("elsewhere")
    assert answer.status_code == 502 and "redirect" in answer.json["error"]
    assert answer.mimetype == "application/json"
    assert page.status_code == 502
    assert asked_elsewhere == 0


def test_the_pass_through_is_json_whatever_upstream_says(tmp_path: Any) -> None:
    with HostileLobstr("json_as_html") as hostile:
        base_url = hostile.base_url
        answer = dashboard(tmp_path, base_url).test_client().get(
            f"/api/v1/runtasks?run={RUN}&page=1&limit=100")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert len(answer.json["data"]) == 100
    with HostileLobstr("html") as hostile:
        base_url = hostile.base_url
        answer = dashboard(tmp_path / "h", base_url).test_client().get(
            f"/api/v1/runtasks?run={RUN}&page=1&limit=100")
    assert answer.status_code == 502 and answer.mimetype == "application/json"
    assert "<script>" not in answer.get_data(as_text=True)


def test_deep_json_is_a_clear_502_never_a_500(tmp_path: Any) -> None:
    with HostileLobstr("deep") as hostile:
        base_url = hostile.base_url
        client = dashboard(tmp_path, base_url).test_client()
        answer = client.get(f"/api/v1/runtasks?run={RUN}&page=1&limit=100")
        page = client.get(f"/runs/{RUN}")
    assert answer.status_code == 502 and "nests JSON too deeply" in answer.json["error"]
    assert page.status_code == 502 and "too deeply" in page.get_data(as_text=True)


def test_counts_past_int64_are_clamped_and_every_route_answers(tmp_path: Any) -> None:
    with HostileLobstr("huge_counts") as hostile:
        base_url = hostile.base_url
        app = dashboard(tmp_path, base_url)
        client = app.test_client()
        routes = ["", "/tasks.csv", "/tasks.json", "/digest", "/digest.txt", "/requeue.csv",
                  "/requeue.txt", "?sort=expected", "?sort=gap&dir=asc"]
        answers = {route: client.get(f"/runs/{RUN}{route}") for route in routes}
    assert {route: a.status_code for route, a in answers.items()} == dict.fromkeys(routes, 200)
    tasks = answers["/tasks.json"].json["tasks"]
    assert [t["expected"] for t in tasks] == [10**12, 10**12, 10**12]
    assert max(t["collected"] for t in tasks) == 10**12
    rows = list(csv.DictReader(io.StringIO(answers["/tasks.csv"].get_data(as_text=True))))
    assert {r["expected"] for r in rows} == {str(10**12)}
    status = soup(answers[""]).select_one("#run-status").get_text(" ", strip=True)
    assert "3 tasks came with counts past 1,000,000,000,000 (implausible)" in status


def test_the_token_is_redacted_in_any_spelling(tmp_path: Any) -> None:
    with HostileLobstr("echo_token") as hostile:
        base_url = hostile.base_url
        client = dashboard(tmp_path, base_url).test_client()
        answers = [client.get(f"/api/v1/runtasks?run={RUN}&page=1&limit=100"),
                   client.get(f"/runs/{RUN}"), client.get(f"/runs/{RUN}/tasks.json")]
    texts = " ".join(a.get_data(as_text=True) for a in answers)
    assert "[redacted]" in texts
    for spelling in (TOKEN, TOKEN.upper(), TOKEN.lower(), "SECRET", "6f1c2e9a",
                     "%74%6F%6B", "\\u0074\\u006f\\u006b"):
        assert spelling.lower() not in texts.lower(), spelling
    import base64
    assert base64.b64encode(f"Token {TOKEN}".encode()).decode()[8:-8] not in texts
