"""Task queries: a filter as SQL, a sorted page, every matching row, and a run's summary.

Filtering, sorting and paging are queries on the store, so a 100,000-task run costs the same per
page as a 100-task run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from ..domain.gapclass import OVER
from ..domain.gapclass import RUNNING
from ..domain.gapclass import SHORT
from ..domain.gapclass import UNKNOWN
from ..domain.query import NO_REASON
from ..domain.query import TaskFilter
from ..domain.query import TaskPage
from ..domain.query import TaskQuery
from ..domain.query import TaskRow
from ..domain.tasks import RunSummary
from . import sortkeys
from . import textsearch
from .db import Database
from .figures import FiguresCache
from .figures import load_stamp
from .sortkeys import SORT_COLUMNS
from .sortkeys import index_name
from .sortkeys import run_key

#: The columns a TaskRow is read from, in its field order.
READ_COLUMNS = ("id, position, task, status, done_reason, done_reason_desc, url, params_json, "
                "started_at, ended_at, duration, expected, collected, gap, missing_share, gap_class")

#: Rows an export reads per statement: big enough that statements cost little, small enough
#: that memory stays flat (about 200 KB of rows).
EXPORT_CHUNK = 500

#: The short classes as an SQL list (fixed keys of domain.gapclass, never user input).
SHORT_SQL = ",".join(f"'{key}'" for key in SHORT)


def filter_sql(run_id: str, task_filter: TaskFilter, *, scan: bool = False,
               key: int | None = None, conn: sqlite3.Connection | None = None,
               bounds: tuple[int, int] | None = None) -> tuple[str, list[Any]]:
    """The WHERE clause (and its arguments) selecting a run's tasks that match a filter.

    `scan` keeps SQLite from using the filter columns' indexes: for a sorted page, walking the
    run's rows once and keeping the top N (about 30 ms at 100,000 tasks) beats looking up every
    row a broad filter matches through an index (about 200 ms for half the run).
    With a run `key` the clause is for `task_keys AS k` (sortkeys.py) instead of `tasks`, and
    its text search goes through the trigram index of `conn`'s file when it has one.
    """
    col = "+{}".format if scan else "{}".format
    if key is not None:
        col = "k.{}".format
    clauses = ["run_id = ?" if key is None else "k.run_key = ?"]
    args: list[Any] = [run_id if key is None else key]
    if task_filter.statuses:
        clauses.append(f"{col('status')} IN ({','.join('?' * len(task_filter.statuses))})")
        args.extend(task_filter.statuses)
    if task_filter.reasons:
        named = [r for r in task_filter.reasons if r != NO_REASON]
        parts = []
        if named:
            parts.append(f"{col('done_reason')} IN ({','.join('?' * len(named))})")
            args.extend(named)
        if NO_REASON in task_filter.reasons:
            parts.append(f"{col('done_reason')} IS NULL")
        clauses.append("(" + " OR ".join(parts) + ")")
    if task_filter.short_only:  # the one meaning of short: domain.gapclass.SHORT
        clauses.append(f"{col('gap_class')} IN ({SHORT_SQL})")
    if task_filter.classes:
        clauses.append(f"{col('gap_class')} IN ({','.join('?' * len(task_filter.classes))})")
        args.extend(task_filter.classes)
    if task_filter.text and key is None:
        clauses.append("instr(search_text, ?) > 0")
        args.append(task_filter.text.lower())
    elif task_filter.text:
        assert conn is not None, "a keyed text search needs the connection"
        clause, more = textsearch.text_clause(conn, run_id, task_filter.text, bounds)
        clauses.append(clause)
        args.extend(more)
    return " AND ".join(clauses), args


def order_sql(query: TaskQuery, table: str = "") -> str:
    """The ORDER BY clause: unknown values last in either direction, ties by position."""
    return sortkeys.order_sql(SORT_COLUMNS.get(query.sort, "gap"), query.descending, table)


def _page_ids(conn: sqlite3.Connection, run_id: str, key: int, query: TaskQuery, limit: int,
              offset: int, bounds: tuple[int, int] | None = None) -> list[str]:
    """The ids of one page of matching tasks, in page order, from task_keys' page-order index."""
    column = SORT_COLUMNS.get(query.sort, "gap")
    where, args = filter_sql(run_id, query.filter, key=key, conn=conn, bounds=bounds)
    return [r[0] for r in conn.execute(
        f"SELECT k.id FROM task_keys AS k INDEXED BY {index_name(column, query.descending)}"
        f" WHERE {where} ORDER BY {order_sql(query, 'k')} LIMIT ? OFFSET ?",
        (*args, limit, offset))]


