"""The store query behind /compare: pair two runs' tasks, label each pair, filter, sort, page.

Both runs live in the same store. Tasks pair by squid task id (the n-th occurrence of an id in A
with the n-th in B, so duplicates never multiply rows); the tasks left over pair by a key of their
params. `domain.changes.change_kind` labels each pair through a registered SQLite function.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

from ..domain import changes
from ..domain.changes import CompareQuery
from ..domain.changes import ComparePage
from ..domain.changes import Pair
from ..domain.changes import Side
from .db import Database
from .tasks import filter_sql

#: Public sort key (domain.changes.SORT_KEYS) → SQL over the pair columns.
SORT_COLUMNS: dict[str, str] = {
    "change": "severity",
    "delta": "delta",
    "a_collected": "a_collected",
    "b_collected": "b_collected",
    "a_expected": "a_expected",
    "b_expected": "b_expected",
    "position": "position",
    "input": "url",
    "reason": "b_reason",
}
_SEVERITY = "CASE kind " + " ".join(
    f"WHEN '{key}' THEN {changes.severity(key)}" for key in changes.KINDS) + " ELSE 99 END"

_SIDE = ("id", "position", "status", "done_reason", "expected", "collected", "gap_class")


def _pairs_cte(a: str, b: str) -> tuple[str, list[Any]]:
    """The CTE that pairs run a's tasks with run b's: one row per pair, with both sides' columns."""
    side_cols = ", ".join(f"ta.{c} AS a_{c}" for c in _SIDE) + ", " + ", ".join(
        f"tb.{c} AS b_{c}" for c in _SIDE)
    # A task id (or params key) seen k times in A and m times in B joins k×m rows; ranking each
    # side's occurrences (by id: the index holds it) and keeping rank i with rank i pairs them one
    # to one. INDEXED BY: without statistics SQLite would scan run B once per task of run A.
    sql = f"""
    WITH
    by_task AS (SELECT a_id, b_id FROM (
        SELECT ta.id AS a_id, tb.id AS b_id,
            dense_rank() OVER (PARTITION BY ta.task ORDER BY ta.id) AS i,
            dense_rank() OVER (PARTITION BY ta.task ORDER BY tb.id) AS j
        FROM tasks AS ta JOIN tasks AS tb INDEXED BY tasks_task
            ON tb.run_id = ? AND tb.task = ta.task
        WHERE ta.run_id = ?) AS ranked WHERE i = j),
    ar AS (SELECT id, params_key FROM tasks WHERE run_id = ? AND id NOT IN (SELECT a_id FROM by_task)),
    br AS (SELECT id, params_key FROM tasks WHERE run_id = ? AND id NOT IN (SELECT b_id FROM by_task)),
    by_params AS (SELECT a_id, b_id FROM (
        SELECT ta.id AS a_id, tb.id AS b_id,
            dense_rank() OVER (PARTITION BY ta.params_key ORDER BY ta.id) AS i,
            dense_rank() OVER (PARTITION BY ta.params_key ORDER BY tb.id) AS j
        FROM tasks AS ta JOIN tasks AS tb INDEXED BY tasks_params_key
            ON tb.run_id = ? AND tb.params_key = ta.params_key
        WHERE ta.run_id = ? AND ta.id IN (SELECT id FROM ar) AND tb.id IN (SELECT id FROM br))
        AS ranked WHERE i = j),
    pairs AS (
        SELECT a_id, b_id, 'task' AS via FROM by_task
        UNION ALL SELECT a_id, b_id, 'params' FROM by_params
        UNION ALL SELECT id, NULL, NULL FROM ar WHERE id NOT IN (SELECT a_id FROM by_params)
        UNION ALL SELECT NULL, id, NULL FROM br WHERE id NOT IN (SELECT b_id FROM by_params)),
    joined AS (
        SELECT pairs.via, {side_cols},
            coalesce(tb.position, ta.position) AS position, coalesce(tb.url, ta.url) AS url,
            coalesce(tb.params_json, ta.params_json) AS params_json,
            tb.collected - ta.collected AS delta,
            lobstr_change(ta.id IS NOT NULL, tb.id IS NOT NULL, ta.gap_class, ta.done_reason,
                          ta.status, ta.collected, tb.gap_class, tb.done_reason, tb.status,
                          tb.collected) AS kind
        FROM pairs
        LEFT JOIN tasks AS ta ON ta.run_id = ? AND ta.id = pairs.a_id
        LEFT JOIN tasks AS tb ON tb.run_id = ? AND tb.id = pairs.b_id),
    cmp AS (SELECT *, {_SEVERITY} AS severity FROM joined)
    """
    return sql, [b, a, a, b, b, a, a, b]


