"""The PostgreSQL engine's own parts: statement translation, migrations under a lock, SQLite's
functions as PostgreSQL has them, and a dashboard on a real PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any


import pytest

from support import RUN
from support import make_rows
from lobstr_dash.store import SharedWindows
from lobstr_dash.store import Store
from lobstr_dash.store.pg import translate
from lobstr_dash.store.pgschema import PG_MIGRATIONS


@pytest.mark.parametrize(("sqlite", "postgresql"), [
    ("SELECT a FROM t WHERE b = ? AND c IN (?, ?)", "SELECT a FROM t WHERE b = %s AND c IN (%s, %s)"),
    ("SELECT 1 WHERE x = :now AND y::text = '?:no'", "SELECT 1 WHERE x = %(now)s AND y::text = '?:no'"),
    ("SELECT '50%' || ?", "SELECT '50%%' || %s"),
    ("INSERT OR IGNORE INTO hooks (a) VALUES (?)",
     "INSERT INTO hooks (a) VALUES (%s) ON CONFLICT DO NOTHING"),
    ("SELECT a FROM t WHERE +status IN (?) AND (a + b) > 1",
     "SELECT a FROM t WHERE status IN (%s) AND (a + b) > 1"),
    ("SELECT x FROM tasks AS t INDEXED BY tasks_position ON t.a = 1", "SELECT x FROM tasks AS t  ON t.a = 1"),
    ("SELECT min(?, CAST((c - ?) / ? AS INTEGER)) AS b", "SELECT min(%s, trunc((c - %s) / %s)::bigint) AS b"),
    ("CREATE TABLE temp.pairs_ab AS SELECT 1", "CREATE TABLE pg_temp.pairs_ab AS SELECT 1"),
])
def test_the_few_sqlite_spellings_are_translated(sqlite: str, postgresql: str) -> None:
    assert translate(sqlite) == postgresql


def test_sqlite_functions_mean_the_same_on_postgresql(pg_url: str) -> None:
    store = Store("unused", database_url=pg_url)
    row = store.db.connection().execute(
        "SELECT instr('abcdef', 'cd'), min(3, 5), max(3, 5), min(NULL, 5), CAST(2.9 AS INTEGER),"
        " json_extract('{\"status\": \"done\"}', '$.status'), json_valid('{'), json_type('{}')"
    ).fetchone()
    assert tuple(row) == (3, 3, 5, None, 2, "done", False, "object")
    counted = store.db.connection().execute(
        "SELECT sum(v > 1), sum(v IS NULL) FROM (VALUES (1), (2), (3), (NULL)) AS t (v)").fetchone()
    assert tuple(counted) == (2, 1)


def test_replicas_starting_together_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            Store("unused", database_url=pg_url).shutdown()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    store = Store("unused", database_url=pg_url)
    assert store.schema_version() == len(PG_MIGRATIONS)
    versions = store.db.connection().execute("SELECT version FROM schema_version").fetchall()
    assert [v[0] for v in versions] == list(range(1, len(PG_MIGRATIONS) + 1))


def test_the_window_book_is_shared_by_every_replica(pg_url: str) -> None:
    one, other = (SharedWindows("unused", database_url=pg_url) for _ in range(2))
    assert [one.take("runtasks", 3, 60.0) for _ in range(2)] == [0, 0]
    assert other.take("runtasks", 3, 60.0) == 0
    assert 59.0 < one.take("runtasks", 3, 60.0) <= 60.0  # the budget is spent, whoever spent it
    assert other.take("runs", 3, 60.0) == 0  # another endpoint family has its own
    one.pause("runs", 5.0)
    assert 4.0 < other.paused_for("runs") <= 5.0
    other.pause("runs", 1.0)  # a shorter pause never shortens a longer one
    assert one.paused_for("runs") > 4.0


def test_a_run_loads_and_reads_back_on_postgresql(make_app: Any, upstream: Any, pg_url: str) -> None:
    upstream.add_run(RUN, make_rows(RUN, 250))
    app = make_app(DATABASE_URL=pg_url)
    store: Store = app.extensions["lobstr_dash"].store
    assert store.engine == "postgresql"
    body = app.test_client().get(f"/runs/{RUN}/tasks.json").json
    assert body["complete"] is True and len(body["tasks"]) == 250
    page = app.test_client().get(f"/runs/{RUN}")
    assert page.status_code == 200
    state = store.run_state(RUN)
    assert state.phase == "done" and state.rows_stored == 250 and state.pages_done == 3


MIXED = "c67d9ef4f2c9e394b33b7a33541f5b19"
ABORTED = "7e55ea0f68ecf00806193bac369ee7c9"
CLEAN = "d8bc964bd31d0fa60dfe285219ea5738"
VIEWS = [
    f"/runs/{MIXED}", f"/runs/{MIXED}?sort=reason&dir=asc", f"/runs/{MIXED}?short=1&page=2",
    f"/runs/{MIXED}?q=maps", f"/runs/{MIXED}?class=account&class=site", f"/runs/{MIXED}?sort=input",
    f"/runs/{MIXED}/tasks.json?sort=expected", f"/runs/{MIXED}/tasks.csv?reason=(none)",
    f"/runs/{MIXED}/requeue.csv", f"/runs/{ABORTED}?sort=started&dir=desc",
    f"/runs/{ABORTED}/tasks.json", f"/compare?a={ABORTED}&b={MIXED}", f"/runs/{CLEAN}",
]


def _normalised(body: bytes) -> str:
    import re

    text = body.decode()
    # Per-request values: the CSP nonce, CSRF tokens, and "loaded N s ago".
    text = re.sub(r'nonce="[^"]*"|name="csrf_token"[^>]*>|\d+(\.\d+)? ?(s|ms) ago'
                  r"|\d\d:\d\d(:\d\d)?( UTC)?|datetime=\"[^\"]*\"|\"fetched_at\": [\d.]+", "", text)
    return text


def test_both_engines_serve_the_same_pages(make_app: Any, pg_url: str, tmp_path: Any) -> None:
    sqlite_app = make_app()
    pg_app = make_app(DATABASE_URL=pg_url, DATA_DIR=str(tmp_path / "pg"))
    for path in VIEWS:
        first = sqlite_app.test_client().get(path)
        second = pg_app.test_client().get(path)
        assert (first.status_code, second.status_code) == (200, 200), path
        a, b = _normalised(first.data), _normalised(second.data)
        if a != b:
            import difflib
            print("".join(list(difflib.unified_diff(a.splitlines(True), b.splitlines(True)))[:80]))
        assert a == b, path


def test_a_database_that_went_away_is_named_on_healthz_and_pages(make_app: Any, upstream: Any,
                                                                   pg_cluster: Any) -> None:
    from urllib.parse import urlsplit

    import psycopg

    url = pg_cluster.database()
    upstream.add_run(RUN, make_rows(RUN, 150))
    app = make_app(DATABASE_URL=url)
    client = app.test_client()
    assert client.get("/healthz").json["store"] == "ok"
    app.extensions["lobstr_dash"].store.db.pool.timeout = 1.0  # not the 10 s a replica waits
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:  # the database goes away
        admin.execute(f'DROP DATABASE "{urlsplit(url).path[1:]}" WITH (FORCE)')
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["store"] == "unreachable"
    page = client.get(f"/runs/{RUN}")
    assert page.status_code == 503 and b"PostgreSQL" in page.data


@pytest.mark.parametrize("beating", [False, True])
def test_a_load_held_on_another_host_is_taken_over_when_its_heartbeat_lapses(
        make_app: Any, upstream: Any, pg_url: str, beating: bool) -> None:
    rows = make_rows(RUN, 500)
    upstream.add_run(RUN, rows)
    app = make_app(DATABASE_URL=pg_url, LOAD_WAIT_SECONDS=0.2, EXPORT_WAIT_SECONDS=1.0 if beating else 10.0)
    store: Store = app.extensions["lobstr_dash"].store
    # A replica on another host claimed the run for an hour and stored pages 1 and 2.
    owner = "other-host:4242:feedface0000"
    generation = store.claim(RUN, owner, 3600, fresh=True)
    store.set_totals(RUN, 500, 5, 100)
    for page in (1, 2):
        store.save_page(RUN, generation, page, 100, rows[(page - 1) * 100:page * 100], owner, 3600)
    # Its process beat once; then it beats on (alive) or its beat lapsed (the host went away).
    store.take_lease("beat:other-host:4242", "beat:other-host:4242", 60 if beating else -1)
    body = app.test_client().get(f"/runs/{RUN}/tasks.json").json
    if beating:  # a live replica's load is left to it
        assert body["complete"] is False and upstream.state.count("runtasks", run=RUN) == 0
        return
    assert body["complete"] is True and len(body["tasks"]) == 500
    # Only the three pages the other replica had not stored were asked for.
    assert sorted(r.page for r in upstream.state.requests if r.endpoint == "runtasks") == [3, 4, 5]
