"""Text search over params through an FTS5 trigram index, with the same answers as a scan.

The text filter is a case-insensitive substring of each task's `search_text` (its params, lower-
cased): `instr(search_text, lower(q)) > 0`. At 100,000 tasks that scan reads every wide row. A
trigram index (SQLite ≥ 3.34 with FTS5) finds the few candidates instead, and each candidate is
checked again with the same `instr`, so the answer is exactly the scan's: the index only narrows.
Queries under three characters have no trigram, and a SQLite without trigram has no index: both
keep the scan. The index has detail=none (no positions, a third of the size): candidates may be
false positives, which the `instr` check drops. It keeps its text, so a run's entries can be
dropped by rowid when the run is loaded again or evicted.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from . import sortkeys

#: The shortest query the trigram index can answer.
MIN_INDEXED = 3


def trigram_supported() -> bool:
    """True when this SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    if sqlite3.sqlite_version_info < (3, 34, 0):
        return False
    try:
        conn = sqlite3.connect(":memory:")
        try:
            conn.execute("CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='trigram')")
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True


def migration() -> tuple[str, ...]:
    """Migration 12: the trigram index over the keys of finished loads, or nothing without FTS5.

    Like task_keys it is written once per finished load (keyload.py); the delete trigger of
    migration 11 is made again so that a deleted task also leaves the index.
    """
    if not trigram_supported():
        return ()
    return (
        "CREATE VIRTUAL TABLE task_text USING fts5(search_text, tokenize='trigram', detail='none')",
        "INSERT INTO task_text (rowid, search_text) SELECT k.rowid, t.search_text"
        " FROM task_keys AS k JOIN run_keys AS r ON r.key = k.run_key"
        " JOIN tasks AS t ON t.run_id = r.run_id AND t.id = k.id",
        "DROP TRIGGER tasks_keys_delete",
        sortkeys.delete_trigger(
            f"DELETE FROM task_text WHERE rowid = (SELECT rowid FROM {sortkeys.OLD_KEY_ROW});"),
    )


def has_index(conn: sqlite3.Connection) -> bool:
    """True when the store file has the FTS5 trigram index (migration 12 found FTS5; never on
    PostgreSQL, whose keys carry their text under a pg_trgm index instead: `pg_text_clause`)."""
    if sortkeys.on_postgres(conn):
        return False
    return conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'task_text'").fetchone() is not None


def rowid_range(conn: sqlite3.Connection, run_id: str) -> tuple[int, int]:
    """The first and last task_keys rowid of a run (its keys are written together; PostgreSQL
    has no rowid and needs no bounds: its index is asked for the run's own keys)."""
    if sortkeys.on_postgres(conn):
        return 0, 0
    low, high = conn.execute("SELECT min(k.rowid), max(k.rowid) FROM task_keys AS k"
                             " JOIN run_keys AS r ON r.key = k.run_key WHERE r.run_id = ?",
                             (run_id,)).fetchone()
    return int(low or 0), int(high or 0)


def text_clause(conn: sqlite3.Connection, run_id: str, text: str,
                bounds: tuple[int, int] | None = None) -> tuple[str, list[Any]]:
    """The condition on `task_keys AS k` that a task's params contain `text` (any case).

    `bounds` is the run's `rowid_range` when the caller keeps it (it costs a walk of the run's
    keys); candidates come only from that stretch, so a common word in a store of many runs
    does not bring every other run's rows along.
    """
    needle = text.lower()
    if sortkeys.on_postgres(conn):
        return pg_text_clause(needle)
    exact = ("EXISTS (SELECT 1 FROM tasks AS t WHERE t.run_id = ? AND t.id = k.id"
             " AND instr(t.search_text, ?) > 0)")
    if len(needle) < MIN_INDEXED or not has_index(conn):
        return ("k.id IN (SELECT id FROM tasks WHERE run_id = ? AND instr(search_text, ?) > 0)",
                [run_id, needle])
    low, high = bounds or rowid_range(conn, run_id)
    return ("k.rowid IN (SELECT rowid FROM task_text WHERE task_text MATCH ?"
            f" AND rowid BETWEEN ? AND ?) AND {exact}",
            [trigram_query(needle), low, high, run_id, needle])


#: Trigrams of a long query asked of the index: any subset still finds every candidate.
MAX_TRIGRAMS = 16


def trigram_query(needle: str) -> str:
    """An FTS5 query for rows holding every trigram of `needle` (a superset of its matches).

    Each trigram is its own one-token term: detail=none keeps no positions, so a phrase (the
    string as one term) cannot be asked.
    """
    grams = list(dict.fromkeys(needle[i:i + 3] for i in range(len(needle) - 2)))
    if len(grams) > MAX_TRIGRAMS:
        step = len(grams) / MAX_TRIGRAMS
        grams = [grams[int(i * step)] for i in range(MAX_TRIGRAMS)] + [grams[-1]]
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)


def pg_text_clause(needle: str) -> tuple[str, list[Any]]:
    """PostgreSQL's condition: `LIKE '%needle%'` on the keys' own copy of the text, which the
    pg_trgm GIN index answers (pgschema.py, version 2) and which is the exact substring test
    (the text and the needle are both lower-cased; `%`, `_` and the escape are escaped). A
    needle under three characters has no trigram: it is tested by `instr`, as SQLite scans."""
    if len(needle) < MIN_INDEXED:
        return "instr(k.search_text, ?) > 0", [needle]
    pattern = "%" + needle.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
    return "k.search_text LIKE ? ESCAPE '!'", [pattern]
