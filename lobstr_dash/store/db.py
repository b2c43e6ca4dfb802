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


#: How often a thread checks that its connection still opens the file at `path` (the store may
#: have been dropped and rebuilt by another thread or process).
RECHECK_SECONDS = 1.0


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


class Database:
    """One SQLite file: a connection per thread, explicit transactions, consistent snapshots."""

    def __init__(self, path: str | Path, *, max_pages: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        #: Bumped when the file is dropped and rebuilt: every thread then opens the new one.
        self.epoch = 0
        #: Tests only: `PRAGMA max_page_count`, to make SQLite report a full disk for real.
        self.max_pages = max_pages

    def connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use (or after a rebuild)."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and not conn.in_transaction:
            stale = local.epoch != self.epoch
            now = time.monotonic()
            if not stale and now >= local.checked + RECHECK_SECONDS:
                local.checked = now
                stale = _inode(self.path) != local.inode
            if stale:
                conn.close()
                conn = None
        if conn is None:
            conn = connect(self.path)
            if self.max_pages:
                conn.execute(f"PRAGMA max_page_count = {int(self.max_pages)}")
            local.conn, local.epoch = conn, self.epoch
            local.inode, local.checked = _inode(self.path), time.monotonic()
        return conn

    @contextmanager
    def transaction(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction; IMMEDIATE takes the write lock up front."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield conn
        except BaseException:
            # SQLite rolls back by itself on some errors (a full disk): then there is nothing
            # to roll back, and trying would hide the error that matters.
            if conn.in_transaction:
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
    def pinned(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for a block (its temporary tables live on)."""
        yield self.connection()

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
