"""SQL aggregates behind the reason cards, the gap-class facet, the charts and the runs list.

Every figure here is one GROUP BY (or a window over the matching rows) in SQLite: nothing loads
a run's rows into Python, so a 100,000-task run costs a few aggregates per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from .charts import Timeline
from .charts import TimelineBar
from .model import LIVE_STATUSES
from .reasons import ReasonCard
from .reasons import build_cards
from .store import Store
from .store import TaskQuery

_LIVE = ",".join(f"'{s}'" for s in sorted(LIVE_STATUSES))

T = TypeVar("T")
_cache: dict[tuple[str, str, str, Any], tuple[tuple[Any, ...], Any]] = {}
_cache_lock = threading.Lock()
CACHE_SIZE = 512


def cached(store: Store, run_id: str, name: str, key: Any, compute: Callable[[], T]) -> T:
    """Compute a figure once per finished load of a run (a load in progress is never cached)."""
    row = store.connection().execute(
        "SELECT generation, state, fetched_at, finished_at FROM runs WHERE run_id = ?",
        (run_id,)).fetchone()
    if row is None or row["state"] == "loading":
        return compute()
    stamp = tuple(row)
    slot = (str(store.path), run_id, name, key)
    with _cache_lock:
        hit = _cache.get(slot)
    if hit is not None and hit[0] == stamp:
        return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _cache_lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[slot] = (stamp, value)
    return value


def filters_key(query: TaskQuery) -> tuple[Any, ...]:
    """The part of a query the aggregates depend on (not its sort or page)."""
    return (query.statuses, query.reasons, query.short_only, query.text, query.classes)


def class_counts(store: Store, run_id: str) -> dict[str, int]:
    """Tasks per gap class of a whole run (the facet), from the class index."""
    rows = store.connection().execute(
        "SELECT gap_class, count(*) FROM tasks WHERE run_id = ? GROUP BY gap_class", (run_id,))
    return {r[0]: r[1] for r in rows if r[0] is not None}


def reason_cards(store: Store, run_id: str) -> list[ReasonCard]:
    """One card per done_reason present in the run, with its tasks and missing results."""
    conn = store.connection()
    rows = [dict(r) for r in conn.execute(
        "SELECT done_reason AS reason, count(*) AS tasks,"
        " coalesce(sum(CASE WHEN gap > 0 THEN gap END), 0) AS missing,"
        " coalesce(sum(gap > 0), 0) AS short,"
        f" coalesce(sum(lower(status) IN ({_LIVE})), 0) AS live,"
        " coalesce(sum(expected IS NULL), 0) AS unknown"
        " FROM tasks WHERE run_id = ? GROUP BY done_reason", (run_id,))]
    # One example description per reason, from the small partial index of rows that have one.
    examples = dict(conn.execute(
        "SELECT done_reason, min(done_reason_desc) FROM tasks"
        " WHERE run_id = ? AND done_reason_desc IS NOT NULL GROUP BY done_reason", (run_id,)).fetchall())
    for row in rows:
        row["desc"] = examples.get(row["reason"])
    return build_cards(rows)


def completeness_buckets(store: Store, run_id: str, query: TaskQuery) -> dict[int, int]:
    """Matching tasks per completeness bucket (see BUCKET_*), one GROUP BY."""
    where, args = store._where(run_id, query)
    rows = store.connection().execute(
        "SELECT CASE WHEN expected IS NULL OR collected IS NULL THEN -1"
        " WHEN collected > expected THEN 11"
        " WHEN collected = expected THEN 10"
        " ELSE min(9, (collected * 10) / expected) END AS bucket, count(*) AS n"
        f" FROM tasks WHERE {where} GROUP BY bucket", args)
    return {int(r["bucket"]): int(r["n"]) for r in rows}


def missing_by_reason(store: Store, run_id: str, query: TaskQuery) -> list[tuple[str | None, int, int]]:
    """(done_reason, missing results, tasks short) of the matching tasks, most missing first."""
    where, args = store._where(run_id, query)
    rows = store.connection().execute(
        "SELECT done_reason, coalesce(sum(CASE WHEN gap > 0 THEN gap END), 0) AS missing,"
        " coalesce(sum(gap > 0), 0) AS short"
        f" FROM tasks WHERE {where} GROUP BY done_reason"
        " ORDER BY missing DESC, short DESC, done_reason", args)
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


def timeline(store: Store, run_id: str, query: TaskQuery, *, buckets: int = 60,
             sample: int = 300) -> Timeline | None:
    """The matching tasks' timeline, or None when no task has a start time.

    Concurrency is exact (bucketed counts of starts and ends over every task); the bars are at most
    `sample` tasks taken evenly in start order.
    """
    where, args = store._where(run_id, query)
    conn = store.connection()
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
        f"  FROM tasks WHERE {where} AND started_at IS NOT NULL)"
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

    @property
    def percent_complete(self) -> float | None:
        """Share of the known expected results collected, 0..100."""
        if self.expected <= 0:
            return None
        return 100.0 * (self.expected - self.missing) / self.expected


def stored_runs(store: Store, run_ids: Iterable[str]) -> dict[str, StoredRunFigures]:
    """Figures of those runs whose tasks are in the store (one GROUP BY over the runs asked)."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = store.connection().execute(
        "SELECT r.run_id, r.state, count(t.id) AS tasks, coalesce(sum(t.expected), 0) AS expected,"
        " coalesce(sum(CASE WHEN t.gap > 0 THEN t.gap END), 0) AS missing,"
        " coalesce(sum(t.gap > 0), 0) AS short"
        f" FROM runs r LEFT JOIN tasks t ON t.run_id = r.run_id WHERE r.run_id IN ({marks})"
        " AND r.state != 'failed' GROUP BY r.run_id", ids).fetchall()
    return {r["run_id"]: StoredRunFigures(r["run_id"], r["state"], r["tasks"], r["expected"],
                                          r["expected"] - r["missing"], r["missing"], r["short"])
            for r in rows if r["tasks"]}



def count(store: Store, run_id: str, query: TaskQuery) -> int:
    """How many tasks match a query's filters."""
    where, args = store._where(run_id, query)
    return int(store.connection().execute(f"SELECT count(*) FROM tasks WHERE {where}", args).fetchone()[0])


def param_keys(store: Store, run_id: str, query: TaskQuery) -> list[str]:
    """The param keys of the matching tasks: `url` first, then by first appearance in the run."""
    where, args = store._where(run_id, query)
    rows = store.connection().execute(
        "SELECT j.key FROM tasks, json_each(tasks.params_json) AS j"
        f" WHERE {where} AND json_type(tasks.params_json) = 'object'"
        " GROUP BY j.key ORDER BY j.key != 'url', min(tasks.position), j.key", args)
    return [str(r[0]) for r in rows]
