"""The load ledger: which runs are loaded, by whom (a lease), which pages arrived or failed.

The `runs` row of a run is the lock that makes a load single-flight across threads and processes:
a loader claims it with a lease it renews while it works; a lease left by a dead process expires
(or its owner is seen dead) and the next request resumes the load where it stopped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..domain import gapclass
from ..domain.tasks import LIVE_STATUSES
from ..domain.tasks import RunTask
from ..domain.tasks import params_key
from ..domain.tasks import search_text
from ..domain.values import MAX_COUNT
from . import keyload
from .db import Database
from .figures import FiguresCache
from .figures import stamp_of
from .loadrecord import LoadRecord

#: The columns a task row is written with, in the order `_record` builds them.
WRITE_COLUMNS = ("run_id", "id", "position", "task", "status", "done_reason", "done_reason_desc",
                 "url", "params_json", "started_at", "ended_at", "duration", "expected",
                 "collected", "gap", "missing_share", "gap_class", "search_text", "params_key",
                 "implausible")

_UPSERT = (
    f"INSERT INTO tasks ({', '.join(WRITE_COLUMNS)}) VALUES ({', '.join('?' * len(WRITE_COLUMNS))})"
    " ON CONFLICT (run_id, id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in WRITE_COLUMNS if c not in ("run_id", "id")))

#: A page's outcome replaces what an earlier attempt recorded (both engines accept this upsert).
_PAGE_UPSERT = (
    "INSERT INTO pages (run_id, page, generation, state, rows, error, fetched_at, fault)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, page) DO UPDATE SET"
    " generation = excluded.generation, state = excluded.state, rows = excluded.rows,"
    " error = excluded.error, fetched_at = excluded.fetched_at, fault = excluded.fault")

_LIVE_MARKS = ",".join("?" * len(LIVE_STATUSES))
_LIVE_VALUES = tuple(sorted(LIVE_STATUSES))


def _clamp(count: int | None) -> int | None:
    return None if count is None else max(0, min(int(count), MAX_COUNT))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _record(run_id: str, task: RunTask, position: int) -> tuple[Any, ...]:
    """The values of one task row, in WRITE_COLUMNS order."""
    params = dict(task.params)
    return (run_id, task.id, position, task.task, task.status, task.done_reason,
            task.done_reason_desc, task.url, _dumps(params), task.started_at, task.ended_at,
            task.duration, task.expected, task.collected, task.gap, task.missing_share,
            gapclass.classify(task.status, task.done_reason, task.expected, task.collected),
            search_text(params), params_key(params),
            _dumps(dict(task.implausible)) if task.implausible else None)


class Ledger:
    """Load-ledger statements; mixed into `Store`, which provides `db` and `figures`."""

    db: Database
    figures: FiguresCache
    #: The wall clock of leases and fetch times (tests move a fake one).
    clock: Callable[[], float]

    def run_state(self, run_id: str) -> LoadRecord | None:
        """Return the load record of a run, with its page and row counts, or None if never seen."""
        with self.db.snapshot() as conn:  # pages done and rows stored from the same commit
            row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                return None
            pages = conn.execute(
                "SELECT page, state, fault FROM pages WHERE run_id = ? AND generation = ?"
                " ORDER BY page", (run_id, row["generation"])).fetchall()
            stored, implausible = self.figures.get(
                run_id, "rows", None, stamp_of(row), lambda: tuple(conn.execute(
                    "SELECT count(*), count(implausible) FROM tasks WHERE run_id = ?",
                    (run_id,)).fetchone()))
        failed_rows = [p for p in pages if p["state"] == "failed"]
        failed = tuple(p["page"] for p in failed_rows)
        return LoadRecord(
            run_id=row["run_id"], phase=row["state"], generation=row["generation"],
            total_results=row["total_results"], total_pages=row["total_pages"],
            page_size=row["page_size"], started_at=row["started_at"],
            finished_at=row["finished_at"], fetched_at=row["fetched_at"],
            is_live=bool(row["is_live"]), owner=row["owner"], lease_until=row["lease_until"],
            error_kind=row["error_kind"], error_message=row["error_message"],
            error_status=row["error_status"], checked_at=row["checked_at"],
            plan_warning=row["plan_warning"],
            reopened_at=row["reopened_at"],
            pages_done=sum(1 for p in pages if p["state"] == "done"),
            pages_failed=len(failed), rows_stored=stored, failed_pages=failed,
            failed_faults=tuple(p["fault"] or "lobstr" for p in failed_rows),
            claimed_pages=row["claimed_pages"], failures=row["failures"],
            implausible_tasks=implausible)

    def claim(self, run_id: str, owner: str, lease_seconds: float, *, fresh: bool,
              now: float | None = None, owner_is_dead: Callable[[str], bool] | None = None) -> int | None:
        """Take the right to load a run; return the generation to load, or None if someone holds it.

        `fresh` starts a new generation (every page fetched again); otherwise the loader resumes
        the current one and fetches only the pages it lacks. A load held under a live lease is
        left alone unless `owner_is_dead` says its owner no longer runs. A new run's claim deletes
        the rows an eviction had not yet deleted (retention.py): they must not join this load."""
        now = self.clock() if now is None else now
        with self.db.transaction(immediate=True) as conn:
            row = conn.execute(
                "SELECT state, generation, lease_until, owner FROM runs WHERE run_id = ?",
                (run_id,)).fetchone()
            keyload.stale(conn, run_id)  # a resumed load must not read the last one's keys
            if row is None:
                conn.execute("DELETE FROM tasks WHERE run_id = ?", (run_id,))
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
                " error_status = NULL, plan_warning = CASE WHEN ? THEN NULL ELSE plan_warning END"
                " WHERE run_id = ?",
                (generation, now, owner, now + lease_seconds, fresh, run_id))
            return int(generation)

    def set_totals(self, run_id: str, total_results: int | None, total_pages: int,
                   page_size: int, claimed_pages: int | None = None) -> None:
        """Record the run's size as the first page reported it (counts clamped to MAX_COUNT)."""
        self.db.connection().execute(
            "UPDATE runs SET total_results = ?, total_pages = ?, page_size = ?, claimed_pages = ?"
            " WHERE run_id = ?",
            (_clamp(total_results), _clamp(total_pages), _clamp(page_size),
             _clamp(claimed_pages), run_id))

    def pages_to_fetch(self, run_id: str, generation: int, total_pages: int) -> Iterator[int]:
        """The pages of 1..total_pages not yet loaded in this generation, one at a time."""
        done = {r[0] for r in self.db.connection().execute(
            "SELECT page FROM pages WHERE run_id = ? AND generation = ? AND state = 'done'",
            (run_id, generation))}
        return (p for p in range(1, total_pages + 1) if p not in done)

    def save_page(self, run_id: str, generation: int, page: int, page_size: int,
                  rows: Sequence[dict[str, Any]], owner: str, lease_seconds: float) -> int:
        """Upsert one page's rows and mark the page done, in one transaction; return rows kept."""
        now = self.clock()
        records = []
        for index, raw in enumerate(rows):
            try:
                task = RunTask.from_api(raw)
            except ValueError:
                continue  # a row without an id cannot be told apart from others
            records.append(_record(run_id, task, (page - 1) * page_size + index + 1))
        with self.db.transaction(immediate=True) as conn:
            conn.executemany(_UPSERT, records)
            keyload.stale(conn, run_id)  # rows changed, even by a loader that lost its claim
            conn.execute(_PAGE_UPSERT, (run_id, page, generation, "done", len(records), None, now, None))
            conn.execute("UPDATE runs SET lease_until = ? WHERE run_id = ? AND owner = ?",
                         (now + lease_seconds, run_id, owner))
        return len(records)

    def renew_lease(self, run_id: str, owner: str, lease_seconds: float) -> None:
        """Extend a loader's claim on a run while it waits (only while it still owns it)."""
        self.db.connection().execute(
            "UPDATE runs SET lease_until = ? WHERE run_id = ? AND owner = ?",
            (self.clock() + lease_seconds, run_id, owner))

    def live_pages(self, run_id: str, page_size: int) -> set[int]:
        """The upstream pages whose rows held a task that was still running when last read."""
        rows = self.db.connection().execute(
            f"SELECT DISTINCT (position - 1) / ? + 1 FROM tasks WHERE run_id = ?"
            f" AND lower(status) IN ({_LIVE_MARKS})", (page_size, run_id, *_LIVE_VALUES))
        return {int(r[0]) for r in rows}

    def carry_pages(self, run_id: str, generation: int, pages: Iterable[int]) -> None:
        """Count pages loaded earlier as loaded in this generation (their tasks were all final)."""
        with self.db.transaction(immediate=True) as conn:
            conn.executemany(
                "UPDATE pages SET generation = ? WHERE run_id = ? AND page = ? AND state = 'done'",
                [(generation, run_id, page) for page in pages])

    def fail_page(self, run_id: str, generation: int, page: int, error: str,
                  fault: str = "lobstr") -> None:
        """Record that a page could not be loaded (after its retries), and whose fault that is."""
        self.db.connection().execute(
            _PAGE_UPSERT, (run_id, page, generation, "failed", 0, error[:500], self.clock(), fault))

    def drop_pages_after(self, run_id: str, generation: int, last_page: int) -> None:
        """Forget failed pages past the end of a run's list (lobstr claimed more than it had)."""
        self.db.connection().execute(
            "DELETE FROM pages WHERE run_id = ? AND generation = ? AND page > ? AND state = 'failed'",
            (run_id, generation, last_page))
        self.db.connection().execute(
            "UPDATE runs SET total_pages = CASE WHEN total_pages IS NULL OR total_pages < ?"
            " THEN total_pages ELSE ? END"
            " WHERE run_id = ?",
            (last_page, last_page, run_id))

    def finish(self, run_id: str, owner: str) -> None:
        """Close a load: done or partial by its failed pages, and whether tasks are still live."""
        now = self.clock()
        with self.db.transaction(immediate=True) as conn:
            generation = conn.execute("SELECT generation FROM runs WHERE run_id = ?",
                                      (run_id,)).fetchone()[0]
            failed = conn.execute(
                "SELECT count(*) FROM pages WHERE run_id = ? AND generation = ? AND state = 'failed'",
                (run_id, generation)).fetchone()[0]
            live = conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM tasks WHERE run_id = ? AND lower(status) IN"
                f" ({_LIVE_MARKS}))", (run_id, *_LIVE_VALUES)).fetchone()[0]
            closed = conn.execute(
                "UPDATE runs SET state = ?, finished_at = ?, fetched_at = ?, is_live = ?,"
                " owner = NULL, lease_until = NULL, failures = 0 WHERE run_id = ? AND owner = ?",
                ("partial" if failed else "done", now, now, int(bool(live)), run_id, owner))
        # Then its sort keys and text index, in a transaction of their own (read from rows till then).
        if closed.rowcount == 1:
            with self.db.transaction(immediate=True) as conn:
                keyload.rebuild(conn, run_id)

    def fail_load(self, run_id: str, owner: str, kind: str, message: str,
                  status: int | None) -> None:
        """Close a load that could not start (its first page failed); count it for the back-off."""
        self.db.connection().execute(
            "UPDATE runs SET state = 'failed', finished_at = ?, error_kind = ?, error_message = ?,"
            " error_status = ?, owner = NULL, lease_until = NULL, failures = failures + 1"
            " WHERE run_id = ? AND owner = ?",
            (self.clock(), kind, message[:500], status, run_id, owner))

    def prune_failed(self, older_than: float, keep: int = 1000) -> int:
        """Delete runs whose loads failed with nothing stored, once their back-off is over, and
        all but the newest `keep` of them at any time (unknown run ids cost no space for good)."""
        with self.db.transaction(immediate=True) as conn:
            doomed = [r[0] for r in conn.execute(
                "SELECT run_id FROM runs r WHERE state = 'failed'"
                " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = r.run_id)"
                " AND (finished_at < ? OR run_id NOT IN (SELECT run_id FROM runs"
                "  WHERE state = 'failed' ORDER BY finished_at DESC LIMIT ?))",
                (older_than, keep))]
            for run_id in doomed:
                keyload.drop(conn, run_id)
                for table in ("pages", "runs", "run_info"):
                    conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        for run_id in doomed:
            self.figures.forget(run_id)
        return len(doomed)

    def set_plan_warning(self, run_id: str, warning: str) -> None:
        """Keep lobstr's warning about the run's list (a plan's cap) with the load."""
        self.db.connection().execute("UPDATE runs SET plan_warning = ? WHERE run_id = ?",
                                     (warning[:500], run_id))

    def claim_recheck(self, run_id: str, interval: float) -> bool:
        """Take the right to ask lobstr whether a finished run changed (once per `interval`).

        One process wins: the check time is written in the same statement that tests it.
        """
        now = self.clock()
        cursor = self.db.connection().execute(
            "UPDATE runs SET checked_at = ? WHERE run_id = ? AND state IN ('done', 'partial')"
            " AND (checked_at IS NULL OR checked_at <= ?)", (now, run_id, now - interval))
        return cursor.rowcount == 1

    def mark_reopened(self, run_id: str) -> None:
        """Note that lobstr reopened the run: the next look reloads it as a live run."""
        self.db.connection().execute(
            "UPDATE runs SET reopened_at = ?, is_live = 1 WHERE run_id = ?", (self.clock(), run_id))

    def generation(self, run_id: str) -> int | None:
        """The run's current load generation, or None if it was never claimed."""
        row = self.db.connection().execute(
            "SELECT generation FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else int(row[0])

    def recent_runs(self, limit: int = 10) -> list[sqlite3.Row]:
        """The runs most recently fetched or started, newest first."""
        return self.db.connection().execute(
            "SELECT run_id, state, total_results, fetched_at FROM runs WHERE state != 'failed'"
            " ORDER BY coalesce(fetched_at, started_at) DESC LIMIT ?", (limit,)).fetchall()

    def forget(self, run_ids: Iterable[str]) -> None:
        """Delete runs, their pages, tasks and run info (tests and maintenance)."""
        with self.db.transaction(immediate=True) as conn:
            for run_id in run_ids:
                keyload.drop(conn, run_id)
                for table in ("tasks", "pages", "runs", "run_info", "run_figures"):
                    conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
                self.figures.forget(run_id)
