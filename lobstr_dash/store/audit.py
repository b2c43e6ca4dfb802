"""The audit log: every action the dashboard took in lobstr, who asked, and what lobstr answered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .db import Database

#: "user" quoted: a reserved word in PostgreSQL (current_user), a plain name in SQLite.
_COLUMNS = 'id, at, "user", action, run_id, runtask_id, outcome, status, code, message'


@dataclass(frozen=True)
class ActionRecord:
    """One action: when, who, what, on which run (and task), and lobstr's answer."""

    id: int
    at: float
    user: str | None
    action: str
    run_id: str
    runtask_id: str | None
    outcome: str
    status: int | None
    code: str | None
    message: str | None


class AuditLog:
    """Audit log statements; mixed into `Store`, which provides `db` and `clock`."""

    db: Database
    clock: Callable[[], float]

    def record_action(self, *, user: str | None, action: str, run_id: str, runtask_id: str | None,
                      outcome: str, status: int | None, code: str | None,
                      message: str | None) -> ActionRecord:
        """Write one action down (before anyone is told its outcome) and return it."""
        at = self.clock()
        with self.db.transaction(immediate=True) as conn:
            action_id = int(conn.execute(
                f"INSERT INTO actions ({_COLUMNS.partition(', ')[2]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (at, user, action, run_id, runtask_id, outcome, status, code, message)).fetchone()[0])
        return ActionRecord(action_id, at, user, action, run_id, runtask_id, outcome, status, code,
                            message)

    def action(self, action_id: int) -> ActionRecord | None:
        """One action by its id."""
        row = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM actions WHERE id = ?", (action_id,)).fetchone()
        return None if row is None else ActionRecord(*row)

    def actions(self, *, run_id: str | None = None, limit: int = 100,
                offset: int = 0) -> tuple[list[ActionRecord], int]:
        """A page of actions, newest first (of one run, or all), and how many there are."""
        where, args = ("WHERE run_id = ?", [run_id]) if run_id else ("", [])
        conn = self.db.connection()
        total = int(conn.execute(f"SELECT count(*) FROM actions {where}", args).fetchone()[0])
        rows = conn.execute(f"SELECT {_COLUMNS} FROM actions {where} ORDER BY at DESC, id DESC"
                            " LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        return [ActionRecord(*row) for row in rows], total

    def iter_actions(self) -> Iterator[ActionRecord]:
        """Every action, newest first (exports), on a connection of its own."""
        with self.db.dedicated() as conn:
            for row in conn.execute(f"SELECT {_COLUMNS} FROM actions ORDER BY at DESC, id DESC"):
                yield ActionRecord(*row)
