"""The one way the dashboard opens SQLite: WAL, a busy timeout, and the functions queries call.

Every connection of the store (and of the rate limiter's shared windows) comes from `connect`, and
every thread uses its own (`Database.connection`), so readers never wait for the loader's writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..domain import gapclass
from ..domain.changes import change_kind
from ..domain.tasks import params_key

#: How long a statement waits for another connection's write lock before "database is locked".
BUSY_TIMEOUT_SECONDS = 30.0


def _params_key_of_json(params_json: str | None) -> str | None:
    return None if params_json is None else params_key(json.loads(params_json))


def register_functions(conn: sqlite3.Connection) -> None:
    """Give a connection the Python functions the schema's migrations and queries call."""
    conn.create_function("lobstr_gap_class", 4, gapclass.classify, deterministic=True)
    conn.create_function("lobstr_params_key", 1, _params_key_of_json, deterministic=True)
    conn.create_function("lobstr_change", 10, change_kind, deterministic=True)


def connect(path: str | Path) -> sqlite3.Connection:
    """Open a SQLite file in WAL mode, waiting out the lock other processes hold while they open it.

    Switching to WAL needs a moment of exclusive access, and SQLite reports "database is locked"
    at once instead of waiting when two processes open a new file together (two workers starting).
    The connection is in autocommit mode: transactions are explicit (`Database.transaction`).
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                           check_same_thread=False)
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.05)
    # NORMAL is durable across application crashes in WAL mode; only power loss can undo the
    # last commits, and everything here can be fetched again.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    register_functions(conn)
    return conn


class Database:
    """One SQLite file: a connection per thread, explicit transactions, consistent snapshots."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction; IMMEDIATE takes the write lock up front."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Read with several statements from one state of the file: a page a loader commits
        meanwhile is seen by all of them or by none (in WAL mode this never blocks the writer)."""
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def dedicated(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own for a long read (an export), closed when the block ends."""
        conn = connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
