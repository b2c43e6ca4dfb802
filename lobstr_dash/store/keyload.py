"""Writing a run's sort keys and text index in bulk, once per finished load, and dropping them.

`rebuild` runs right after the transaction that closes a load (Ledger.finish), in one of its own:
the run's old keys and index entries go, and the new ones are copied from its tasks in position
order, so a run's keys sit together (textsearch narrows candidates to that stretch of rowids).
"""

from __future__ import annotations

import sqlite3

from .sortkeys import KEY_COLUMNS
from .sortkeys import on_postgres
from .textsearch import has_index


def stale(conn: sqlite3.Connection, run_id: str) -> None:
    """A load starts or stores a page: the run's keys no longer count until that load ends."""
    conn.execute("UPDATE run_keys SET generation = NULL WHERE run_id = ?", (run_id,))


def drop(conn: sqlite3.Connection, run_id: str) -> None:
    """Delete a run's keys and text index entries (the run is reloaded, forgotten or evicted)."""
    row = conn.execute("SELECT key FROM run_keys WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        return
    if has_index(conn):
        conn.execute("DELETE FROM task_text WHERE rowid IN"
                     " (SELECT rowid FROM task_keys WHERE run_key = ?)", (row[0],))
    conn.execute("DELETE FROM task_keys WHERE run_key = ?", (row[0],))
    conn.execute(f"UPDATE run_keys SET generation = NULL{', bytes = NULL' if on_postgres(conn) else ''}"
                 " WHERE key = ?", (row[0],))


def rebuild(conn: sqlite3.Connection, run_id: str) -> None:
    """Copy a run's tasks into task_keys (and the text index) for its current load, unless a new
    load of it has started meanwhile (that one writes them when it ends)."""
    state = conn.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if state is None or state[0] == "loading":
        return
    drop(conn, run_id)
    conn.execute("INSERT OR IGNORE INTO run_keys (run_id) VALUES (?)", (run_id,))
    key = conn.execute("SELECT key FROM run_keys WHERE run_id = ?", (run_id,)).fetchone()[0]
    # PostgreSQL: the keys carry the text too (its pg_trgm index), and the bytes of the run's
    # rows are noted: what STORE_MAX_MB holds it to (retention.py).
    pg = on_postgres(conn)
    columns = ", ".join(KEY_COLUMNS + (("search_text",) if pg else ()))
    conn.execute(f"INSERT INTO task_keys (run_key, {columns}) SELECT ?, {columns} FROM tasks"
                 " WHERE run_id = ? ORDER BY position", (key, run_id))
    if has_index(conn):
        conn.execute("INSERT INTO task_text (rowid, search_text) SELECT k.rowid, t.search_text"
                     " FROM task_keys AS k JOIN tasks AS t ON t.run_id = ? AND t.id = k.id"
                     " WHERE k.run_key = ?", (run_id, key))
    conn.execute("UPDATE run_keys SET generation = (SELECT generation FROM runs WHERE run_id = ?)"
                 " WHERE key = ?", (run_id, key))
    if pg:
        conn.execute(f"UPDATE run_keys SET bytes = {PG_RUN_BYTES} WHERE key = ?", (run_id, key, key))


#: The bytes of a run's rows and keys in PostgreSQL (run_id, then its key), as tuples stored.
PG_RUN_BYTES = ("(SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM tasks AS t WHERE t.run_id = ?)"
                " + (SELECT coalesce(sum(pg_column_size(k.*)), 0) FROM task_keys AS k"
                " WHERE k.run_key = ?)")
