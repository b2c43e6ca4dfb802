"""SQL aggregates behind the reason cards, the verdict, the charts and the runs list.

Every figure here is one GROUP BY (or a window over the matching rows): nothing loads a run's rows
into Python, so a 100,000-task run costs a few aggregates per request, and a finished load's figures
are computed once (store/figures.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from ..domain.figures import Timeline
from ..domain.figures import TimelineBar
from ..domain.verdict import ShortfallRow
from ..domain.query import TaskFilter
from ..domain.reasons import ReasonCard
from ..domain.reasons import build_cards
from .db import Database
from .figures import FiguresCache
from .figures import load_stamp
from .tasks import SHORT_SQL
from .tasks import filter_sql

#: A short task's missing results (its known gap): tasks still running miss nothing yet.
_MISSING = f"CASE WHEN gap > 0 AND gap_class IN ({SHORT_SQL}) THEN gap END"


class Aggregates:
    """Figures of a run's tasks; mixed into `Store`, which provides `db` and `figures`."""

    db: Database
    figures: FiguresCache

    def reason_cards(self, run_id: str) -> list[ReasonCard]:
        """One card per done_reason of the whole run, most missing results first."""
        with self.db.snapshot() as conn:
            return self.figures.get(run_id, "cards", None, load_stamp(conn, run_id),
                                    lambda: _reason_cards(conn, run_id))

    def shortfall(self, run_id: str) -> list[ShortfallRow]:
        """The short tasks of a whole run by gap class and done_reason (the verdict)."""
        with self.db.snapshot() as conn:
            return self.figures.get(run_id, "shortfall", None, load_stamp(conn, run_id),
                                    lambda: _shortfall(conn, run_id))

    def completeness_buckets(self, run_id: str, task_filter: TaskFilter) -> dict[int, int]:
        """Matching tasks per completeness bucket (domain.figures.BUCKET_*)."""
        with self.db.snapshot() as conn:
            return self.figures.get(run_id, "buckets", task_filter, load_stamp(conn, run_id),
                                    lambda: _completeness_buckets(conn, run_id, task_filter))

    def missing_by_reason(self, run_id: str,
                          task_filter: TaskFilter) -> list[tuple[str | None, int, int]]:
        """(done_reason, missing results, tasks short) of the matching tasks, most missing first."""
        with self.db.snapshot() as conn:
            return self.figures.get(run_id, "missing", task_filter, load_stamp(conn, run_id),
                                    lambda: _missing_by_reason(conn, run_id, task_filter))

    def timeline(self, run_id: str, task_filter: TaskFilter, *, buckets: int = 60,
                 sample: int = 300) -> Timeline | None:
        """The matching tasks' timeline (None when no task has a start time)."""
        with self.db.snapshot() as conn:
            return self.figures.get(
                run_id, "timeline", (task_filter, buckets, sample), load_stamp(conn, run_id),
                lambda: _timeline(conn, run_id, task_filter, buckets=buckets, sample=sample))

    def stored_runs(self, run_ids: Iterable[str]) -> dict[str, StoredRunFigures]:
        """Figures of those runs whose tasks are in the store (one GROUP BY over the runs asked)."""
        return _stored_runs(self.db.connection(), run_ids)


def _reason_cards(conn: sqlite3.Connection, run_id: str) -> list[ReasonCard]:
    """One card per done_reason present in the run, with its tasks and missing results."""
    rows = [dict(r) for r in conn.execute(
        f"SELECT done_reason AS reason, count(*) AS tasks, coalesce(sum({_MISSING}), 0) AS missing,"
        f" coalesce(sum(gap_class IN ({SHORT_SQL})), 0) AS short,"
        " coalesce(sum(gap_class = 'running'), 0) AS live,"
        " coalesce(sum(gap_class = 'unknown'), 0) AS unknown"
        " FROM tasks WHERE run_id = ? GROUP BY done_reason", (run_id,))]
    # One example description per reason, from the small partial index of rows that have one.
    examples = dict(conn.execute(
        "SELECT done_reason, min(done_reason_desc) FROM tasks"
        " WHERE run_id = ? AND done_reason_desc IS NOT NULL GROUP BY done_reason", (run_id,)).fetchall())
    for row in rows:
        row["desc"] = examples.get(row["reason"])
    return build_cards(rows)


def _shortfall(conn: sqlite3.Connection, run_id: str) -> list[ShortfallRow]:
    rows = conn.execute(
        "SELECT gap_class, done_reason, count(*), coalesce(sum(CASE WHEN gap > 0 THEN gap END), 0),"
        " coalesce(sum(gap IS NULL), 0)"
        f" FROM tasks WHERE run_id = ? AND gap_class IN ({SHORT_SQL})"
        " GROUP BY gap_class, done_reason", (run_id,))
    return [ShortfallRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]


def _completeness_buckets(conn: sqlite3.Connection, run_id: str, task_filter: TaskFilter) -> dict[int, int]:
    """Matching tasks per completeness bucket (see BUCKET_*), one GROUP BY."""
    where, args = filter_sql(run_id, task_filter)
    rows = conn.execute(
        "SELECT CASE WHEN gap_class = 'running' THEN 12"
        " WHEN expected IS NULL OR collected IS NULL THEN -1"
        " WHEN collected > expected THEN 11"
        " WHEN collected = expected THEN 10"
        " ELSE min(9, (collected * 10) / expected) END AS bucket, count(*) AS n"
        f" FROM tasks WHERE {where} GROUP BY bucket", args)
    return {int(r["bucket"]): int(r["n"]) for r in rows}


