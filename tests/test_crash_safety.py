"""Crash safety: a server killed mid-load loses nothing, and readers never see half a write.

The first test runs the dashboard as the image does (gunicorn, gunicorn.conf.py, two workers)
against the fake lobstr API, SIGKILLs the whole process group while a 20,000-task run is half
loaded, checks what the SQLite file holds, starts gunicorn again on the same DATA_DIR and
expects the load to resume at once (the dead owner's pages are not fetched again) and to end
with every task exactly once. The second test reads the store from several threads while a
loader writes it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from loadtest.servers import Gunicorn
from loadtest.servers import start_gunicorn
from lobstr_dash.upstream.client import LobstrClient
from lobstr_dash.fake import synthetic_run_id
from lobstr_dash.loading.loader import Loader
from lobstr_dash.store import Store
from lobstr_dash.domain.query import TaskQuery
from lobstr_dash.upstream.transport import WSGIAdapter

TOKEN = "crash-token-9e21"
BIG = synthetic_run_id("crash-20000")
BIG_TASKS = 20_000
READERS_RUN = synthetic_run_id("crash-readers-6000")

pytestmark = pytest.mark.slow


@pytest.fixture
def fake(served_fake: Any) -> tuple[Flask, str]:
    """The fake lobstr API with a 20,000-task run and some latency, on a loopback port."""
    fake, base_url = served_fake(tokens={TOKEN}, latency_ms=5, extra_runs={BIG: BIG_TASKS})
    return fake.app, base_url


def read_only(path: Path) -> sqlite3.Connection:
    """A connection of the test's own, as another process would open the store."""
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def pages_done(conn: sqlite3.Connection, run_id: str) -> set[int]:
    generation = conn.execute("SELECT generation FROM runs WHERE run_id = ?",
                              (run_id,)).fetchone()
    if generation is None:
        return set()
    return {r[0] for r in conn.execute(
        "SELECT page FROM pages WHERE run_id = ? AND generation = ? AND state = 'done'",
        (run_id, generation[0]))}


