"""SQLite store: a run's tasks, its load state, and the queries behind filters, sorts and pages."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gapclass
from .model import LIVE_STATUSES
from .ratelimit import connect_wal
from .model import RunSummary
from .model import RunTask

#: Each entry migrates the schema from version i to i + 1; `PRAGMA user_version` records where we are.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,            -- loading | done | partial | failed
        generation INTEGER NOT NULL DEFAULT 1,
        total_results INTEGER,
        total_pages INTEGER,
        page_size INTEGER,
        started_at REAL,
        finished_at REAL,
        fetched_at REAL,
        is_live INTEGER NOT NULL DEFAULT 0,
        owner TEXT,
        lease_until REAL,
        error_kind TEXT,
        error_message TEXT,
        error_status INTEGER
    );
    CREATE TABLE pages (
        run_id TEXT NOT NULL,
        page INTEGER NOT NULL,
        generation INTEGER NOT NULL,
        state TEXT NOT NULL,            -- done | failed
        rows INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        fetched_at REAL,
        PRIMARY KEY (run_id, page)
    ) WITHOUT ROWID;
    CREATE TABLE tasks (
        run_id TEXT NOT NULL,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        task TEXT,
        status TEXT,
        done_reason TEXT,
        done_reason_desc TEXT,
        url TEXT,
        params_json TEXT NOT NULL,
        search_text TEXT NOT NULL,
        started_at REAL,
        ended_at REAL,
        duration REAL,
        expected INTEGER,
        collected INTEGER,
        gap INTEGER,
        missing_share REAL,
        raw_json TEXT NOT NULL,
        PRIMARY KEY (run_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX tasks_gap ON tasks (run_id, gap);
    CREATE INDEX tasks_position ON tasks (run_id, position);
    CREATE INDEX tasks_status ON tasks (run_id, status);
    CREATE INDEX tasks_reason ON tasks (run_id, done_reason);
    """,
    # 2: each task's gap class (a facet and filter), a key of its params (to pair the tasks of two
    # runs), and the cached run context (GET /v1/runs/{id} and its /stats). Existing rows get
    # their class and key from the same Python code that computes them on save.
    """
    ALTER TABLE tasks ADD COLUMN gap_class TEXT;
    ALTER TABLE tasks ADD COLUMN params_key TEXT;
    UPDATE tasks SET gap_class = lobstr_gap_class(status, done_reason, expected, collected),
        params_key = lobstr_params_key(params_json);
    CREATE INDEX tasks_class ON tasks (run_id, gap_class);
    CREATE INDEX tasks_task ON tasks (run_id, task);
    CREATE INDEX tasks_params_key ON tasks (run_id, params_key);
    CREATE TABLE run_context (
        run_id TEXT PRIMARY KEY,
        run_json TEXT,
        stats_json TEXT,
        generation INTEGER,
        fetched_at REAL,
        error_kind TEXT,
        error_message TEXT,
        failed_at REAL
    );
    """,
    # 3: covering indexes for the aggregates (reason cards, charts, gap-class counts), so they read
    # narrow index entries instead of the wide task rows: about 5x faster at 100,000 tasks.
    """
    CREATE INDEX tasks_reason_figures ON tasks
        (run_id, done_reason, gap, status, expected, collected, gap_class);
    CREATE INDEX tasks_time_figures ON tasks
        (run_id, started_at, position, ended_at, expected, collected, gap, status, done_reason, gap_class);
    CREATE INDEX tasks_reason_desc ON tasks (run_id, done_reason, done_reason_desc)
        WHERE done_reason_desc IS NOT NULL;
    """,
    # 4: drop the copy of each upstream row. Nothing read it, and at ~1.2 KB a row it made every
    # scan of a 100,000-task run read ~200 MB (text filter: 162 ms -> ~60 ms without it).
    """
    ALTER TABLE tasks DROP COLUMN raw_json;
    """,
]