def _missing_by_reason(conn: sqlite3.Connection, run_id: str,
                      task_filter: TaskFilter) -> list[tuple[str | None, int, int]]:
    """(done_reason, missing results, tasks short) of the matching tasks, most missing first."""
    where, args = filter_sql(run_id, task_filter)
    rows = conn.execute(
        f"SELECT done_reason, coalesce(sum({_MISSING}), 0) AS missing,"
        f" coalesce(sum(gap_class IN ({SHORT_SQL})), 0) AS short"
        f" FROM tasks WHERE {where} GROUP BY done_reason"
        " ORDER BY missing DESC, short DESC, done_reason", args)
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


def _timeline(conn: sqlite3.Connection, run_id: str, task_filter: TaskFilter, *, buckets: int = 60,
              sample: int = 300) -> Timeline | None:
    """The matching tasks' timeline, or None when no task has a start time.

    Concurrency is exact (bucketed counts of starts and ends over every task); the bars are at most
    `sample` tasks taken evenly in start order.
    """
    where, args = filter_sql(run_id, task_filter)
    head = conn.execute(
        "SELECT min(started_at), max(max(started_at, coalesce(ended_at, started_at))),"
        " count(started_at), count(*) - count(started_at),"
        " sum(started_at IS NOT NULL AND ended_at IS NULL)"
        f" FROM tasks WHERE {where}", args).fetchone()
    if head[0] is None:
        return None
    start, end, timed, untimed, still_open = float(head[0]), float(head[1]), head[2], head[3], head[4] or 0
    span = max(end - start, 1.0)
    width = span / buckets

    def counts(column: str) -> list[int]:
        values = [0] * buckets
        rows = conn.execute(
            f"SELECT min(?, CAST(({column} - ?) / ? AS INTEGER)) AS b, count(*)"
            f" FROM tasks WHERE {where} AND started_at IS NOT NULL AND {column} IS NOT NULL"
            " GROUP BY b", (buckets - 1, start, width, *args))
        for bucket, n in rows:
            values[max(0, int(bucket))] += n
        return values

    starts, ends = counts("started_at"), counts("ended_at")
    active, started, ended = [], 0, 0
    for index in range(buckets):
        started += starts[index]
        active.append(started - ended)  # started by the end of this bucket, not ended before it
        ended += ends[index]
    # Number the matching rows from the narrow time index, keep every step-th, and only then
    # read the wide rows for the labels of the few kept.
    rows = conn.execute(
        "SELECT s.position, s.started_at, s.ended_at, s.gap_class, coalesce(t.url, t.id) FROM ("
        " SELECT position, started_at, ended_at, gap_class, rn FROM ("
        "  SELECT position, started_at, ended_at, gap_class,"
        "  row_number() OVER (ORDER BY started_at, position) AS rn"
        f"  FROM tasks WHERE {where} AND started_at IS NOT NULL) AS numbered"
        # Row rn is kept when rn·S/T crosses an integer: exactly min(S, T) rows, evenly spread.
        " WHERE (rn * ?) / ? != ((rn - 1) * ?) / ? ORDER BY rn) AS s"
        # INDEXED BY: without statistics SQLite may scan the whole run once per kept row.
        " JOIN tasks AS t INDEXED BY tasks_position ON t.run_id = ? AND t.position = s.position"
        " ORDER BY s.rn",
        (*args, sample, timed, sample, timed, run_id)).fetchall()
    bars = [TimelineBar(r[0], float(r[1]), None if r[2] is None else float(r[2]), r[3], r[4])
            for r in rows]
    return Timeline(start=start, end=start + span, bucket_seconds=width, active=active,
                    starts=starts, ends=ends, bars=bars, tasks_timed=timed,
                    tasks_untimed=untimed, tasks_open=still_open)


@dataclass(frozen=True)
class StoredRunFigures:
    """What the store knows about a run's tasks (for a list of runs)."""

    run_id: str
    state: str
    tasks: int
    expected: int
    collected_of_expected: int
    missing: int
    tasks_short: int
    #: Results the tasks still running have yet to collect.
    to_go: int = 0

    @property
    def percent_complete(self) -> float | None:
        """Share of the known expected results collected, 0..100."""
        if self.expected <= 0:
            return None
        return 100.0 * (self.expected - self.missing - self.to_go) / self.expected


def _stored_runs(conn: sqlite3.Connection, run_ids: Iterable[str]) -> dict[str, StoredRunFigures]:
    """Figures of those runs whose tasks are in the store (one GROUP BY over the runs asked)."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        "SELECT r.run_id, r.state, count(t.id) AS tasks, coalesce(sum(t.expected), 0) AS expected,"
        " coalesce(sum(CASE WHEN t.gap > 0 AND t.gap_class != 'running' THEN t.gap END), 0)"
        "  AS missing,"
        " coalesce(sum(CASE WHEN t.gap > 0 AND t.gap_class = 'running' THEN t.gap END), 0)"
        "  AS to_go,"
        f" coalesce(sum(t.gap_class IN ({SHORT_SQL})), 0) AS short"
        f" FROM runs r LEFT JOIN tasks t ON t.run_id = r.run_id WHERE r.run_id IN ({marks})"
        " AND r.state != 'failed' GROUP BY r.run_id", ids).fetchall()
    return {r["run_id"]: StoredRunFigures(r["run_id"], r["state"], r["tasks"], r["expected"],
                                          r["expected"] - r["missing"] - r["to_go"], r["missing"],
                                          r["short"], r["to_go"])
            for r in rows if r["tasks"]}
