"""Sort keys: a narrow copy of each task's sortable and filterable columns, indexed in page order.

Page 500 of a 100,000-task run used to sort ~50,000 wide rows (params included) in a temporary
B-tree to skip them. `task_keys` holds only what a page is ordered and filtered by, under a small
integer run key, and has one index per sort column and direction whose order is exactly the
page's ORDER BY (unknown values last, ties by position). A page then walks narrow index entries
to its offset and reads its 100 wide rows by key: page 500 costs about what page 1 does.

The copy is written once per finished load, in bulk (keyload.py, from Ledger.finish), not row by
row while pages arrive: kept up by triggers, its 22 indexes doubled the cost of storing a page and
made cold loads slower. While a run loads, its pages are read the old way (sorted wide rows; it is
still arriving anyway). The entries carry a rowid of a few bytes, not the run id and task id
(64 bytes) that an index on `tasks` itself would repeat in every entry.
"""

from __future__ import annotations

from typing import Any

#: Public sort key (domain.query.SORT_KEYS) → the column it orders by (in tasks and task_keys).
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

#: The columns copied from tasks into task_keys (besides the run key).
KEY_COLUMNS = ("id", "position", "status", "done_reason", "gap_class", "url", "started_at",
               "ended_at", "duration", "expected", "collected", "gap", "missing_share")

_RUN_KEY = "(SELECT key FROM run_keys WHERE run_id = {}.run_id)"


def on_postgres(conn: Any) -> bool:
    """True for a PostgreSQL session (pg.py), whose few statements of this issue differ."""
    return getattr(getattr(conn, "db", None), "engine", "sqlite") == "postgresql"


def index_name(column: str, descending: bool) -> str:
    """The task_keys index whose order is the page order by `column` in that direction."""
    if column == "position":
        return "task_keys_position"
    return f"task_keys_{column}_{'desc' if descending else 'asc'}"


def order_sql(column: str, descending: bool, table: str = "") -> str:
    """The ORDER BY of a page: unknown values last in either direction, ties by position.

    The expressions must stay those of `index_name`'s index, so SQLite walks it in order.
    """
    direction = "DESC" if descending else "ASC"
    dot = f"{table}." if table else ""
    if column == "position":
        return f"{dot}position {direction}"
    return f"{dot}{column} IS NULL, {dot}{column} {direction}, {dot}position"


#: The filter columns the default sort's indexes also carry, so a filtered page in the default
#: order is found without reading a task_keys row per entry (about 3 MB per 100,000 tasks each).
FILTER_COLUMNS = "status, done_reason, gap_class"


def sort_indexes(postgres: bool = False) -> tuple[str, ...]:
    """The page-order indexes, one per sort column and direction, in the ORDER BY of `order_sql`
    (DESC puts NULLs first on both engines); PostgreSQL wants the null test in parentheses."""
    statements = ["CREATE INDEX task_keys_position ON task_keys (run_key, position)"]
    for column in SORT_COLUMNS.values():
        if column == "position":
            continue
        tail = f", {FILTER_COLUMNS}" if column == "gap" else ""
        nulls = f"({column} IS NULL)" if postgres else f"{column} IS NULL"
        for descending in (False, True):
            statements.append(
                f"CREATE INDEX {index_name(column, descending)} ON task_keys (run_key,"
                f" {nulls}, {column}{' DESC' if descending else ''}, position{tail})")
    return tuple(statements)


_OLD_ROW = f"run_key = {_RUN_KEY.format('OLD')} AND id = OLD.id"
#: The task_keys row of the task a trigger sees as OLD.
OLD_KEY_ROW = f"task_keys WHERE {_OLD_ROW}"


def delete_trigger(before: str = "") -> str:
    """The trigger that drops a deleted task's keys (and what `before` says), a safety net under
    the bulk drop of a run's keys (keyload.py)."""
    return (f"CREATE TRIGGER tasks_keys_delete AFTER DELETE ON tasks BEGIN {before}"
            f" DELETE FROM {OLD_KEY_ROW}; END")


#: Migration 11: run keys, the narrow copy with its page-order indexes, the keys of every finished
#: load already stored, and the trigger that drops a deleted task's keys.
MIGRATION: tuple[str, ...] = (
    # generation: the load whose tasks the keys copy; they count only while it is the run's
    # current, finished load (run_key below), so a load in progress never reads stale keys.
    "CREATE TABLE run_keys (key INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE,"
    " generation INTEGER)",
    """CREATE TABLE task_keys (
        run_key INTEGER NOT NULL,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT, done_reason TEXT, gap_class TEXT, url TEXT,
        started_at REAL, ended_at REAL, duration REAL,
        expected INTEGER, collected INTEGER, gap INTEGER, missing_share REAL
    )""",
    "CREATE UNIQUE INDEX task_keys_id ON task_keys (run_key, id)",
    *sort_indexes(),
    "INSERT INTO run_keys (run_id, generation) SELECT run_id, generation FROM runs"
    " WHERE state != 'loading' AND EXISTS (SELECT 1 FROM tasks WHERE tasks.run_id = runs.run_id)",
    f"INSERT INTO task_keys (run_key, {', '.join(KEY_COLUMNS)})"
    f" SELECT k.key, {', '.join('t.' + c for c in KEY_COLUMNS)}"
    " FROM run_keys AS k JOIN tasks AS t ON t.run_id = k.run_id ORDER BY k.key, t.position",
    delete_trigger(),
)


def run_key(conn: Any, run_id: str) -> int | None:
    """The small integer that stands for a run in task_keys, or None while its keys are not
    those of its current finished load (a load in progress, a failed reload): then the tasks
    are read the old way, sorted from the wide rows."""
    row = conn.execute(
        "SELECT k.key FROM run_keys AS k JOIN runs AS r ON r.run_id = k.run_id"
        " WHERE k.run_id = ? AND r.state != 'loading' AND k.generation = r.generation",
        (run_id,)).fetchone()
    return None if row is None else int(row[0])
