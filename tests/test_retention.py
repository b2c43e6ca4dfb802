"""Retention (issue 15): STORE_MAX_MB and STORE_KEEP_DAYS evict the least recently opened finished
runs, never one being loaded, still running, on screen, or awaited by an alert, and the file
really shrinks; the store's size, runs held and evictions show on /metrics and /healthz."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lobstr_dash.config import ConfigError
from lobstr_dash.config import build_config
from lobstr_dash.config import from_environ
from lobstr_dash.domain.query import TaskQuery
from lobstr_dash.store import Store
from lobstr_dash.store.retention import PROTECT_SECONDS
from tests.support import make_rows
from tests.taskrows import save_run

DAY = 86400.0
A, B, C, D = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    made = Store(tmp_path / "s.sqlite3", clock=clock)
    for run_id in (A, B, C):
        save_run(made, run_id, make_rows(run_id, 2000))
    return made


def held(store: Store) -> set[str]:
    return {r[0] for r in store.db.connection().execute("SELECT run_id FROM runs")}


def test_nothing_is_evicted_without_a_limit(store: Store, clock: Clock) -> None:
    clock.now += 1000 * DAY
    assert store.evict(max_bytes=None, keep_seconds=None) == []
    assert held(store) == {A, B, C}


def test_runs_not_opened_for_the_kept_days_go(store: Store, clock: Clock) -> None:
    store.touch({A: clock.now, B: clock.now - 40 * DAY, C: clock.now - 10 * DAY})
    assert store.evict(max_bytes=None, keep_seconds=30 * DAY) == [B]
    assert held(store) == {A, C}
    assert store.query(B, TaskQuery()).matching == 0
    assert store.footprint().evictions == 1


def test_over_the_size_the_least_recently_opened_go_first_and_the_file_shrinks(
        store: Store, clock: Clock) -> None:
    store.touch({A: clock.now - 3 * DAY, B: clock.now - 1 * DAY, C: clock.now - 2 * DAY})
    before = store.footprint()
    one_run = before.used_bytes // 3
    evicted = store.evict(max_bytes=before.used_bytes - one_run // 2, keep_seconds=None)
    assert evicted == [A]  # least recently opened; one eviction was enough
    evicted = store.evict(max_bytes=before.used_bytes - 2 * one_run + one_run // 2,
                          keep_seconds=None)
    assert evicted == [C]
    after = store.footprint()
    assert held(store) == {B} and after.runs == 1 and after.evictions == 2
    assert after.file_bytes < before.file_bytes * 0.6  # incremental vacuum gave the pages back
    conn = store.db.connection()
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM task_keys").fetchone()[0] == 2000  # B's alone
    assert store.query(B, TaskQuery(text="place-1")).matching == store.count(
        B, TaskQuery(text="place-1").filter) > 0


def test_loading_live_on_screen_and_alerted_runs_are_never_evicted(
        tmp_path: Path, clock: Clock) -> None:
    store = Store(tmp_path / "s.sqlite3", clock=clock)
    for run_id in (A, B, C, D):
        save_run(store, run_id, make_rows(run_id, 200))
    old = clock.now - 400 * DAY
    store.touch({A: old, B: old, C: old, D: clock.now - PROTECT_SECONDS / 2})
    store.claim(A, "someone", 60, fresh=True)  # being loaded again
    store.mark_reopened(B)  # tasks running again: someone watches it live
    store.accept_hook(C, "run.done", "webhook", None)  # an alert is still to be worked out
    assert store.evict(max_bytes=1, keep_seconds=1.0) == []
    assert held(store) == {A, B, C, D}


def test_a_store_made_before_retention_gets_incremental_vacuum_on_first_shrink(
        tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "old.sqlite3"
    store = Store(path, clock=clock)
    conn = store.db.connection()
    conn.execute("PRAGMA auto_vacuum = NONE")
    conn.execute("VACUUM")  # as every store written before issue 15
    save_run(store, A, make_rows(A, 2000))
    save_run(store, B, make_rows(B, 2000))
    store.touch({A: clock.now - 2 * DAY, B: clock.now - DAY})
    size = store.footprint().file_bytes
    assert store.evict(max_bytes=None, keep_seconds=1.5 * DAY) == [A]
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert store.footprint().file_bytes < size * 0.7


def test_the_settings_are_read_checked_and_unset_by_default() -> None:
    assert build_config({})["STORE_MAX_MB"] is None and build_config({})["STORE_KEEP_DAYS"] is None
    assert from_environ({"STORE_MAX_MB": "5000", "STORE_KEEP_DAYS": "365"}) == {
        "STORE_MAX_MB": 5000.0, "STORE_KEEP_DAYS": 365.0}
    for bad in ({"STORE_MAX_MB": 0}, {"STORE_KEEP_DAYS": -1}, {"STORE_MAX_MB": float("nan")}):
        with pytest.raises(ConfigError):
            build_config(bad)


def test_the_app_evicts_by_its_settings_and_reports_it(make_app: Any, upstream: Any) -> None:
    for run_id in (A, B):
        upstream.add_run(run_id, make_rows(run_id, 250))
    app = make_app(STORE_KEEP_DAYS=1)
    client = app.test_client()
    services = app.extensions["lobstr_dash"]
    for run_id in (A, B):
        assert len(client.get(f"/runs/{run_id}/tasks.json").json["tasks"]) == 250
    services.runs.retain()  # writes down when each was opened
    assert client.get("/healthz").json["runs_held"] == 2
    store = services.store
    store.db.connection().execute(  # A was last opened two days ago
        "UPDATE runs SET opened_at = ? WHERE run_id = ?", (store.clock() - 2 * DAY, A))
    assert services.runs.retain() == [A]
    health = client.get("/healthz").json
    assert (health["runs_held"], health["evictions"]) == (1, 1)
    assert health["store_bytes"] > 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "lobstr_dash_store_evictions_total 1" in metrics
    assert "lobstr_dash_store_runs 1" in metrics
    # An evicted run is read from lobstr again when someone opens it.
    assert len(client.get(f"/runs/{A}/tasks.json").json["tasks"]) == 250


def test_a_new_and_a_rebuilt_store_give_freed_pages_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.sqlite3")
    assert store.db.connection().execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    store.rebuild()
    assert store.db.connection().execute("PRAGMA auto_vacuum").fetchone()[0] == 2


def test_an_eviction_deletes_its_rows_a_chunk_per_transaction(
        store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """No transaction of an eviction holds the write lock for a whole run's rows."""
    from lobstr_dash.store import retention
    monkeypatch.setattr(retention, "DELETE_CHUNK", 300)
    deleted_per_transaction: list[int] = []
    real = store.db.transaction

    def counting(*args: Any, **kwargs: Any) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def wrapped() -> Any:
            with real(*args, **kwargs) as conn:
                before = conn.total_changes
                yield conn
                deleted_per_transaction.append(conn.total_changes - before)
        return wrapped()

    store.touch({A: clock.now - 40 * DAY, B: clock.now, C: clock.now})
    monkeypatch.setattr(store.db, "transaction", counting)
    assert store.evict(max_bytes=None, keep_seconds=30 * DAY) == [A]
    monkeypatch.undo()
    # 2,000 rows in 7 chunks (each row takes its keys and text entry with it, by trigger)
    assert len(deleted_per_transaction) >= 7
    assert max(deleted_per_transaction) < 2000
    conn = store.db.connection()
    assert conn.execute("SELECT count(*) FROM tasks WHERE run_id = ?", (A,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM task_keys").fetchone()[0] == 4000  # B's and C's
    assert store.footprint().evictions == 1


def test_a_run_opened_again_mid_eviction_is_loaded_whole_and_alone(
        store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new load's claim deletes what the eviction left; the eviction then stops, so no stale
    row joins the new load and no row of the new load is deleted."""
    from lobstr_dash.store import retention
    monkeypatch.setattr(retention, "DELETE_CHUNK", 500)
    real_delete = retention.Retention._delete_tasks
    reloaded: list[int] = []

    def reopen_midway(self: Store, run_id: str) -> None:
        # One chunk goes, then someone opens the run and a new (smaller) load of it is stored.
        with self.db.transaction(immediate=True) as conn:
            conn.execute("DELETE FROM tasks WHERE run_id = ? AND id IN"
                         " (SELECT id FROM tasks WHERE run_id = ? LIMIT 500)", (run_id, run_id))
        save_run(self, run_id, make_rows(run_id, 700))
        reloaded.append(self.count(run_id, TaskQuery().filter))
        real_delete(self, run_id)

    monkeypatch.setattr(retention.Retention, "_delete_tasks", reopen_midway)
    store.touch({A: clock.now - 40 * DAY, B: clock.now, C: clock.now})
    assert store.evict(max_bytes=None, keep_seconds=30 * DAY) == [A]
    assert reloaded == [700]
    assert store.count(A, TaskQuery().filter) == 700
    assert store.query(A, TaskQuery()).matching == 700
    assert A in held(store)