#: Sortable columns: the public sort key → the SQL expression it orders by.
SORT_COLUMNS: dict[str, str] = {
    "gap": "gap",
    "missing": "missing_share",
    "expected": "expected",
    "collected": "collected",
    "status": "status",
    "reason": "done_reason",
    "input": "url",
    "started": "started_at",
    "ended": "ended_at",
    "duration": "duration",
    "position": "position",
}

#: Value of the done_reason filter that selects tasks without a done_reason.
NO_REASON = "(none)"

TASK_COLUMNS = ("id, position, task, status, done_reason, done_reason_desc, url, params_json, "
                "started_at, ended_at, duration, expected, collected, gap, missing_share, gap_class")


@dataclass(frozen=True)
class RunState:
    """What the store knows about loading one run."""

    run_id: str
    state: str
    generation: int
    total_results: int | None
    total_pages: int | None
    page_size: int | None
    started_at: float | None
    finished_at: float | None
    fetched_at: float | None
    is_live: bool
    owner: str | None
    lease_until: float | None
    error_kind: str | None
    error_message: str | None
    error_status: int | None
    pages_done: int = 0
    pages_failed: int = 0
    rows_stored: int = 0
    failed_pages: tuple[int, ...] = ()

    @property
    def is_loading(self) -> bool:
        """True while a loader holds the run."""
        return self.state == "loading"

    @property
    def is_complete(self) -> bool:
        """True when every page of the current generation loaded."""
        return self.state == "done"


@dataclass(frozen=True)
class TaskQuery:
    """A filtered, sorted page of a run's tasks, as the query string describes it."""

    statuses: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    short_only: bool = False
    text: str = ""
    sort: str = "gap"
    descending: bool = True
    page: int = 1
    per_page: int = 100
    #: Gap class keys (gapclass.CLASSES); empty means every class.
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskRow:
    """One stored task, ready to render or export."""

    id: str
    position: int
    task: str | None
    status: str | None
    done_reason: str | None
    done_reason_desc: str | None
    url: str | None
    params: dict[str, Any]
    started_at: float | None
    ended_at: float | None
    duration: float | None
    expected: int | None
    collected: int | None
    gap: int | None
    missing_share: float | None
    gap_class: str | None = None


@dataclass(frozen=True)
class TaskPage:
    """One page of query results and the number of tasks that match in all."""

    rows: list[TaskRow]
    matching: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", max(1, -(-self.matching // self.per_page)))


