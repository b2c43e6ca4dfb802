"""The PostgreSQL engine: the same `Database` shape as db.py, over a psycopg 3 connection pool.

The store's statements are written once, in the dialect both engines accept (`?` marks, `ON
CONFLICT` upserts, `RETURNING`); `translate` turns the few SQLite spellings left into PostgreSQL's
(marks become `%s`, `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, planner hints go), and
the SQLite functions the queries call (`instr`, scalar `min`/`max`, `json_*`, `sum` of a
condition) exist in PostgreSQL as functions the schema creates (pgschema.py).

A statement outside a transaction borrows a pooled connection for itself (autocommit), so many
threads share a few connections; a transaction keeps one for its block. `transaction(immediate=
True)` takes an advisory lock first: writers queue as they do on SQLite, across every replica.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool

#: The advisory lock `transaction(immediate=True)` takes: one writer at a time, as on SQLite.
STORE_WRITE_LOCK = 0x10B57
#: The rate-limit windows' own lock, so taking a slot never waits behind a page write.
WINDOWS_WRITE_LOCK = 0x10B58

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|::|%|\?|(?<![\w:]):([A-Za-z_]\w*)"
                     r"|(?<=[\s(,])\+(?=[a-z_])|\bINDEXED BY \w+|(?<![\w.])temp\.(?=\w)", re.S)
_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.I)


def _token(match: re.Match[str]) -> str:
    text = match.group(0)
    if text[0] in "'\"-" or text == "::":
        # Strings, quoted names, comments and casts stay as they are, but for `%`: psycopg
        # reads it as the start of a mark wherever it stands.
        return text.replace("%", "%%")
    if text == "%":
        return "%%"
    if text == "?":
        return "%s"
    if match.group(1):
        return f"%({match.group(1)})s"
    if text == "temp.":
        return "pg_temp."  # the schema of this connection's temporary tables
    return ""  # a unary `+` (SQLite's "do not use an index") or `INDEXED BY`


def _truncating_casts(sql: str) -> str:
    """`CAST(x AS INTEGER)` truncates in SQLite and rounds in PostgreSQL: spell it trunc(x)."""
    start = sql.find("CAST(")
    while start >= 0:
        depth, end = 0, start + 4
        for end in range(start + 4, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                break
        inner = sql[start + 5:end]
        if inner.endswith(" AS INTEGER"):
            replacement = f"trunc({inner[:-len(' AS INTEGER')]})::bigint"
            sql = sql[:start] + replacement + sql[end + 1:]
        start = sql.find("CAST(", start + 1)
    return sql


_CACHE: dict[str, str] = {}


def translate(sql: str) -> str:
    """The PostgreSQL spelling of one of the store's statements (cached: they are few)."""
    done = _CACHE.get(sql)
    if done is None:
        done = _truncating_casts(_TOKENS.sub(_token, sql))
        if _OR_IGNORE.match(done):
            done = _OR_IGNORE.sub("INSERT INTO", done) + " ON CONFLICT DO NOTHING"
        if len(_CACHE) < 4096:
            _CACHE[sql] = done
    return done


class Row(tuple):  # noqa: SLOT001 - a tuple with names, like sqlite3.Row
    """A result row read by position or by column name, as sqlite3.Row is."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    kind = type("Row", (Row,), {"_names": names})
    return lambda values: kind(values)


class _NumericLoader(Loader):
    """`sum()` of integers is `numeric` in PostgreSQL: read whole numbers as int, as SQLite does."""

    def load(self, data: Any) -> Any:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumericLoader)


class Result:
    """A statement's rows (read at once) and its row count, shaped like a sqlite3 cursor."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:
        """The first row, or None."""
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        """Every row."""
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def fetchmany(self, size: int) -> list[Any]:
        """The next `size` rows (they were read at once: see Session.stream for a long read)."""
        rows, self.rows = self.rows[:size], self.rows[size:]
        return rows


def _run(conn: psycopg.Connection[Any], sql: str, params: Any) -> Result:
    # Always with parameters (maybe none), so psycopg reads `%%` back as `%`.
    cursor = conn.execute(translate(sql), params if params is not None else ())
    rows = cursor.fetchall() if cursor.description else []
    return Result(rows, cursor.rowcount)


