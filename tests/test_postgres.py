"""The PostgreSQL engine's own parts: statement translation, migrations under a lock, SQLite's
functions as PostgreSQL has them, and a dashboard on a real PostgreSQL."""

from __future__ import annotations

from typing import Any


from support import RUN
from support import make_rows
from lobstr_dash.store import Store


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