def wait_for_pages(path: Path, run_id: str, at_least: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            with read_only(path) as conn:
                try:
                    if len(pages_done(conn, run_id)) >= at_least:
                        return
                except sqlite3.OperationalError:
                    pass  # the schema is not there yet
        time.sleep(0.02)
    raise TimeoutError(f"fewer than {at_least} pages of {run_id} loaded in {timeout:.0f}s")


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait until a process has ended (no longer exists, or is a zombie nobody reaped yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_sigkill_mid_load_then_restart_completes_the_run_exactly(fake: Any, tmp_path: Path) -> None:
    fake_app, base_url = fake
    env = {"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url, "LOBSTR_RATE_LIMIT": "0",
           "LOBSTR_CONCURRENCY": "8",
           "LOAD_WAIT_SECONDS": "0.2", "EXPORT_WAIT_SECONDS": "60"}
    data_dir = tmp_path / "data"
    server: Gunicorn = start_gunicorn(data_dir, env)
    try:
        assert requests.get(f"{server.url}/runs/{BIG}", timeout=10).status_code == 200
        wait_for_pages(server.store_path, BIG, at_least=40)
        workers = server.workers()
    finally:
        server.kill()
    # The whole process group is gone: no worker survived its master.
    assert workers and all(gone(pid) for pid in workers)

    # What the killed server left: a sound file, a load marked as running, and only whole pages.
    with read_only(server.store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        run = conn.execute("SELECT * FROM runs WHERE run_id = ?", (BIG,)).fetchone()
        assert run["state"] == "loading" and run["owner"]
        done = pages_done(conn, BIG)
        stored = conn.execute("SELECT count(*) FROM tasks WHERE run_id = ?", (BIG,)).fetchone()[0]
        per_page = conn.execute("SELECT sum(rows) FROM pages WHERE run_id = ? AND state = 'done'",
                                (BIG,)).fetchone()[0]
    assert 40 <= len(done) < BIG_TASKS // 100, "kill the server while the run is half loaded"
    assert stored == per_page == 100 * len(done)
    requests_before_restart = len(fake_app.extensions["fake"].requests)

    # The same DATA_DIR again: the dead owner's load is resumed at once, not after its lease.
    restarted = start_gunicorn(data_dir, env)
    try:
        started = time.monotonic()
        export = requests.get(f"{restarted.url}/runs/{BIG}/tasks.json", timeout=90)
        elapsed = time.monotonic() - started
        page = requests.get(f"{restarted.url}/runs/{BIG}", timeout=10)
    finally:
        restarted.stop()
    assert export.status_code == 200 and page.status_code == 200
    body = export.json()
    assert body["complete"] is True and body["missing_positions"] == []
    assert elapsed < 60  # far below the 60 s lease the dead loader held
    truth = {row["id"]: row for row in fake_app.extensions["fake"].catalog.iter_rows(BIG)}
    ids = [task["id"] for task in body["tasks"]]
    assert len(ids) == len(set(ids)) == len(truth) == BIG_TASKS
    assert set(ids) == set(truth)
    for task in body["tasks"]:
        source = truth[task["id"]]
        assert (task["expected"], task["collected"], task["status"]) == (
            source["total_results"], source["last_result"], source["status"])
    # Only the pages the killed server had not stored were asked for again.
    after = fake_app.extensions["fake"].requests[requests_before_restart:]
    fetched = {r.page for r in after if r.endpoint == "runtasks" and r.run == BIG}
    assert fetched == set(range(1, BIG_TASKS // 100 + 1)) - done
    with read_only(restarted.store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT state FROM runs WHERE run_id = ?", (BIG,)).fetchone()[0] == "done"


def test_readers_during_writes_see_whole_pages_and_counts_that_never_go_back(
        tmp_path: Path, fake_lobstr: Any) -> None:
    fake_app = fake_lobstr(tokens={TOKEN}, extra_runs={READERS_RUN: 6000}).app
    session = requests.Session()
    session.mount("http://fake.invalid/", WSGIAdapter(fake_app))
    client = LobstrClient("http://fake.invalid/v1", TOKEN, session=session)
    store = Store(tmp_path / "store.sqlite3")
    loader = Loader(client, store, concurrency=4)
    stop = threading.Event()
    problems: list[str] = []
    observations = [0]

    def read() -> None:
        last = {"stored": 0, "tasks": 0, "matching": 0, "pages": 0}
        while not stop.is_set():
            state = store.run_state(READERS_RUN)
            if state is None:
                continue
            summary = store.summary(READERS_RUN)
            page = store.query(READERS_RUN, TaskQuery(per_page=100))
            shorts = store.query(READERS_RUN, TaskQuery(short_only=True, per_page=50))
            seen = {"stored": state.rows_stored, "tasks": summary.tasks,
                    "matching": page.matching, "pages": state.pages_done}
            for name, value in seen.items():
                if value < last[name]:
                    problems.append(f"{name} went back from {last[name]} to {value}")
                if name != "pages" and value % 100:
                    problems.append(f"{name} = {value}: part of a page is visible")
            if state.rows_stored != 100 * state.pages_done:
                problems.append(f"{state.rows_stored} rows but {state.pages_done} pages done")
            if len(page.rows) != min(100, page.matching):
                problems.append(f"{len(page.rows)} rows shown of {page.matching}")
            if len(shorts.rows) != min(50, shorts.matching):
                problems.append(f"{len(shorts.rows)} short tasks shown of {shorts.matching}")
            last = seen
            observations[0] += 1
        store.close()

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        assert loader.start(READERS_RUN, fresh=False)
        loader.join(READERS_RUN, 60)
    finally:
        stop.set()
        for reader in readers:
            reader.join(10)
    assert problems[:5] == []
    assert observations[0] > 30  # the readers really ran while the loader wrote
    state = store.run_state(READERS_RUN)
    assert state is not None and state.phase == "done" and state.rows_stored == 6000


def test_a_zombie_owner_counts_as_dead(tmp_path: Path) -> None:
    # Regression: a killed worker stays a zombie until init reaps it (here about a second);
    # os.kill(pid, 0) still succeeds then, and a restarted server waited out the whole lease.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        loader = Loader(LobstrClient("http://127.0.0.1:9/v1", TOKEN), Store(tmp_path / "s.db"))
        assert loader.owner_is_dead(f"{loader.host}:{child.pid}:deadbeef")
        assert not loader.owner_is_dead(f"{loader.host}:{os.getppid()}:alive")
    finally:
        child.wait()

