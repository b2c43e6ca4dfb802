"""Big runs, fast and polite: single flight, takeover of dead loads, pacing, growing runs."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from typing import Any

import pytest
from flask import Flask

import support
from support import RUN
from support import make_rows
from helpers import soup
from lobstr_dash import create_app
from lobstr_dash.fake import FaultRule
from lobstr_dash.fake import synthetic_run_id
from lobstr_dash.store import MIGRATIONS
from lobstr_dash.store import Store

TOKEN = "loading-token-51aa"
RUN_1500 = synthetic_run_id("loading-1500")
RUN_2500 = synthetic_run_id("loading-2500")


@pytest.fixture
def fake(served_fake: Any) -> tuple[Flask, str]:
    """The fake lobstr on a loopback port, with small synthetic runs."""
    fake, base_url = served_fake(tokens={TOKEN}, latency_ms=30, extra_runs={RUN_1500: 1500, RUN_2500: 2500})
    return fake.app, base_url


def dashboard_config(base_url: str, data_dir: str, **overrides: Any) -> dict[str, Any]:
    config = {"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url, "DATA_DIR": data_dir,
              "LOAD_WAIT_SECONDS": 30.0, "EXPORT_WAIT_SECONDS": 30.0, "LOBSTR_BACKOFF_BASE": 0.01}
    if support.ENGINE_DATABASE_URL:
        config["DATABASE_URL"] = support.ENGINE_DATABASE_URL
    config.update(overrides)
    return config


def _open_run_in_process(config: dict[str, Any], run_id: str, start: Any, threads: int) -> None:
    """Child process: one app (as one gunicorn worker would be) opening a run from many threads."""
    app = create_app(config)
    start.wait(10)
    paths = [f"/runs/{run_id}", f"/runs/{run_id}/tasks.json"]
    workers = [threading.Thread(target=lambda p=paths[i % 2]: app.test_client().get(p))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    # The page may answer before the load ends; the export waits for it, so this process
    # (whose loader thread may be the one loading) does not exit mid-load.
    app.test_client().get(f"/runs/{run_id}/tasks.json")


@pytest.mark.slow
def test_single_flight_across_two_processes(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    config = dashboard_config(base_url, str(tmp_path))
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    children = [context.Process(target=_open_run_in_process, args=(config, RUN_1500, start, 8))
                for _ in range(2)]
    for child in children:
        child.start()
    time.sleep(1.5)  # both processes built their apps and wait at the start line
    start.set()
    for child in children:
        child.join(90)
        assert child.exitcode == 0
    state = support.store_of(tmp_path).run_state(RUN_1500)
    assert state is not None and state.phase == "done" and state.rows_stored == 1500
    counts = fake_app.extensions["fake"]
    assert counts.count("runtasks", run=RUN_1500) == 15
    assert all(counts.count("runtasks", run=RUN_1500, page=p) == 1 for p in range(1, 16))


def test_a_load_left_by_a_dead_process_is_resumed_at_once(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    app = create_app(dashboard_config(base_url, str(tmp_path)))
    store: Store = app.extensions["lobstr_dash"].store
    loader = app.extensions["lobstr_dash"].loader
    # A loader in another process fetched pages 1-3 of 15, then the process was killed.
    dead = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    owner = f"{loader.host}:{dead.pid}:deadbeef"
    generation = store.claim(RUN_1500, owner, lease_seconds=3600, fresh=False)
    first = app.extensions["lobstr_dash"].client.runtasks_page(RUN_1500, 1, 100)
    store.set_totals(RUN_1500, first.total_results, first.total_pages, 100)
    for page in (1, 2, 3):
        rows = app.extensions["lobstr_dash"].client.runtasks_page(RUN_1500, page, 100).rows
        store.save_page(RUN_1500, generation, page, 100, rows, owner, 3600)
    before = fake_app.extensions["fake"].count("runtasks", run=RUN_1500)
    response = app.test_client().get(f"/runs/{RUN_1500}/tasks.json")
    assert response.json["complete"] is True
    assert len({t["id"] for t in response.json["tasks"]}) == 1500
    # Only the 12 pages the dead loader had not fetched were requested.
    assert fake_app.extensions["fake"].count("runtasks", run=RUN_1500) - before == 12


def test_a_load_of_a_previous_process_with_our_pid_is_taken_over(make_app: Any,
                                                                 upstream: Any) -> None:
    app = make_app()
    upstream.add_run(RUN, make_rows(RUN, 150))
    store: Store = app.extensions["lobstr_dash"].store
    loader = app.extensions["lobstr_dash"].loader
    store.claim(RUN, f"{loader.host}:{os.getpid()}:oldtoken", 3600, fresh=False)
    response = app.test_client().get(f"/runs/{RUN}/tasks.json")
    assert response.json["complete"] is True and len(response.json["tasks"]) == 150


def test_a_live_owner_is_left_alone_until_its_lease_ends(make_app: Any, upstream: Any,
                                                        fake_clock: Any) -> None:
    app = make_app(LOAD_WAIT_SECONDS=0.2, CLOCK=fake_clock)
    upstream.add_run(RUN, make_rows(RUN, 10))
    store: Store = app.extensions["lobstr_dash"].store
    # Another host's loader: it cannot be checked, so only its lease can end it.
    store.claim(RUN, "other-host:1:token", lease_seconds=1.0, fresh=False)
    page = app.test_client().get(f"/runs/{RUN}")
    assert "Contacting lobstr" in soup(page).select_one("#run-status").get_text()
    assert upstream.count() == 0
    fake_clock.advance(1.1)
    done = app.test_client().get(f"/runs/{RUN}/tasks.json")
    assert done.json["complete"] is True and upstream.count() == 1


@pytest.mark.slow
def test_pacing_never_trips_the_upstream_limit(tmp_path: Any, served_fake: Any) -> None:
    # Scaled down: 10 requests per 2 s window on both sides, 25 pages to fetch.
    fake, base_url = served_fake(tokens={TOKEN}, rate_limit_per_minute=10,
                                 rate_limit_window_seconds=2.0, extra_runs={RUN_2500: 2500})
    fake_app = fake.app
    app = create_app(dashboard_config(base_url, str(tmp_path), LOBSTR_RATE_LIMIT=10,
                                      LOBSTR_RATE_WINDOW=2.0))
    started = time.monotonic()
    response = app.test_client().get(f"/runs/{RUN_2500}/tasks.json")
    elapsed = time.monotonic() - started
    assert response.json["complete"] is True and len(response.json["tasks"]) == 2500
    state = fake_app.extensions["fake"]
    assert state.count("runtasks", status=429) == 0
    assert state.count("runtasks") == 25
    # 10 at once, 10 after one window, 5 after two: the bound is 2 windows (plus margins).
    assert 4.0 <= elapsed < 8.0
    limiter = app.extensions["lobstr_dash"].client.limiter
    assert limiter.waits > 0


def test_retry_after_is_obeyed(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    fake_app.extensions["fake"].faults.append(
        FaultRule(endpoint="runtasks", page=1, status=429, retry_after=1, times=1))
    app = create_app(dashboard_config(base_url, str(tmp_path)))
    started = time.monotonic()
    response = app.test_client().get(f"/runs/{RUN_1500}/tasks.json")
    assert time.monotonic() - started >= 1.0
    assert response.json["complete"] is True
    assert fake_app.extensions["fake"].count("runtasks", run=RUN_1500, page=1) == 2


def test_progress_is_shown_while_pages_arrive(make_app: Any, upstream: Any) -> None:
    app = make_app(LOAD_WAIT_SECONDS=0.3, LOBSTR_CONCURRENCY=1)
    upstream.add_run(RUN, make_rows(RUN, 500))
    gate = threading.Event()
    upstream.gate = gate
    client = app.test_client()
    first = client.get(f"/runs/{RUN}")
    assert "Contacting lobstr" in soup(first).select_one("#run-status").get_text()
    gate.set()
    upstream.gate = None
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    final = soup(client.get(f"/runs/{RUN}"))
    assert "partial" not in final.select_one(".figures").get_text()


def test_progress_text_names_pages_and_tasks(make_app: Any, upstream: Any) -> None:
    app = make_app(LOAD_WAIT_SECONDS=0.3, LOBSTR_CONCURRENCY=1)
    upstream.add_run(RUN, make_rows(RUN, 500))
    store: Store = app.extensions["lobstr_dash"].store
    # Freeze a load after two of five pages, as a slow upstream would leave it.
    owner = f"{app.extensions['lobstr_dash'].loader.host}:1:frozen"
    generation = store.claim(RUN, "elsewhere:1:frozen", 3600, fresh=False)
    store.set_totals(RUN, 500, 5, 100)
    rows = make_rows(RUN, 200)
    store.save_page(RUN, generation, 1, 100, rows[:100], owner, 3600)
    store.save_page(RUN, generation, 2, 100, rows[100:], owner, 3600)
    page = soup(app.test_client().get(f"/runs/{RUN}"))
    text = page.select_one("#run-status").get_text(" ", strip=True)
    assert "page 2 of 5 — 200 of 500 tasks" in text
    assert page.select_one("#run-status progress")["value"] == "2"
    assert "partial" in page.select_one(".figures").get_text()
    assert len(page.select("table.task-table tbody tr")) == 100


def test_a_run_that_grows_while_read_is_read_to_its_new_end(make_app: Any, upstream: Any) -> None:
    app = make_app(LOBSTR_CONCURRENCY=1)
    rows = upstream.add_run(RUN, make_rows(RUN, 150))

    def grow(run_id: str, page: int) -> None:
        if page == 2 and len(rows) == 150:
            rows.extend(make_rows(RUN, 260)[150:])  # page 2 now reports 3 pages

    upstream.before_page = grow
    response = app.test_client().get(f"/runs/{RUN}/tasks.json")
    assert response.json["complete"] is True
    assert len({t["id"] for t in response.json["tasks"]}) == 260
    assert upstream.count(RUN, 3) == 1 and upstream.count(RUN) == 3


def test_an_empty_page_before_the_end_is_a_failed_page(make_app: Any, upstream: Any) -> None:
    app = make_app()
    rows = upstream.add_run(RUN, make_rows(RUN, 300))
    upstream.fail(RUN, 2, 200, {"total_results": 300, "limit": 100, "page": 2, "total_pages": 3,
                                "data": []}, times=0)
    response = app.test_client().get(f"/runs/{RUN}/tasks.json")
    assert response.json["complete"] is False
    assert response.json["missing_positions"] == [[101, 200]]
    assert len(response.json["tasks"]) == 200 and len(rows) == 300


@pytest.mark.sqlite_only
def test_schema_is_versioned_and_migrates_once(tmp_path: Any) -> None:
    path = tmp_path / "store.sqlite3"
    first = Store(path)
    assert first.schema_version() == len(MIGRATIONS)
    first.close()
    again = Store(path)  # opening a current store changes nothing
    assert again.schema_version() == len(MIGRATIONS)
    tables = {r[0] for r in again.db.connection().execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "pages", "tasks"} <= tables
    columns = {r[1] for r in again.db.connection().execute("PRAGMA table_info(tasks)")}
    assert "raw_json" not in columns  # migration 4: task rows stay narrow for fast scans


@pytest.mark.sqlite_only
def test_concurrent_first_opens_of_a_new_store_migrate_once(tmp_path: Any) -> None:
    path = tmp_path / "race.sqlite3"
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store(path).schema_version()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert Store(path).schema_version() == len(MIGRATIONS)


def test_a_live_refresh_rereads_only_pages_that_can_change(make_app: Any, upstream: Any) -> None:
    rows = upstream.add_run(RUN, make_rows(RUN, 450))
    rows[249].update(status="running", last_result=3, done_reason=None)  # on page 3
    app = make_app(LIVE_REFRESH_SECONDS=0.2)
    client = app.test_client()
    client.get(f"/runs/{RUN}")
    assert upstream.count(RUN) == 5
    rows[249].update(status="completed", last_result=100, done_reason="completed")
    time.sleep(0.25)
    client.get(f"/runs/{RUN}")
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    assert [upstream.count(RUN, p) for p in range(1, 6)] == [2, 1, 2, 1, 1]
    after = client.get(f"/runs/{RUN}/tasks.json?sort=position")
    assert after.json["complete"] is True and len(after.json["tasks"]) == 450
    assert after.json["tasks"][249]["collected"] == 100
    # "Refresh now" re-reads every page.
    client.post(f"/runs/{RUN}/refresh")
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    assert [upstream.count(RUN, p) for p in range(1, 6)] == [3, 2, 3, 2, 2]


def test_a_refresh_keeps_showing_the_previous_figures_without_a_progress_bar(
        make_app: Any, upstream: Any) -> None:
    rows = upstream.add_run(RUN, make_rows(RUN, 150))
    rows[0].update(status="running", done_reason=None)
    app = make_app(LOAD_WAIT_SECONDS=0.2)
    client = app.test_client()
    client.get(f"/runs/{RUN}")
    store: Store = app.extensions["lobstr_dash"].store
    # Another worker is refreshing the run right now.
    store.claim(RUN, "elsewhere:1:refresh", 3600, fresh=True)
    page = soup(client.get(f"/runs/{RUN}", headers={"HX-Request": "true",
                                                     "HX-Target": "run-status"}))
    status = page.select_one("#run-status")
    assert status.select_one("progress") is None
    assert "Refreshing from lobstr now" in status.get_text()
    assert "partial" not in status.select_one(".figures").get_text()
    assert "150" in status.select_one(".figures").get_text()
