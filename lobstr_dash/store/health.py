"""The store's own failures, told apart and named: corrupt (dropped and rebuilt), full, unwritable.

The store is a cache of lobstr: a file that SQLite reports corrupt is deleted and made again
empty, and runs load again from lobstr on their next visit. A full or read-only disk cannot be
fixed from here; it is reported as what it is, never as "lobstr could not be read".
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .db import Database
from .figures import FiguresCache
from .migrations import migrate

log = logging.getLogger(__name__)

# SQLite's primary result codes (sqlite3.h).
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL = {13}  # SQLITE_FULL
_UNWRITABLE = {8, 10, 14}  # SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN

MESSAGES = {
    "corrupt": "the dashboard's store was damaged; it was dropped and is being rebuilt from lobstr",
    "full": "the dashboard's disk is full: it cannot store what lobstr sends",
    "unwritable": "the dashboard cannot write to its store (read-only or failing disk)",
    "unreachable": "the dashboard cannot reach its PostgreSQL database (DATABASE_URL)",
}


#: Below this much room to grow (free disk, or SQLite's page limit), /healthz says it is full:
#: a few pages of tasks would no longer fit.
MIN_FREE_BYTES = 1024 * 1024


def _free_bytes(path: Path) -> int:
    """Bytes free for this process on the disk that holds `path`."""
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return MIN_FREE_BYTES  # unknown (not POSIX): say nothing
    return stats.f_bavail * stats.f_frsize


def _pg_unreachable(exc: BaseException) -> bool:
    """True for psycopg's "cannot connect / connection lost" and the pool's wait running out."""
    psycopg = sys.modules.get("psycopg")
    pool = sys.modules.get("psycopg_pool")
    return bool((psycopg is not None and isinstance(exc, psycopg.OperationalError))
                or (pool is not None and isinstance(exc, pool.PoolTimeout)))


class StoreFault(Exception):
    """The store itself failed; `kind` is corrupt, full or unwritable."""

    def __init__(self, kind: str) -> None:
        super().__init__(MESSAGES[kind])
        self.kind = kind
        self.message = MESSAGES[kind]


def fault_of(exc: BaseException) -> str | None:
    """'corrupt', 'full' or 'unwritable' when `exc` is the store failing; None otherwise."""
    if isinstance(exc, StoreFault):
        return exc.kind
    if isinstance(exc, OSError):
        return "unwritable"
    if _pg_unreachable(exc):
        return "unreachable"
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc).lower()
    if code in _CORRUPT or ("malformed" in text and "json" not in text) or "not a database" in text:
        return "corrupt"
    if code in _FULL or "disk is full" in text:
        return "full"
    if code in _UNWRITABLE or "readonly" in text or "disk i/o" in text:
        return "unwritable"
    return None


class Health:
    """The store's probe and its rebuild; mixed into `Store`, which provides `db` and `figures`."""

    db: Database
    figures: FiguresCache
    clock: Callable[[], float]
    _rebuild_lock = threading.Lock()

    def probe(self) -> None:
        """Read and write the file once (the health check); raises StoreFault when it cannot."""
        try:
            with self.db.transaction(immediate=True) as conn:
                conn.execute("SELECT count(*) FROM runs WHERE run_id = ''").fetchone()
                conn.execute("INSERT INTO health (id, checked_at) VALUES (1, ?) ON CONFLICT (id)"
                             " DO UPDATE SET checked_at = excluded.checked_at", (self.clock(),))
                if getattr(self.db, "engine", "sqlite") != "sqlite":
                    return  # PostgreSQL's server watches its own disk

                # A write that fits in a page already there succeeds on a full disk: also ask
                # whether the file can still grow at all.
                pages, ceiling, size = (conn.execute(f"PRAGMA {name}").fetchone()[0]
                                        for name in ("page_count", "max_page_count", "page_size"))
            room = min((ceiling - pages) * size, _free_bytes(self.db.path))
            if room < MIN_FREE_BYTES:
                raise StoreFault("full")
        except Exception as exc:
            kind = fault_of(exc)
            if kind is None:
                raise
            raise StoreFault(kind) from exc

    def guard(self, exc: BaseException) -> str | None:
        """Name the store's fault in `exc` (None: not the store's); a corrupt file is rebuilt."""
        kind = fault_of(exc)
        if kind == "corrupt":
            self.rebuild()
        return kind

    def rebuild(self) -> None:
        """Drop the file (it is a cache of lobstr) and make an empty one; every thread reopens."""
        with self._rebuild_lock:
            log.error("the store %s is damaged: dropping it and starting an empty one",
                      self.db.path.name)
            self.db.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                self.db.path.with_name(self.db.path.name + suffix).unlink(missing_ok=True)
            self.db.epoch += 1
            self.figures.clear()
            migrate(self.db.connection())
