"""Issue 15 on PostgreSQL: deep pages through task_keys, text search through pg_trgm, streamed
exports, stored figures and retention answer exactly what SQLite (and the pre-15 scan) answer."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lobstr_dash.domain.query import SORT_KEYS
from lobstr_dash.domain.query import TaskQuery
from lobstr_dash.store import Store
from lobstr_dash.store import tasks
from lobstr_dash.store.sortkeys import run_key
from tests import test_deep_pages as deep
from tests import test_text_search as text
from tests.support import make_rows
from tests.taskrows import save_run

DAY = 86400.0
A, B, C = "a" * 32, "b" * 32, "c" * 32


@pytest.fixture(scope="module")
def pg(pg_cluster: Any) -> Store:
    made = Store("unused", database_url=pg_cluster.database())
    type(made.db).opened.discard(made.db)  # the module's: not closed after each test (conftest)
    save_run(made, deep.RUN, deep.rows(730), page_size=100)
    save_run(made, text.RUN, text.rows(text.RUN, 400, 1))
    save_run(made, text.OTHER, text.rows(text.OTHER, 300, 2))
    yield made
    made.shutdown()


def test_finished_loads_are_read_through_their_keys(pg: Store) -> None:
    with pg.db.snapshot() as conn:
        assert run_key(conn, deep.RUN) is not None and run_key(conn, text.RUN) is not None


@pytest.mark.parametrize("sort", SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("filters", deep.FILTERS[::2] + [{"text": "boulangerie"}], ids=repr)
def test_every_page_holds_the_rows_the_wide_sort_held(pg: Store, sort: str, descending: bool,
                                                      filters: dict) -> None:
    base = TaskQuery(sort=sort, descending=descending, per_page=100, **filters)
    first = pg.query(deep.RUN, base)
    seen: list[str] = []
    for page in range(1, first.pages + 1):
        query = TaskQuery(**{**base.__dict__, "page": page})
        got = [r.id for r in pg.query(deep.RUN, query).rows]
        assert got == deep.old_page(pg, query), (sort, descending, page)
        seen += got
    assert len(seen) == len(set(seen)) == first.matching


def test_a_deep_page_walks_the_page_order_index(pg: Store) -> None:
    with pg.db.transaction() as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("SET LOCAL enable_sort = off")
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT k.id FROM task_keys AS k WHERE k.run_key = 1"
            f" ORDER BY {tasks.order_sql(TaskQuery(), 'k')} LIMIT 100 OFFSET 400"))
    assert "task_keys_gap_desc" in plan and "Sort" not in plan


@pytest.mark.parametrize("query", text.QUERIES)
def test_text_search_finds_exactly_what_the_scan_found(pg: Store, query: str) -> None:
    page = pg.query(text.RUN, TaskQuery(text=query, per_page=1000))
    assert {r.id for r in page.rows} == text.scan(pg, query)
    assert page.matching == len(text.scan(pg, query)) == pg.count(
        text.RUN, TaskQuery(text=query).filter)


def test_a_long_search_can_use_the_trigram_index(pg: Store) -> None:
    with pg.db.transaction() as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT k.id FROM task_keys AS k WHERE k.search_text LIKE '%boulang%'"))
    assert "task_keys_text" in plan


def test_an_export_streams_every_row_once_in_page_order(pg: Store) -> None:
    for sort in ("gap", "status", "input"):
        query = TaskQuery(sort=sort, per_page=100)
        pages = [r.id for p in range(1, 9) for r in pg.query(
            deep.RUN, TaskQuery(**{**query.__dict__, "page": p})).rows]
        exported = [r.id for r in pg.iter_matching(deep.RUN, query, chunk=7)]
        assert exported == pages and len(set(exported)) == 730


def test_an_abandoned_export_leaves_the_pool_usable(pg: Store) -> None:
    rows = pg.iter_matching(deep.RUN, TaskQuery(), chunk=5)
    next(rows)
    rows.close()
    assert pg.query(deep.RUN, TaskQuery()).matching == 730


def test_figures_are_stored_and_read_back_by_another_replica(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Store("unused", database_url=pg_url)
    save_run(first, A, make_rows(A, 300))
    summary = first.summary(A)
    deadline = time.monotonic() + 10
    while not first.db.connection().execute("SELECT count(*) FROM run_figures").fetchone()[0]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    monkeypatch.setattr(tasks, "_summary_of", lambda *a: pytest.fail("computed again"))
    again = Store("unused", database_url=pg_url)  # another replica: an empty memory cache
    assert again.summary(A) == summary


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_retention_evicts_by_age_and_by_the_bytes_of_the_rows_held(pg_url: str) -> None:
    clock = Clock()
    store = Store("unused", database_url=pg_url, clock=clock)
    for run_id in (A, B, C):
        save_run(store, run_id, make_rows(run_id, 500))
    store.touch({A: clock.now - 3 * DAY, B: clock.now - 1 * DAY, C: clock.now - 40 * DAY})
    assert store.evict(max_bytes=None, keep_seconds=30 * DAY) == [C]
    before = store.footprint()
    assert before.runs == 2 and before.evictions == 1 and before.file_bytes > before.used_bytes > 0
    assert store.evict(max_bytes=before.used_bytes - 1, keep_seconds=None) == [A]
    after = store.footprint()
    assert 0 < after.used_bytes <= before.used_bytes // 2 + 1 and after.runs == 1
    assert store.evict(max_bytes=after.used_bytes, keep_seconds=None) == []  # nothing more due
    conn = store.db.connection()
    assert conn.execute("SELECT count(*) FROM task_keys").fetchone()[0] == 500  # B's alone
    assert store.query(A, TaskQuery()).matching == 0
    assert store.query(B, TaskQuery(text="place-1")).matching == store.count(
        B, TaskQuery(text="place-1").filter) > 0


def test_a_version_1_database_is_read_through_keys_after_version_2(pg_url: str) -> None:
    """A store of main before issue 15: version 2 copies its finished runs' keys and bytes."""
    old = Store("unused", database_url=pg_url)
    save_run(old, deep.RUN, deep.rows(730))
    for undo in ("DROP TRIGGER tasks_keys_delete ON tasks", "DROP FUNCTION lobstr_task_keys_delete()",
                 "DROP TABLE task_keys", "DROP TABLE run_keys", "DROP TABLE evictions",
                 "DROP TABLE run_figures", "ALTER TABLE runs DROP COLUMN opened_at",
                 "DELETE FROM schema_version WHERE version = 2"):
        old.db.connection().execute(undo)
    new = Store("unused", database_url=pg_url)
    assert new.schema_version() == 2
    with new.db.snapshot() as conn:
        assert run_key(conn, deep.RUN) is not None
    query = TaskQuery(sort="input", per_page=100, page=2, text="boulangerie")
    assert [r.id for r in new.query(deep.RUN, query).rows] == deep.old_page(new, query) != []
    assert new.footprint().used_bytes > 0
