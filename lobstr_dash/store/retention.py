"""Retention: a store that lives for a year by evicting the runs nobody has opened for longest.

The store is a cache of lobstr: an evicted run is read again from lobstr when someone next opens
it. Runs go least recently opened first, and only finished ones: never a run being loaded, a run
whose tasks are still running, a run opened in the last PROTECT_SECONDS (someone has it on
screen), nor one an alert is still being worked out for (a pending hook). Freed pages go back
to the file system by incremental vacuum, so the file really shrinks.

On PostgreSQL runs are evicted the same way by plain DELETEs; there is no vacuum here: autovacuum
makes the space reusable (the files do not shrink, the next runs fill them). What STORE_MAX_MB is
held to there is the bytes of the rows held (each finished load's rows and keys, noted when it is
written: keyload.py), since the database's size does not fall when rows go.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from . import keyload
from .db import Database
from .figures import FiguresCache
from .sortkeys import on_postgres

#: A run opened this recently is on someone's screen: never evicted (10 min).
PROTECT_SECONDS = 600.0
#: Runs evicted per pass at most, so one pass never holds the write lock for long.
MAX_EVICTIONS = 100
#: Task rows deleted per transaction: a page being stored meanwhile waits a fraction of a second,
#: never for a whole run's delete (about a minute for 100,000 tasks here, with their keys).
DELETE_CHUNK = 500

#: Migration 12's part for retention: when each run was last opened, and the evictions made.
MIGRATION: tuple[str, ...] = (
    "ALTER TABLE runs ADD COLUMN opened_at REAL",
    """CREATE TABLE evictions (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at REAL NOT NULL,
        reason TEXT NOT NULL,           -- age | size
        tasks INTEGER NOT NULL
    )""",
)


@dataclass(frozen=True)
class Footprint:
    """How big the store is, what it holds, and how many runs retention evicted so far."""

    file_bytes: int
    used_bytes: int
    runs: int
    evictions: int


def _used_bytes(conn: sqlite3.Connection) -> int:
    if on_postgres(conn):
        return int(conn.execute("SELECT coalesce(sum(bytes), 0) FROM run_keys").fetchone()[0])
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * page_size)


class Retention:
    """Retention statements; mixed into `Store`, which provides `db`, `figures` and `clock`."""

    db: Database
    figures: FiguresCache
    clock: Callable[[], float]

    def touch(self, opened: dict[str, float]) -> None:
        """Note when runs were last opened (retention evicts the least recently opened)."""
        if opened:
            with self.db.transaction(immediate=True) as conn:
                conn.executemany(
                    "UPDATE runs SET opened_at = max(coalesce(opened_at, 0), ?) WHERE run_id = ?",
                    [(at, run_id) for run_id, at in opened.items()])

    def footprint(self) -> Footprint:
        """The store's size on disk and in use, the runs it holds, and evictions so far."""
        conn = self.db.connection()
        runs = conn.execute("SELECT count(*) FROM runs WHERE state != 'failed'").fetchone()[0]
        evictions = conn.execute("SELECT count(*) FROM evictions").fetchone()[0]
        if on_postgres(conn):
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        else:
            size = sum(p.stat().st_size for p in (self.db.path, self.db.path.with_name(
                self.db.path.name + "-wal")) if p.exists())
        return Footprint(int(size), _used_bytes(conn), int(runs), int(evictions))

    def evict(self, *, max_bytes: int | None, keep_seconds: float | None) -> list[str]:
        """Evict runs past `keep_seconds` since last opened, then the least recently opened while
        the store uses more than `max_bytes`; shrink the file; return the runs evicted."""
        if max_bytes is None and keep_seconds is None:
            return []
        now = self.clock()
        evicted: list[str] = []
        for run_id, last in self._candidates(now):
            if len(evicted) >= MAX_EVICTIONS:
                break
            if keep_seconds is not None and last < now - keep_seconds:
                reason = "age"
            elif max_bytes is not None and _used_bytes(self.db.connection()) > max_bytes:
                reason = "size"
            else:
                break  # candidates are oldest first: nothing later is due either
            if self._evict_one(run_id, reason, now):
                evicted.append(run_id)
        if evicted:
            self.shrink()
        return evicted

    def _candidates(self, now: float) -> list[tuple[str, float]]:
        """Finished runs that may go, least recently opened first."""
        rows = self.db.connection().execute(
            "SELECT run_id, coalesce(opened_at, fetched_at, finished_at, started_at, 0) AS last"
            " FROM runs WHERE state IN ('done', 'partial', 'failed') AND is_live = 0"
            " AND coalesce(opened_at, 0) < ?"
            " AND run_id NOT IN (SELECT run_id FROM hooks WHERE state = 'pending')"
            " ORDER BY last, run_id", (now - PROTECT_SECONDS,)).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def _evict_one(self, run_id: str, reason: str, now: float) -> bool:
        """Evict one run, if it is still evictable (checked under the write lock): its load
        record goes at once, its task rows after, a chunk per transaction (`_delete_tasks`)."""
        with self.db.transaction(immediate=True) as conn:
            still = conn.execute(
                "SELECT 1 FROM runs WHERE run_id = ? AND state IN ('done', 'partial', 'failed')"
                " AND is_live = 0 AND coalesce(opened_at, 0) < ?",
                (run_id, now - PROTECT_SECONDS)).fetchone()
            if still is None:
                return False
            tasks = conn.execute("SELECT count(*) FROM tasks WHERE run_id = ?",
                                 (run_id,)).fetchone()[0]
            for table in ("pages", "runs", "run_info", "run_figures"):
                conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            conn.execute("INSERT INTO evictions (run_id, at, reason, tasks) VALUES (?, ?, ?, ?)",
                         (run_id, now, reason, max(0, tasks)))
        self.figures.forget(run_id)
        self._delete_tasks(run_id)
        return True

    def _delete_tasks(self, run_id: str) -> None:
        """Delete an evicted run's task rows, DELETE_CHUNK per transaction (their keys and text
        entries go with them, by trigger). Should the run be opened again meanwhile, its new
        load's claim deletes what is left (Ledger.claim) and this stops, so no chunk ever takes
        a row of the new load."""
        while True:
            with self.db.transaction(immediate=True) as conn:
                if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                    return
                deleted = conn.execute(
                    "DELETE FROM tasks WHERE run_id = ? AND id IN"
                    " (SELECT id FROM tasks WHERE run_id = ? LIMIT ?)",
                    (run_id, run_id, DELETE_CHUNK)).rowcount
                if deleted < DELETE_CHUNK:
                    keyload.drop(conn, run_id)  # any key left without its task
                    return

    def shrink(self) -> None:
        """Give free pages back to the file system: incremental vacuum, then a WAL truncate.

        A store made before retention existed has no incremental vacuum: the first shrink turns
        it on with one full VACUUM (it rewrites the file once; every later shrink is cheap).
        """
        conn = self.db.connection()
        if on_postgres(conn):
            return  # autovacuum makes the space of deleted rows reusable (module docstring)
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("VACUUM")
        else:
            # One step of the statement frees one page: executescript steps it to the end.
            conn.executescript("PRAGMA incremental_vacuum;")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