def _search_text(params: Any) -> str:
    """Lower-cased text of a task's params that the text filter searches."""
    if isinstance(params, dict):
        parts = [f"{k} {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                 for k, v in params.items()]
        return " ".join(parts).lower()
    return json.dumps(params, ensure_ascii=False).lower()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def params_key(params: Any) -> str:
    """A short key of a task's params that ignores key order: equal inputs get equal keys."""
    canonical = json.dumps(params, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha1(canonical.encode("utf-8"), usedforsecurity=False).hexdigest()


def _params_key_of_json(params_json: str | None) -> str | None:
    return None if params_json is None else params_key(json.loads(params_json))


def register_functions(conn: sqlite3.Connection) -> None:
    """Give a connection the Python functions the schema's migrations and queries call."""
    conn.create_function("lobstr_gap_class", 4, gapclass.classify, deterministic=True)
    conn.create_function("lobstr_params_key", 1, _params_key_of_json, deterministic=True)


class Store:
    """The SQLite file under DATA_DIR; one connection per thread, WAL so readers never wait."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Figures of finished loads, by run: (load stamp, value). A finished load's figures never
        # change until the next load, and recomputing them costs ~70 ms at 100,000 tasks.
        self._finished: dict[tuple[str, str], tuple[tuple[Any, ...], Any]] = {}
        self._migrate()

    # -- connections and schema --------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect_wal(self.path)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            register_functions(conn)
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

    def schema_version(self) -> int:
        """Return the schema version recorded in the file."""
        return int(self.connection().execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring the file's schema up to the newest version, one step per transaction."""
        with self.transaction(immediate=True) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for target in range(version + 1, len(MIGRATIONS) + 1):
            with self.transaction(immediate=True) as conn:
                current = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if current >= target:
                    continue  # another process migrated meanwhile
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- load state -------------------------------------------------------------------------

    def run_state(self, run_id: str) -> RunState | None:
        """Return the load state of a run, with its page and row counts, or None if never seen."""
        with self.snapshot() as conn:  # pages done and rows stored from the same commit
            row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                return None
            pages = conn.execute(
                "SELECT page, state FROM pages WHERE run_id = ? AND generation = ? ORDER BY page",
                (run_id, row["generation"])).fetchall()
            stamp = self._stamp(row)
            stored = self._cached(run_id, "rows", stamp, lambda: conn.execute(
                "SELECT count(*) FROM tasks WHERE run_id = ?", (run_id,)).fetchone()[0])
        failed = tuple(p["page"] for p in pages if p["state"] == "failed")
        return RunState(
            run_id=row["run_id"], state=row["state"], generation=row["generation"],
            total_results=row["total_results"], total_pages=row["total_pages"],
            page_size=row["page_size"], started_at=row["started_at"],
            finished_at=row["finished_at"], fetched_at=row["fetched_at"],
            is_live=bool(row["is_live"]), owner=row["owner"], lease_until=row["lease_until"],
            error_kind=row["error_kind"], error_message=row["error_message"],
            error_status=row["error_status"],
            pages_done=sum(1 for p in pages if p["state"] == "done"),
            pages_failed=len(failed), rows_stored=stored, failed_pages=failed)

    @staticmethod
    def _stamp(row: sqlite3.Row | None) -> tuple[Any, ...] | None:
        """Identify a finished load; None while loading (figures still change)."""
        if row is None or row["state"] == "loading":
            return None
        return (row["generation"], row["state"], row["fetched_at"], row["finished_at"])

    def _cached(self, run_id: str, name: str, stamp: tuple[Any, ...] | None,
                compute: Callable[[], Any]) -> Any:
        """Return a figure of a finished load from the cache, computing it once per load."""
        if stamp is None:
            return compute()
        hit = self._finished.get((run_id, name))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = compute()
        if len(self._finished) > 512:
            self._finished.pop(next(iter(self._finished)))
        self._finished[(run_id, name)] = (stamp, value)
        return value

    def claim(self, run_id: str, owner: str, lease_seconds: float, *, fresh: bool,
              now: float | None = None,
              owner_is_dead: Callable[[str], bool] | None = None) -> int | None:
        """Take the right to load a run; return the generation to load, or None if someone holds it.

        `fresh` starts a new generation (every page fetched again); otherwise the loader resumes
        the current one and fetches only the pages it lacks. A load held under a live lease is
        left alone unless `owner_is_dead` says its owner no longer runs.
        """
        now = time.time() if now is None else now
        with self.transaction(immediate=True) as conn:
            row = conn.execute(
                "SELECT state, generation, lease_until, owner FROM runs WHERE run_id = ?",
                (run_id,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO runs (run_id, state, generation, started_at, owner, lease_until)"
                    " VALUES (?, 'loading', 1, ?, ?, ?)", (run_id, now, owner, now + lease_seconds))
                return 1
            if row["state"] == "loading" and (row["lease_until"] or 0) > now:
                if owner_is_dead is None or not owner_is_dead(row["owner"] or ""):
                    return None
                fresh = False  # resume what the dead loader left
            generation = row["generation"] + (1 if fresh else 0)
            conn.execute(
                "UPDATE runs SET state = 'loading', generation = ?, started_at = ?, owner = ?,"
                " lease_until = ?, finished_at = NULL, error_kind = NULL, error_message = NULL,"
                " error_status = NULL WHERE run_id = ?",
                (generation, now, owner, now + lease_seconds, run_id))
            return int(generation)

    def set_totals(self, run_id: str, total_results: int | None, total_pages: int,
                   page_size: int) -> None:
        """Record the run's size as the first page reported it."""
        self.connection().execute(
            "UPDATE runs SET total_results = ?, total_pages = ?, page_size = ? WHERE run_id = ?",
            (total_results, total_pages, page_size, run_id))

    def pages_to_fetch(self, run_id: str, generation: int, total_pages: int) -> list[int]:
        """Return the pages of 1..total_pages not yet loaded in this generation."""
        done = {r[0] for r in self.connection().execute(
            "SELECT page FROM pages WHERE run_id = ? AND generation = ? AND state = 'done'",
            (run_id, generation))}
        return [p for p in range(1, total_pages + 1) if p not in done]

    def save_page(self, run_id: str, generation: int, page: int, page_size: int,
                  rows: Sequence[dict[str, Any]], owner: str, lease_seconds: float) -> int:
        """Upsert one page's rows and mark the page done, in one transaction; return rows kept."""
        now = time.time()
        records = []
        for index, raw in enumerate(rows):
            try:
                task = RunTask.from_api(raw)
            except ValueError:
                continue  # a row without an id cannot be told apart from others
            records.append(self._record(run_id, task, (page - 1) * page_size + index + 1))
        with self.transaction(immediate=True) as conn:
            conn.executemany(
                f"INSERT INTO tasks (run_id, {TASK_COLUMNS}, search_text, params_key)"
                f" VALUES ({', '.join('?' * 19)})"
                " ON CONFLICT (run_id, id) DO UPDATE SET position = excluded.position,"
                " task = excluded.task, status = excluded.status,"
                " done_reason = excluded.done_reason, done_reason_desc = excluded.done_reason_desc,"
                " url = excluded.url, params_json = excluded.params_json,"
                " started_at = excluded.started_at, ended_at = excluded.ended_at,"
                " duration = excluded.duration, expected = excluded.expected,"
                " collected = excluded.collected, gap = excluded.gap,"
                " missing_share = excluded.missing_share, search_text = excluded.search_text,"
                " gap_class = excluded.gap_class,"
                " params_key = excluded.params_key", records)
            conn.execute(
                "INSERT OR REPLACE INTO pages (run_id, page, generation, state, rows, error,"
                " fetched_at) VALUES (?, ?, ?, 'done', ?, NULL, ?)",
                (run_id, page, generation, len(records), now))
            conn.execute("UPDATE runs SET lease_until = ? WHERE run_id = ? AND owner = ?",
                         (now + lease_seconds, run_id, owner))
        return len(records)

    @staticmethod
    def _record(run_id: str, task: RunTask, position: int) -> tuple[Any, ...]:
        params = dict(task.params)
        return (run_id, task.id, position, task.task, task.status, task.done_reason,
                task.done_reason_desc, task.url, _dumps(params), task.started_at, task.ended_at,
                task.duration, task.expected, task.collected, task.gap, task.missing_share,
                gapclass.classify(task.status, task.done_reason, task.expected, task.collected),
                _search_text(params), params_key(params))

    def renew_lease(self, run_id: str, owner: str, lease_seconds: float) -> None:
        """Extend a loader's claim on a run while it waits (only while it still owns it)."""
        self.connection().execute("UPDATE runs SET lease_until = ? WHERE run_id = ? AND owner = ?",
                                  (time.time() + lease_seconds, run_id, owner))

    def live_pages(self, run_id: str, page_size: int) -> set[int]:
        """The upstream pages whose rows held a task that was still running when last read."""
        placeholders = ",".join("?" * len(LIVE_STATUSES))
        rows = self.connection().execute(
            f"SELECT DISTINCT (position - 1) / ? + 1 FROM tasks WHERE run_id = ?"
            f" AND lower(status) IN ({placeholders})", (page_size, run_id, *sorted(LIVE_STATUSES)))
        return {int(r[0]) for r in rows}

    def carry_pages(self, run_id: str, generation: int, pages: Iterable[int]) -> None:
        """Count pages loaded earlier as loaded in this generation (their tasks were all final)."""
        with self.transaction(immediate=True) as conn:
            conn.executemany(
                "UPDATE pages SET generation = ? WHERE run_id = ? AND page = ? AND state = 'done'",
                [(generation, run_id, page) for page in pages])

    def fail_page(self, run_id: str, generation: int, page: int, error: str) -> None:
        """Record that a page could not be loaded after its retries."""
        self.connection().execute(
            "INSERT OR REPLACE INTO pages (run_id, page, generation, state, rows, error, fetched_at)"
            " VALUES (?, ?, ?, 'failed', 0, ?, ?)", (run_id, page, generation, error, time.time()))

    def finish(self, run_id: str, owner: str) -> None:
        """Close a load: done or partial by its failed pages, and whether tasks are still live."""
        now = time.time()
        placeholders = ",".join("?" * len(LIVE_STATUSES))
        with self.transaction(immediate=True) as conn:
            generation = conn.execute("SELECT generation FROM runs WHERE run_id = ?",
                                      (run_id,)).fetchone()[0]
            failed = conn.execute(
                "SELECT count(*) FROM pages WHERE run_id = ? AND generation = ? AND state = 'failed'",
                (run_id, generation)).fetchone()[0]
            live = conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM tasks WHERE run_id = ? AND lower(status) IN"
                f" ({placeholders}))", (run_id, *sorted(LIVE_STATUSES))).fetchone()[0]
            conn.execute(
                "UPDATE runs SET state = ?, finished_at = ?, fetched_at = ?, is_live = ?,"
                " owner = NULL, lease_until = NULL WHERE run_id = ? AND owner = ?",
                ("partial" if failed else "done", now, now, int(bool(live)), run_id, owner))

    def fail_load(self, run_id: str, owner: str, kind: str, message: str,
                  status: int | None) -> None:
        """Close a load that could not start (its first page failed)."""
        self.connection().execute(
            "UPDATE runs SET state = 'failed', finished_at = ?, error_kind = ?, error_message = ?,"
            " error_status = ?, owner = NULL, lease_until = NULL WHERE run_id = ? AND owner = ?",
            (time.time(), kind, message, status, run_id, owner))

    # -- queries ----------------------------------------------------------------------------

    @staticmethod
    def _where(run_id: str, query: TaskQuery, *, scan: bool = False) -> tuple[str, list[Any]]:
        """Build the WHERE clause for a query's filters.

        `scan` keeps SQLite from using the filter columns' indexes: for a sorted page, walking
        the run's rows once and keeping the top N (about 30 ms at 100,000 tasks) beats looking
        up every row a broad filter matches through an index (about 200 ms for half the run).
        """
        col = "+{}".format if scan else "{}".format
        clauses = ["run_id = ?"]
        args: list[Any] = [run_id]
        if query.statuses:
            clauses.append(f"{col('status')} IN ({','.join('?' * len(query.statuses))})")
            args.extend(query.statuses)
        if query.reasons:
            named = [r for r in query.reasons if r != NO_REASON]
            parts = []
            if named:
                parts.append(f"{col('done_reason')} IN ({','.join('?' * len(named))})")
                args.extend(named)
            if NO_REASON in query.reasons:
                parts.append(f"{col('done_reason')} IS NULL")
            clauses.append("(" + " OR ".join(parts) + ")")
        if query.short_only:
            clauses.append(f"{col('gap')} > 0")
        if query.classes:
            clauses.append(f"{col('gap_class')} IN ({','.join('?' * len(query.classes))})")
            args.extend(query.classes)
        if query.text:
            clauses.append("instr(search_text, ?) > 0")
            args.append(query.text.lower())
        return " AND ".join(clauses), args

    @staticmethod
    def _order(query: TaskQuery) -> str:
        """Build the ORDER BY clause: unknown values last in either direction, ties by position."""
        column = SORT_COLUMNS.get(query.sort, "gap")
        direction = "DESC" if query.descending else "ASC"
        if column == "position":
            return f"position {direction}"
        return f"{column} IS NULL, {column} {direction}, position"

    def query(self, run_id: str, query: TaskQuery) -> TaskPage:
        """Return one page of the tasks matching a query, and how many match."""
        where, args = self._where(run_id, query)
        with self.snapshot() as conn:  # the count and the rows from the same commit
            matching = conn.execute(f"SELECT count(*) FROM tasks WHERE {where}",
                                    args).fetchone()[0]
            pages = max(1, -(-matching // query.per_page))
            page = min(max(1, query.page), pages)
            where, args = self._where(run_id, query, scan=True)
            rows = conn.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE {where} ORDER BY {self._order(query)}"
                " LIMIT ? OFFSET ?",
                (*args, query.per_page, (page - 1) * query.per_page)).fetchall()
        return TaskPage(rows=[self._row(r) for r in rows], matching=matching, page=page,
                        per_page=query.per_page)

    def iter_matching(self, run_id: str, query: TaskQuery) -> Iterator[TaskRow]:
        """Yield every matching task in query order (exports)."""
        where, args = self._where(run_id, query, scan=True)
        # A connection of its own, so a long export never holds this thread's connection.
        conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            cursor = conn.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE {where}"
                f" ORDER BY {self._order(query)}", args)
            for record in cursor:
                yield self._row(record)
        finally:
            conn.close()

    @staticmethod
    def _row(record: sqlite3.Row) -> TaskRow:
        values = dict(record)
        values["params"] = json.loads(values.pop("params_json"))
        return TaskRow(**values)

    def summary(self, run_id: str) -> RunSummary:
        """Totals of a run: counts by status and reason, expected, collected, missing."""
        row = self.connection().execute(
            "SELECT state, generation, fetched_at, finished_at FROM runs WHERE run_id = ?",
            (run_id,)).fetchone()
        return self._cached(run_id, "summary", self._stamp(row),  # type: ignore[no-any-return]
                            lambda: self._compute_summary(run_id))

    def _compute_summary(self, run_id: str) -> RunSummary:
        with self.snapshot() as conn:  # totals and facets from the same commit
            return self._summary_of(conn, run_id)

    def _summary_of(self, conn: sqlite3.Connection, run_id: str) -> RunSummary:
        placeholders = ",".join("?" * len(LIVE_STATUSES))
        totals = conn.execute(
            "SELECT count(*) AS tasks,"
            " coalesce(sum(expected), 0) AS expected,"
            " coalesce(sum(expected IS NULL), 0) AS expected_unknown,"
            " coalesce(sum(collected), 0) AS collected,"
            " coalesce(sum(CASE WHEN gap > 0 THEN gap ELSE 0 END), 0) AS missing,"
            " coalesce(sum(CASE WHEN gap < 0 THEN -gap ELSE 0 END), 0) AS over_collected,"
            " coalesce(sum(gap > 0), 0) AS tasks_short,"
            " coalesce(sum(gap < 0), 0) AS tasks_over,"
            f" coalesce(sum(lower(status) IN ({placeholders})), 0) AS tasks_live"
            " FROM tasks WHERE run_id = ?", (*sorted(LIVE_STATUSES), run_id)).fetchone()
        by_status = self._counts(conn, "status", run_id)
        by_reason = self._counts(conn, "done_reason", run_id)
        return RunSummary(by_status=by_status, by_reason=by_reason, **dict(totals))

    @staticmethod
    def _counts(conn: sqlite3.Connection, column: str, run_id: str) -> dict[Any, int]:
        rows = conn.execute(
            f"SELECT {column} AS value, count(*) AS n FROM tasks WHERE run_id = ?"
            f" GROUP BY {column} ORDER BY n DESC, {column}", (run_id,))
        return {r["value"]: r["n"] for r in rows}

    def forget(self, run_ids: Iterable[str]) -> None:
        """Delete runs and their tasks (tests and maintenance)."""
        with self.transaction(immediate=True) as conn:
            for run_id in run_ids:
                for table in ("tasks", "pages", "runs", "run_context"):
                    conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))

    def recent_runs(self, limit: int = 10) -> list[sqlite3.Row]:
        """The runs most recently fetched or started, newest first."""
        return self.connection().execute(
            "SELECT run_id, state, total_results, fetched_at FROM runs WHERE state != 'failed'"
            " ORDER BY coalesce(fetched_at, started_at) DESC LIMIT ?", (limit,)).fetchall()