def _filter_sql(a: str, b: str, query: CompareQuery,
                with_kinds: bool) -> tuple[str, list[Any]]:
    """WHERE over `cmp`: a pair matches the task filters when either of its tasks does."""
    clauses: list[str] = []
    args: list[Any] = []
    task_filter = query.filters.filter
    if not task_filter.is_empty:
        where_a, args_a = filter_sql(a, task_filter)
        where_b, args_b = filter_sql(b, task_filter)
        clauses.append(f"(a_id IN (SELECT id FROM tasks WHERE {where_a})"
                       f" OR b_id IN (SELECT id FROM tasks WHERE {where_b}))")
        args += args_a + args_b
    if with_kinds and query.kinds:
        clauses.append(f"kind IN ({','.join('?' * len(query.kinds))})")
        args += list(query.kinds)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _order(query: CompareQuery) -> str:
    column = SORT_COLUMNS.get(query.sort, "severity")
    direction = "DESC" if query.descending else "ASC"
    if column == "severity":
        return f"severity {direction}, delta IS NULL, delta ASC, position"
    return f"{column} IS NULL, {column} {direction}, severity, position"


def _side(row: sqlite3.Row, prefix: str) -> Side | None:
    if row[f"{prefix}_id"] is None:
        return None
    return Side(*(row[f"{prefix}_{c}"] for c in _SIDE))


def _pair(row: sqlite3.Row) -> Pair:
    params = json.loads(row["params_json"]) if row["params_json"] else {}
    return Pair(a=_side(row, "a"), b=_side(row, "b"), via=row["via"], kind=row["kind"],
                url=row["url"], params=params if isinstance(params, dict) else {"value": params})


class Pairs:
    """Comparisons of two stored runs; mixed into `Store`, which provides `db`."""

    db: Database

    def compare_page(self, a: str, b: str, query: CompareQuery) -> ComparePage:
        """Counts per kind (under the task filters) and one page of pairs (under the kinds too).

        The pairing runs once per request, into a temporary table of this connection (temporary
        tables live outside the store file: no write lock), and both answers read that table.
        """
        with self.db.pinned() as conn:
            cte, cte_args = _pairs_cte(a, b)
            where, args = _filter_sql(a, b, query, with_kinds=False)
            table = f"temp.pairs_{uuid.uuid4().hex}"
            conn.execute(f"CREATE TABLE {table} AS {cte} SELECT * FROM cmp{where}", cte_args + args)
            try:
                counts = {key: 0 for key in changes.KINDS}
                for kind, n in conn.execute(f"SELECT kind, count(*) FROM {table} GROUP BY kind"):
                    counts[kind] = n
                matching = sum(n for k, n in counts.items() if not query.kinds or k in query.kinds)
                pages = max(1, -(-matching // query.per_page))
                page = min(max(1, query.page), pages)
                kinds = (f" WHERE kind IN ({','.join('?' * len(query.kinds))})" if query.kinds else "")
                rows = conn.execute(f"SELECT * FROM {table}{kinds} ORDER BY {_order(query)} LIMIT ? OFFSET ?",
                                    [*query.kinds, query.per_page, (page - 1) * query.per_page]).fetchall()
            finally:
                conn.execute(f"DROP TABLE {table}")
        return ComparePage([_pair(r) for r in rows], counts, matching, page, query.per_page)

    def iter_pairs(self, a: str, b: str, query: CompareQuery) -> Iterator[Pair]:
        """Every pair matching the query, in its order (exports), on a connection of its own."""
        cte, cte_args = _pairs_cte(a, b)
        where, args = _filter_sql(a, b, query, with_kinds=True)
        with self.db.dedicated() as conn:
            for row in conn.execute(f"{cte} SELECT * FROM cmp{where} ORDER BY {_order(query)}",
                                    cte_args + args):
                yield _pair(row)