class Session:
    """What `Database.connection()` returns: `execute` runs in this thread's transaction if one
    is open, else on a pooled connection of its own (autocommit)."""

    def __init__(self, db: PgDatabase, conn: psycopg.Connection[Any] | None = None) -> None:
        self.db, self.conn = db, conn

    @property
    def in_transaction(self) -> bool:
        """True inside `transaction()` or `snapshot()`."""
        return (self.conn or getattr(self.db._local, "conn", None)) is not None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Result:
        """Run one statement; return its rows."""
        conn = self.conn or getattr(self.db._local, "conn", None)
        if conn is not None:
            return _run(conn, sql, params)
        with self.db.pool.connection() as conn:
            return _run(conn, sql, params)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A long read (an export) through a server-side cursor of this session's open
        transaction: `fetchmany` brings rows a chunk at a time, so memory stays flat."""
        conn = self.conn or getattr(self.db._local, "conn", None)
        assert conn is not None, "a stream needs a transaction (dedicated() and BEGIN)"
        cursor = conn.cursor(name="lobstr_stream")
        cursor.execute(translate(sql), params)
        return cursor

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each set of values (pipelined)."""
        conn = self.conn or getattr(self.db._local, "conn", None)
        if conn is None:
            with self.db.pool.connection() as conn:
                conn.cursor().executemany(translate(sql), seq)
        else:
            conn.cursor().executemany(translate(sql), seq)


class PgDatabase:
    """A PostgreSQL database: pooled connections, explicit transactions, consistent snapshots."""

    engine = "postgresql"
    #: Every pool not yet shut down. Held here so that none is ever closed by the garbage
    #: collector, which may run in the pool's own worker thread (psycopg_pool cannot join it).
    opened: set[PgDatabase] = set()

    def __init__(self, url: str, *, pool_size: int = 10, write_lock: int = STORE_WRITE_LOCK) -> None:
        self.url = url
        self.write_lock = write_lock
        # timeout: a request waits this long for a connection (all busy, or the server away)
        # before the page says the database cannot be reached.
        self.pool = ConnectionPool(url, min_size=1, max_size=max(2, pool_size), open=True,
                                   timeout=10.0,
                                   kwargs={"autocommit": True, "row_factory": _row_factory},
                                   configure=_configure, name="lobstr-dash")
        self._local = threading.local()
        self.epoch = 0
        PgDatabase.opened.add(self)

    def connection(self) -> Session:
        """This thread's way to run statements (see Session)."""
        return Session(self)

    @contextmanager
    def _held(self, begin: str, lock: bool) -> Iterator[Session]:
        local = self._local
        if getattr(local, "conn", None) is not None:
            yield Session(self, local.conn)  # already inside this thread's transaction
            return
        with self.pool.connection() as conn:
            conn.execute(begin)
            local.conn = conn
            try:
                if lock:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.write_lock,))
                yield Session(self, conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                local.conn = None

    @contextmanager
    def transaction(self, immediate: bool = False) -> Iterator[Session]:
        """Run a block in one transaction; `immediate` queues behind every other writer first."""
        with self._held("BEGIN", immediate) as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """Read with several statements from one committed state (REPEATABLE READ)."""
        with self._held("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", False) as session:
            yield session

    @contextmanager
    def dedicated(self) -> Iterator[Session]:
        """A pooled connection of its own for a long read (an export)."""
        with self.pool.connection() as conn:
            yield Session(self, conn)

    @contextmanager
    def pinned(self) -> Iterator[Session]:
        """One connection for a block of autocommit statements (its temporary tables live on)."""
        local = self._local
        if getattr(local, "conn", None) is not None:
            yield Session(self, local.conn)
            return
        with self.pool.connection() as conn:
            yield Session(self, conn)

    @contextmanager
    def session_lock(self, key: int) -> Iterator[Session]:
        """Hold a session-level advisory lock (migrations: one replica at a time)."""
        with self.pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield Session(self, conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        """Nothing to do per thread: statements return their connections at once."""

    def shutdown(self) -> None:
        """Close the pool (tests, and processes that end)."""
        PgDatabase.opened.discard(self)
        self.pool.close()


def shutdown_all() -> None:
    """Close every pool still open (the end of a test, or of a process)."""
    for db in list(PgDatabase.opened):
        db.shutdown()
