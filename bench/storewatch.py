"""Follow a run's load in the dashboard's SQLite store, read-only, from outside the dashboard."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

FINAL_STATES = frozenset({"done", "partial", "failed"})

_STATE_SQL = (
    "SELECT r.state, r.total_pages,"
    " (SELECT count(*) FROM pages p WHERE p.run_id = r.run_id AND p.generation = r.generation"
    "  AND p.state = 'done') AS pages_done,"
    " (SELECT count(*) FROM tasks t WHERE t.run_id = r.run_id) AS rows_stored"
    " FROM runs r WHERE r.run_id = ?"
)


@dataclass(frozen=True)
class LoadProgress:
    """Where a load stands: state, pages done of total, rows stored."""

    state: str | None
    total_pages: int | None
    pages_done: int
    rows_stored: int


@dataclass(frozen=True)
class LoadTimes:
    """Seconds from the first request until the first page was stored and until the load ended."""

    first_rows: float | None
    finished: float | None
    progress: LoadProgress


def read_progress(store_path: Path, run_id: str) -> LoadProgress:
    """One read-only look at the store (no lock held between looks)."""
    if not store_path.exists():
        return LoadProgress(None, None, 0, 0)
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5.0)
    try:
        row = conn.execute(_STATE_SQL, (run_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        return LoadProgress(None, None, 0, 0)
    return LoadProgress(row[0], row[1], int(row[2]), int(row[3]))


def watch_load(store_path: Path, run_id: str, started: float, *, timeout: float,
               interval: float = 0.01) -> LoadTimes:
    """Poll until the run's load ends; times are `time.perf_counter()` deltas from `started`."""
    first_rows: float | None = None
    deadline = started + timeout
    while True:
        progress = read_progress(store_path, run_id)
        now = time.perf_counter()
        if first_rows is None and progress.pages_done >= 1:
            first_rows = now - started
        if progress.state in FINAL_STATES:
            return LoadTimes(first_rows, now - started, progress)
        if now >= deadline:
            return LoadTimes(first_rows, None, progress)
        time.sleep(interval)