def _rows_by_id(conn: sqlite3.Connection, run_id: str, ids: list[str]) -> list[TaskRow]:
    """The wide rows of these tasks, in the order of `ids`."""
    if not ids:
        return []
    found = {r["id"]: r for r in conn.execute(
        f"SELECT {READ_COLUMNS} FROM tasks WHERE run_id = ? AND id IN ({','.join('?' * len(ids))})",
        (run_id, *ids))}
    return [task_row(found[i]) for i in ids if i in found]


def task_row(record: sqlite3.Row | tuple[Any, ...]) -> TaskRow:
    """A TaskRow from a row of READ_COLUMNS (which are in TaskRow's field order)."""
    return TaskRow(*record[:7], json.loads(record[7]), *record[8:])


class TaskQueries:
    """Task queries; mixed into `Store`, which provides `db` and `figures`."""

    db: Database
    figures: FiguresCache

    def query(self, run_id: str, query: TaskQuery) -> TaskPage:
        """Return one page of the tasks matching a query, and how many match.

        The page is found in `task_keys` by walking the index in page order to its offset, then
        its rows are read by key: a deep page costs about what the first one does.
        """
        with self.db.snapshot() as conn:  # the count and the rows from the same commit
            key = run_key(conn, run_id)
            matching = self._matching(conn, run_id, key, query.filter)
            pages = max(1, -(-matching // query.per_page))
            page = min(max(1, query.page), pages)
            offset = (page - 1) * query.per_page
            if key is None:  # a load in progress: its keys are written when it ends
                where, args = filter_sql(run_id, query.filter, scan=True)
                rows = [task_row(r) for r in conn.execute(
                    f"SELECT {READ_COLUMNS} FROM tasks WHERE {where} ORDER BY {order_sql(query)}"
                    " LIMIT ? OFFSET ?", (*args, query.per_page, offset))]
            else:
                rows = _rows_by_id(conn, run_id, _page_ids(
                    conn, run_id, key, query, query.per_page, offset,
                    self._bounds(conn, run_id, query.filter)))
        return TaskPage(rows=rows, matching=matching, page=page, per_page=query.per_page)

    def _matching(self, conn: sqlite3.Connection, run_id: str, key: int | None,
                  task_filter: TaskFilter) -> int:
        """How many tasks match, counted once per finished load and filter."""
        def count() -> int:
            if key is None:
                where, args = filter_sql(run_id, task_filter)
                return int(conn.execute(f"SELECT count(*) FROM tasks WHERE {where}",
                                        args).fetchone()[0])
            where, args = filter_sql(run_id, task_filter, key=key, conn=conn,
                                     bounds=self._bounds(conn, run_id, task_filter))
            return int(conn.execute(f"SELECT count(*) FROM task_keys AS k WHERE {where}",
                                    args).fetchone()[0])

        return self.figures.get(run_id, "matching", task_filter, load_stamp(conn, run_id), count)

    def _bounds(self, conn: sqlite3.Connection, run_id: str,
                task_filter: TaskFilter) -> tuple[int, int] | None:
        """The run's stretch of task_keys rowids, once per finished load, when a search needs it."""
        if not task_filter.text:
            return None
        return self.figures.get(run_id, "rowids", None, load_stamp(conn, run_id),
                                lambda: textsearch.rowid_range(conn, run_id))

    def iter_matching(self, run_id: str, query: TaskQuery, *,
                      chunk: int = EXPORT_CHUNK) -> Iterator[TaskRow]:
        """Yield every matching task in query order (exports), on a connection of its own.

        One statement walks task_keys' page-order index and reads each wide row by key as it
        goes (no sort, so memory stays flat however big the run), fetched `chunk` rows at a time.
        One cursor, not a seek per chunk, is what keeps a row from being lost or repeated where
        a chunk ends inside a run of equal sort values.
        """
        # Its own connection, so a long export never holds this thread's connection; one read
        # transaction, so every chunk comes from the same commit.
        with self.db.dedicated() as conn:
            conn.execute("BEGIN")
            try:
                key = run_key(conn, run_id)
                column = SORT_COLUMNS.get(query.sort, "gap")
                if key is None:  # a load in progress: sorted from the wide rows
                    where, args = filter_sql(run_id, query.filter, scan=True)
                    sql = f"SELECT {READ_COLUMNS} FROM tasks WHERE {where} ORDER BY {order_sql(query)}"
                else:
                    where, args = filter_sql(run_id, query.filter, key=key, conn=conn)
                    read = ", ".join(f"t.{c}" for c in READ_COLUMNS.split(", "))
                    sql = (f"SELECT {read} FROM task_keys AS k INDEXED BY"
                           f" {index_name(column, query.descending)} CROSS JOIN tasks AS t"
                           f" WHERE {where} AND t.run_id = ? AND t.id = k.id"
                           f" ORDER BY {order_sql(query, 'k')}")
                    args = [*args, run_id]
                # PostgreSQL reads through a server-side cursor (pg.Session.stream).
                cursor = getattr(conn, "stream", conn.execute)(sql, args)
                while chunk_rows := cursor.fetchmany(chunk):
                    yield from map(task_row, chunk_rows)
            finally:
                conn.execute("COMMIT")

    def task(self, run_id: str, task_id: str) -> TaskRow | None:
        """One stored task of a run by its runtask id."""
        row = self.db.connection().execute(
            f"SELECT {READ_COLUMNS} FROM tasks WHERE run_id = ? AND id = ?", (run_id, task_id)).fetchone()
        return None if row is None else task_row(row)

    def count(self, run_id: str, task_filter: TaskFilter) -> int:
        """How many tasks of a run match a filter (counted once per finished load and filter)."""
        with self.db.snapshot() as conn:
            return self._matching(conn, run_id, run_key(conn, run_id), task_filter)

    def param_keys(self, run_id: str, task_filter: TaskFilter) -> list[str]:
        """The param keys of the matching tasks: `url` first, then by first appearance in the run."""
        where, args = filter_sql(run_id, task_filter)

        def keys() -> list[str]:
            rows = conn.execute(
                "SELECT j.key FROM tasks, json_each(tasks.params_json) AS j"
                f" WHERE {where} AND json_type(tasks.params_json) = 'object'"
                " GROUP BY j.key ORDER BY j.key != 'url', min(tasks.position), j.key", args)
            return [str(r[0]) for r in rows]

        # Every row's params are parsed: at 100,000 tasks that is tens of milliseconds (more on
        # PostgreSQL, whose json_each is a function over text), once per finished load.
        with self.db.snapshot() as conn:
            return list(self.figures.get(run_id, "param_keys", task_filter,
                                         load_stamp(conn, run_id), keys))

    def summary(self, run_id: str) -> RunSummary:
        """Totals of a run: counts by status and reason, expected, collected, missing."""
        with self.db.snapshot() as conn:  # totals and facets from the same commit
            return self.figures.get(run_id, "summary", None, load_stamp(conn, run_id),
                                    lambda: _summary_of(conn, run_id))


def _summary_of(conn: sqlite3.Connection, run_id: str) -> RunSummary:
    """The summary from the stored gap classes, so it counts short exactly as the facets do."""
    totals = conn.execute(
        "SELECT count(*) AS tasks,"
        " coalesce(sum(expected), 0) AS expected,"
        " coalesce(sum(expected IS NULL), 0) AS without_expected,"
        " coalesce(sum(gap_class = ?), 0) AS expected_unknown,"
        " coalesce(sum(collected), 0) AS collected,"
        " coalesce(sum(CASE WHEN gap > 0 AND gap_class != ? THEN gap ELSE 0 END), 0) AS missing,"
        " coalesce(sum(CASE WHEN gap > 0 AND gap_class = ? THEN gap ELSE 0 END), 0) AS to_go,"
        " coalesce(sum(CASE WHEN gap < 0 AND gap_class = ? THEN -gap ELSE 0 END), 0)"
        "  AS over_collected,"
        f" coalesce(sum(gap_class IN ({SHORT_SQL})), 0) AS tasks_short,"
        f" coalesce(sum(gap_class IN ({SHORT_SQL}) AND gap IS NULL), 0) AS short_uncounted,"
        " coalesce(sum(gap_class = ?), 0) AS tasks_over,"
        " coalesce(sum(gap_class = ?), 0) AS tasks_live"
        " FROM tasks WHERE run_id = ?",
        (UNKNOWN, RUNNING, RUNNING, OVER, OVER, RUNNING, run_id)).fetchone()
    by_status = _counts(conn, "status", run_id)
    by_reason = _counts(conn, "done_reason", run_id)
    by_class = {k: v for k, v in _counts(conn, "gap_class", run_id).items() if k is not None}
    return RunSummary(by_status=by_status, by_reason=by_reason, by_class=by_class, **dict(totals))


def _counts(conn: sqlite3.Connection, column: str, run_id: str) -> dict[Any, int]:
    rows = conn.execute(
        f"SELECT {column} AS value, count(*) AS n FROM tasks WHERE run_id = ?"
        f" GROUP BY {column} ORDER BY n DESC, {column}", (run_id,))
    return {r["value"]: r["n"] for r in rows}
