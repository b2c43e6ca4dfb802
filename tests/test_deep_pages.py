"""Deep pages (issue 15): every page of every sort and filter holds exactly the rows the plain
`ORDER BY … LIMIT … OFFSET` over the wide rows held, and SQLite reaches it by walking an index in
page order (no sort of the run's rows)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lobstr_dash.domain.query import SORT_KEYS
from lobstr_dash.domain.query import TaskQuery
from lobstr_dash.store import Store
from lobstr_dash.store.sortkeys import index_name
from lobstr_dash.store.tasks import READ_COLUMNS
from lobstr_dash.store.tasks import SORT_COLUMNS
from lobstr_dash.store.tasks import filter_sql
from lobstr_dash.store.tasks import order_sql
from lobstr_dash.store.tasks import task_row
from tests.taskrows import save_run
from tests.taskrows import task_row as api_row

RUN = "d" * 32
STATUSES = ("completed", "error", "running", "pending", "completed")
REASONS = (None, "completed", "error_site", "cancelled", "no_credits")


def rows(count: int, seed: int = 15) -> list[dict]:
    """Rows with many ties and unknown values in every sortable column."""
    rng = random.Random(seed)
    made = []
    for i in range(count):
        expected = rng.choice((None, 0, 10, 10, 50, 100))
        collected = None if rng.random() < 0.1 else rng.choice((0, 5, 10, 50, 100))
        made.append(api_row(
            RUN, i, status=rng.choice(STATUSES), done_reason=rng.choice(REASONS),
            total_results=expected, last_result=collected,
            params={"url": f"https://example.com/{rng.choice('abc')}/{i % 7}",
                    "q": rng.choice(("Boulangerie Lyon", "café", "École"))},
            started_at=rng.choice((None, "2025-02-10T14:30:58Z", "2025-02-10T14:40:00Z")),
            ended_at=rng.choice((None, "2025-02-10T14:31:10Z", "2025-02-10T15:00:00Z"))))
    return made


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    made = Store(Path(tmp_path_factory.mktemp("deep")) / "store.sqlite3")
    save_run(made, RUN, rows(730), page_size=100)
    return made


def old_page(store: Store, query: TaskQuery) -> list[str]:
    """The page as the wide-row sort found it before issue 15."""
    where, args = filter_sql(RUN, query.filter)
    found = store.db.connection().execute(
        f"SELECT {READ_COLUMNS} FROM tasks WHERE {where} ORDER BY {order_sql(query)}"
        " LIMIT ? OFFSET ?", (*args, query.per_page, (query.page - 1) * query.per_page))
    return [task_row(r).id for r in found]


FILTERS = [
    {}, {"statuses": ("error",)}, {"statuses": ("completed", "running")},
    {"reasons": ("(none)",)}, {"reasons": ("error_site", "(none)")}, {"short_only": True},
    {"classes": ("complete",)}, {"text": "boulangerie"}, {"text": "é"},
    {"statuses": ("error",), "short_only": True},
]


@pytest.mark.parametrize("sort", SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_every_page_holds_the_rows_the_wide_sort_held(store: Store, sort: str, descending: bool,
                                                      filters: dict) -> None:
    base = TaskQuery(sort=sort, descending=descending, per_page=50, **filters)
    first = store.query(RUN, base)
    assert first.matching == len(old_page(store, TaskQuery(**{**base.__dict__, "per_page": 10**6})))
    seen: list[str] = []
    for page in range(1, first.pages + 1):
        query = TaskQuery(**{**base.__dict__, "page": page})
        got = [r.id for r in store.query(RUN, query).rows]
        assert got == old_page(store, query), (sort, descending, page)
        seen += got
    assert len(seen) == len(set(seen)) == first.matching


def test_a_page_past_the_end_is_the_last_page(store: Store) -> None:
    page = store.query(RUN, TaskQuery(page=99, per_page=100))
    assert (page.page, len(page.rows), page.matching) == (8, 30, 730)


@pytest.mark.parametrize("sort", SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
def test_a_page_walks_an_index_in_page_order_without_sorting(store: Store, sort: str,
                                                             descending: bool) -> None:
    column = SORT_COLUMNS[sort]
    query = TaskQuery(sort=sort, descending=descending)
    plan = " | ".join(r[3] for r in store.db.connection().execute(
        f"EXPLAIN QUERY PLAN SELECT k.id FROM task_keys AS k INDEXED BY"
        f" {index_name(column, descending)} WHERE k.run_key = 1 ORDER BY {order_sql(query, 'k')}"
        " LIMIT 100 OFFSET 400"))
    assert index_name(column, descending) in plan
    assert "TEMP B-TREE" not in plan


def test_the_keys_follow_every_write_to_the_tasks(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    first = rows(120)
    save_run(store, RUN, first)
    changed = [dict(r, status="error", last_result=0) for r in first[:60]]
    save_run(store, RUN, changed + first[60:])  # a reload rewrites the rows in place
    top = store.query(RUN, TaskQuery(statuses=("error",), per_page=500))
    assert top.matching == len(old_page(store, TaskQuery(statuses=("error",), per_page=500)))
    assert {r.id for r in top.rows} >= {r["id"] for r in changed}
    store.forget([RUN])
    assert store.db.connection().execute("SELECT count(*) FROM task_keys").fetchone()[0] == 0
    assert store.query(RUN, TaskQuery()).matching == 0


def test_migration_11_copies_the_tasks_of_a_store_written_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = Store(path)
    save_run(store, RUN, rows(250))
    expected = [r.id for r in store.query(RUN, TaskQuery(per_page=250)).rows]
    with store.db.transaction(immediate=True) as conn:  # back to version 10, as main wrote it
        conn.execute("DROP TRIGGER tasks_keys_delete")
        conn.execute("DROP TABLE IF EXISTS task_text")
        conn.execute("DROP TABLE evictions")
        conn.execute("DROP TABLE run_figures")
        conn.execute("ALTER TABLE runs DROP COLUMN opened_at")
        conn.execute("DROP TABLE task_keys")
        conn.execute("DROP TABLE run_keys")
        conn.execute("PRAGMA user_version = 10")
    store.close()
    again = Store(path)
    assert again.schema_version() >= 11
    assert [r.id for r in again.query(RUN, TaskQuery(per_page=250)).rows] == expected
    found = again.query(RUN, TaskQuery(text="boulangerie", per_page=250))
    assert found.matching == len(old_page(again, TaskQuery(text="boulangerie", per_page=250))) > 0


@pytest.mark.parametrize("sort", ["gap", "status", "reason", "position", "input"])
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("filters", [{}, {"statuses": ("error",)}, {"text": "café"}], ids=repr)
@pytest.mark.parametrize("chunk", [1, 7, 500])
def test_an_export_holds_every_row_once_in_page_order_whatever_its_chunks(
        store: Store, sort: str, descending: bool, filters: dict, chunk: int) -> None:
    # status and reason have long runs of equal values: chunks end inside them.
    query = TaskQuery(sort=sort, descending=descending, per_page=10**6, **filters)
    got = [r.id for r in store.iter_matching(RUN, query, chunk=chunk)]
    assert got == old_page(store, query)
    assert len(got) == len(set(got)) > 0


def test_an_export_left_unread_releases_its_connection(store: Store) -> None:
    rows_out = store.iter_matching(RUN, TaskQuery(), chunk=3)
    assert next(rows_out).id and next(rows_out).id
    rows_out.close()  # a client that hangs up: the read transaction ends, nothing is left open
    assert store.query(RUN, TaskQuery()).matching == 730


def test_a_load_in_progress_is_read_from_its_rows_and_its_keys_are_written_when_it_ends(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    first = rows(300)
    save_run(store, RUN, first)
    generation = store.claim(RUN, "again", 60, fresh=True)  # lobstr reopened it: a reload
    assert generation == 2
    changed = [dict(r, status="error", last_result=0) for r in first[:100]]
    store.save_page(RUN, generation, 1, 100, changed, "again", 60)
    query = TaskQuery(statuses=("error",), per_page=500)
    during = [r.id for r in store.query(RUN, query).rows]
    assert during == old_page(store, query)  # the new rows at once, not the last load's keys
    assert {r["id"] for r in changed} <= set(during)
    assert [r.id for r in store.iter_matching(RUN, query)] == during
    store.finish(RUN, "again")
    conn = store.db.connection()
    assert conn.execute("SELECT generation FROM run_keys").fetchone()[0] == 2
    assert [r.id for r in store.query(RUN, query).rows] == during
    assert store.query(RUN, TaskQuery(text="boulangerie", per_page=500)).matching == len(
        old_page(store, TaskQuery(text="boulangerie", per_page=500)))


def test_a_resumed_load_never_reads_the_keys_of_the_load_before(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    first = rows(200)
    save_run(store, RUN, first[:100])
    generation = store.claim(RUN, "resume", 60, fresh=False)  # same generation, more rows
    store.save_page(RUN, generation, 2, 100, first[100:], "resume", 60)
    conn = store.db.connection()
    conn.execute("UPDATE runs SET state = 'done' WHERE run_id = ?", (RUN,))  # closed, keys not yet
    assert store.query(RUN, TaskQuery(per_page=500)).matching == 200
    assert len(list(store.iter_matching(RUN, TaskQuery()))) == 200


def test_rows_written_after_the_keys_set_them_aside(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    first = rows(200)
    save_run(store, RUN, first)
    late = [dict(r, status="error") for r in first[:100]]
    store.save_page(RUN, 1, 1, 100, late, "a-loader-that-lost-its-claim", 60)
    query = TaskQuery(statuses=("error",), per_page=500)
    assert [r.id for r in store.query(RUN, query).rows] == old_page(store, query)
