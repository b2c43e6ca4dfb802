"""Text search through the trigram index (issue 15) answers exactly what the scan answered:
a case-insensitive substring of the params, for every query length, case and character."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lobstr_dash.domain.query import TaskQuery
from lobstr_dash.store import Store
from lobstr_dash.store import textsearch
from lobstr_dash.store.tasks import filter_sql
from tests.taskrows import save_run
from tests.taskrows import task_row

RUN, OTHER = "e" * 32, "f" * 32
WORDS = ("Boulangerie", "boulanger", "Café Crème", "ÉCOLE", "école", 'say "hi"', "50%_off",
         "a", "ab", "İstanbul", "straße", "東京タワー", "x" * 40)


def rows(run_id: str, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [task_row(run_id, i, params={
        "url": f"https://example.com/{rng.choice(WORDS)}/{i}", "q": rng.choice(WORDS),
        "n": rng.randint(0, 99)}) for i in range(count)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    made = Store(Path(tmp_path_factory.mktemp("text")) / "s.sqlite3")
    save_run(made, RUN, rows(RUN, 400, 1))
    save_run(made, OTHER, rows(OTHER, 300, 2))  # another run's matches must never leak in
    return made


def scan(store: Store, text: str) -> set[str]:
    """The rows the text filter matched before the index: instr over the lowered params."""
    where, args = filter_sql(RUN, TaskQuery(text=text).filter)
    return {r[0] for r in store.db.connection().execute(f"SELECT id FROM tasks WHERE {where}", args)}


QUERIES = ["boulangerie", "BOULANGER", "bou", "b", "é", "éc", "ÉCOLE", "café crè", '"hi"', '"',
           "50%_", "%", "_", "istanbul", "i̇stanbul", "straße", "東京", "東京タ", "xxxx", "x" * 41,
           "https://example.com/", "/1", "nothing-like-this", " ", "n 4"]


@pytest.mark.parametrize("text", QUERIES)
def test_the_index_finds_exactly_what_the_scan_found(store: Store, text: str) -> None:
    assert textsearch.has_index(store.db.connection())
    page = store.query(RUN, TaskQuery(text=text, per_page=1000))
    assert {r.id for r in page.rows} == scan(store, text)
    assert page.matching == len(scan(store, text))
    assert store.count(RUN, TaskQuery(text=text).filter) == page.matching


@pytest.mark.parametrize("text", ["boulangerie", "éc", "a", "東京タ"])
def test_without_the_index_the_scan_answers_the_same(store: Store, text: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with_index = [r.id for r in store.query(RUN, TaskQuery(text=text, per_page=1000)).rows]
    monkeypatch.setattr(textsearch, "has_index", lambda conn: False)
    store.figures.clear()
    assert [r.id for r in store.query(RUN, TaskQuery(text=text, per_page=1000)).rows] == with_index


def test_short_queries_and_a_store_without_trigram_use_the_scan(store: Store) -> None:
    conn = store.db.connection()
    assert "task_text" not in textsearch.text_clause(conn, RUN, "ab")[0]
    assert "task_text" in textsearch.text_clause(conn, RUN, "abc")[0]
    assert textsearch.trigram_supported() is (textsearch.migration() != ())


def test_the_index_follows_changed_and_deleted_rows(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    first = rows(RUN, 120, 3)
    save_run(store, RUN, first)
    renamed = [dict(r, params={"url": f"https://example.com/zzqq/{i}"}) for i, r in enumerate(first)]
    save_run(store, RUN, renamed[:60] + first[60:])
    assert store.query(RUN, TaskQuery(text="zzqq", per_page=500)).matching == 60
    assert store.query(RUN, TaskQuery(text="boulangerie", per_page=500)).matching == len(
        scan(store, "boulangerie"))
    store.forget([RUN])
    conn = store.db.connection()
    assert conn.execute("SELECT count(*) FROM task_text WHERE task_text MATCH '\"zzq\"'"
                        ).fetchone()[0] == 0
