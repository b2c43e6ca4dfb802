"""Sort keys: a narrow copy of each task's sortable and filterable columns, indexed in page order.

Page 500 of a 100,000-task run used to sort ~50,000 wide rows (params included) in a temporary
B-tree to skip them. `task_keys` holds only what a page is ordered and filtered by, under a small
integer run key, and has one index per sort column and direction whose order is exactly the
page's ORDER BY (unknown values last, ties by position). A page then walks narrow index entries
to its offset and reads its 100 wide rows by key: page 500 costs about what page 1 does.

Triggers on `tasks` keep the copy exact whatever writes the tasks (a load, a forget, retention),
so no writer has to remember it. The entries carry a rowid of a few bytes, not the run id and
task id (64 bytes) that an index on `tasks` itself would repeat in every entry.
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


def _sort_indexes() -> tuple[str, ...]:
    statements = ["CREATE INDEX task_keys_position ON task_keys (run_key, position)"]
    for column in SORT_COLUMNS.values():
        if column == "position":
            continue
        tail = f", {FILTER_COLUMNS}" if column == "gap" else ""
        for descending in (False, True):
            statements.append(
                f"CREATE INDEX {index_name(column, descending)} ON task_keys (run_key,"
                f" {column} IS NULL, {column}{' DESC' if descending else ''}, position{tail})")
    return tuple(statements)


_VALUES = ", ".join(f"NEW.{c}" for c in KEY_COLUMNS)
_SETS = ", ".join(f"{c} = NEW.{c}" for c in KEY_COLUMNS if c != "id")
_OLD_ROW = f"run_key = {_RUN_KEY.format('OLD')} AND id = OLD.id"

#: Trigger bodies that keep task_keys exact; migration 12 (textsearch.py) adds to them.
KEEP_ON_INSERT = (
    "INSERT OR IGNORE INTO run_keys (run_id) VALUES (NEW.run_id);"
    f" INSERT INTO task_keys (run_key, {', '.join(KEY_COLUMNS)})"
    f" VALUES ({_RUN_KEY.format('NEW')}, {_VALUES});")
KEEP_ON_UPDATE = f"UPDATE task_keys SET {_SETS} WHERE {_OLD_ROW};"
KEEP_ON_DELETE = f"DELETE FROM task_keys WHERE {_OLD_ROW};"
#: The task_keys row of the task a trigger sees as OLD.
OLD_KEY_ROW = f"task_keys WHERE {_OLD_ROW}"


def triggers(on_insert: str = "", on_update: str = "", before_delete: str = "") -> tuple[str, ...]:
    """The triggers on tasks that keep task_keys (and whatever else is given) in step."""
    return (
        f"CREATE TRIGGER tasks_keys_insert AFTER INSERT ON tasks BEGIN {KEEP_ON_INSERT}"
        f" {on_insert} END",
        f"CREATE TRIGGER tasks_keys_update AFTER UPDATE ON tasks BEGIN {on_update}"
        f" {KEEP_ON_UPDATE} END",
        f"CREATE TRIGGER tasks_keys_delete AFTER DELETE ON tasks BEGIN {before_delete}"
        f" {KEEP_ON_DELETE} END",
    )


#: Migration 11: run keys, the narrow copy, the triggers that keep it, and its page-order indexes.
MIGRATION: tuple[str, ...] = (
    "CREATE TABLE run_keys (key INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE)",
    """CREATE TABLE task_keys (
        run_key INTEGER NOT NULL,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT, done_reason TEXT, gap_class TEXT, url TEXT,
        started_at REAL, ended_at REAL, duration REAL,
        expected INTEGER, collected INTEGER, gap INTEGER, missing_share REAL
    )""",
    "CREATE UNIQUE INDEX task_keys_id ON task_keys (run_key, id)",
    "INSERT INTO run_keys (run_id) SELECT DISTINCT run_id FROM tasks",
    f"INSERT INTO task_keys (run_key, {', '.join(KEY_COLUMNS)})"
    f" SELECT k.key, {', '.join('t.' + c for c in KEY_COLUMNS)}"
    " FROM tasks AS t JOIN run_keys AS k ON k.run_id = t.run_id",
    *triggers(),
    *_sort_indexes(),
)


def run_key(conn: Any, run_id: str) -> int | None:
    """The small integer that stands for a run in task_keys, or None when it has no tasks yet."""
    row = conn.execute("SELECT key FROM run_keys WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None else int(row[0])
