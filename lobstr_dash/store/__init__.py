"""The store: the only code that opens database connections or writes SQL.

`Store` is one object over one SQLite file, or over one PostgreSQL database (DATABASE_URL) that
several replicas share, made of one class per job: the load ledger, task queries,
aggregates, comparisons of two runs, the run-info records and the audit log of actions. They
share the connection helper (`db.py`) and one cache of finished-load figures (`figures.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .aggregates import Aggregates
from .aggregates import StoredRunFigures
from .audit import ActionRecord
from .audit import AuditLog
from .db import Database
from .figures import FiguresCache
from .figurestore import FigureStore
from .health import Health
from .health import StoreFault
from .health import fault_of
from .hooks import HookRecord
from .hooks import HookRecords
from .ledger import Ledger
from .ledger import LoadRecord
from .migrations import MIGRATIONS
from .migrations import migrate
from .outbox import NO_CHANNEL
from .outbox import AlertFilter
from .outbox import AlertRecord
from .outbox import Outbox
from .outbox import VerdictRecord
from .pairs import Pairs
from .pgschema import migrate_pg
from .pgschema import schema_version_pg
from .retention import Footprint
from .retention import Retention
from .runinfo import RunInfoRecord
from .runinfo import RunInfoRecords
from .tasks import SORT_COLUMNS
from .tasks import TaskQueries
from .windows import SharedWindows

__all__ = ["MIGRATIONS", "NO_CHANNEL", "SORT_COLUMNS", "ActionRecord", "AlertFilter", "AlertRecord",
           "Footprint", "HookRecord", "LoadRecord", "RunInfoRecord", "SharedWindows", "Store", "StoreFault",
           "StoredRunFigures", "VerdictRecord", "fault_of", "open_store", "open_windows"]

#: The files under DATA_DIR when no DATABASE_URL is set.
STORE_FILE = "lobstr-dash.sqlite3"
WINDOWS_FILE = "ratelimit.sqlite3"


class Store(Ledger, TaskQueries, Aggregates, Pairs, RunInfoRecords, Health, AuditLog, HookRecords,
            Outbox, Retention):
    """The SQLite file under DATA_DIR (one connection per thread, WAL so readers never wait),
    or with `database_url` a PostgreSQL database shared by every replica (pooled connections)."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time, *,
                 max_pages: int | None = None, database_url: str | None = None,
                 pool_size: int = 10) -> None:
        self.clock = clock
        if database_url:
            from .pg import PgDatabase  # psycopg is only imported when PostgreSQL is asked for

            self.db = PgDatabase(database_url, pool_size=pool_size)  # type: ignore[assignment]
            self.path = Path(path)
            self.figures = FiguresCache(persist=FigureStore(self.db))
            migrate_pg(self.db)
            return
        self.db = Database(path, max_pages=max_pages)
        self.path = self.db.path
        self.figures = FiguresCache(persist=FigureStore(self.db))
        try:
            migrate(self.db.connection())
        except Exception as exc:  # a corrupt file is rebuilt; anything else stops the start
            if self.guard(exc) != "corrupt":
                raise

    @property
    def engine(self) -> str:
        """'sqlite' or 'postgresql'."""
        return getattr(self.db, "engine", "sqlite")

    @property
    def spans_hosts(self) -> bool:
        """True when processes on other hosts share this store (PostgreSQL), so a dead loader
        is seen by its heartbeat rather than by its pid."""
        return self.engine == "postgresql"

    def schema_version(self) -> int:
        """Return the schema version recorded in the database."""
        if self.engine == "postgresql":
            return schema_version_pg(self.db)
        return int(self.db.connection().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close this thread's connection."""
        self.db.close()

    def shutdown(self) -> None:
        """Close every connection (PostgreSQL's pool; SQLite: this thread's)."""
        getattr(self.db, "shutdown", self.db.close)()


def open_store(data_dir: str | Path, *, database_url: str | None = None, pool_size: int = 10,
               clock: Callable[[], float] = time.time, max_pages: int | None = None) -> Store:
    """The store of a dashboard: STORE_FILE under `data_dir`, or PostgreSQL at `database_url`."""
    return Store(Path(data_dir) / STORE_FILE, clock=clock, max_pages=max_pages,
                 database_url=database_url, pool_size=pool_size)


def open_windows(data_dir: str | Path, *, database_url: str | None = None,
                 clock: Callable[[], float] = time.time) -> SharedWindows:
    """The rate limiter's shared windows: WINDOWS_FILE under `data_dir`, or PostgreSQL."""
    return SharedWindows(Path(data_dir) / WINDOWS_FILE, clock=clock, database_url=database_url)
