"""The rate limiter's window book in a SQLite file, so every worker process shares one budget.

lobstr counts requests per account, not per process: two gunicorn workers each allowed 90 a minute
would send 180. Each slot is taken in one IMMEDIATE transaction on a small file of its own, so it
never waits behind the store's page writes. Times are wall-clock seconds (shared across processes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .db import Database

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS slots (key TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS slots_key_at ON slots (key, at)",
    "CREATE TABLE IF NOT EXISTS pauses (key TEXT PRIMARY KEY, until REAL NOT NULL)",
)


class SharedWindows:
    """A window book (see upstream/ratelimit.py) kept in `path`, or with `database_url` in
    PostgreSQL, so every replica shares one budget (and one pause after a Retry-After)."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time, *,
                 database_url: str | None = None) -> None:
        self.clock = clock
        if database_url:
            from .pg import WINDOWS_WRITE_LOCK
            from .pg import PgDatabase
            from .pgschema import migrate_pg

            # A pool of its own and a lock of its own: a slot never waits behind a page write.
            self.db = PgDatabase(database_url, pool_size=4,  # type: ignore[assignment]
                                 write_lock=WINDOWS_WRITE_LOCK)
            migrate_pg(self.db)
            return
        self.db = Database(path)
        with self.db.transaction(immediate=True) as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def take(self, key: str, limit: int, window: float) -> float:
        """Record a call now and return 0, or return the seconds until one may go."""
        now = self.clock()
        with self.db.transaction(immediate=True) as conn:
            conn.execute("DELETE FROM slots WHERE key = ? AND at <= ?", (key, now - window))
            row = conn.execute("SELECT until FROM pauses WHERE key = ?", (key,)).fetchone()
            wait = max(0.0, row[0] - now) if row else 0.0
            if limit:
                count, oldest = conn.execute(
                    "SELECT count(*), min(at) FROM slots WHERE key = ?", (key,)).fetchone()
                if count >= limit:
                    wait = max(wait, oldest + window - now)
            if wait <= 0:
                conn.execute("INSERT INTO slots (key, at) VALUES (?, ?)", (key, now))
        return wait

    def pause(self, key: str, seconds: float) -> None:
        """Make every process send nothing to this endpoint family for `seconds`."""
        until = self.clock() + max(0.0, seconds)
        with self.db.transaction(immediate=True) as conn:
            conn.execute("INSERT INTO pauses (key, until) VALUES (?, ?) ON CONFLICT (key)"
                         " DO UPDATE SET until = max(pauses.until, excluded.until)", (key, until))

    def paused_for(self, key: str) -> float:
        """Seconds until any process may call this family again after a pause (0 when none)."""
        row = self.db.connection().execute("SELECT until FROM pauses WHERE key = ?",
                                           (key,)).fetchone()
        return max(0.0, row[0] - self.clock()) if row else 0.0
