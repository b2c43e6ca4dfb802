"""The run-debugging model: one run task, its gap, and a run's summary. Pure Python."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .values import as_count
from .values import is_implausible
from .values import as_text
from .values import parse_timestamp

#: Task statuses that mean "not finished yet": a run holding any of them is live.
LIVE_STATUSES = frozenset({
    "pending", "queued", "waiting", "created", "scheduled", "starting",
    "running", "in_progress", "paused", "uploading",
})


def is_live_status(status: str | None) -> bool:
    """Tell whether a task status means the task may still change."""
    return (status or "").lower() in LIVE_STATUSES


def task_gap(expected: int | None, collected: int | None) -> int | None:
    """Return expected − collected, or None when either side is unknown."""
    if expected is None or collected is None:
        return None
    return expected - collected


def missing_share(expected: int | None, collected: int | None) -> float | None:
    """Return the share of expected results that is missing (0..1), or None when unknown."""
    gap = task_gap(expected, collected)
    if gap is None:
        return None
    if expected == 0 or gap <= 0:
        return 0.0
    return gap / expected  # type: ignore[operator]


def completeness(expected: int | None, collected: int | None) -> float | None:
    """Return collected ÷ expected (above 1 when over-collected), or None when unknown."""
    if expected is None or collected is None:
        return None
    if expected == 0:
        return 1.0
    return collected / expected


#: The fields of a runtask row read as counts.
COUNT_FIELDS = ("total_results", "last_result", "total_pages", "last_page")


@dataclass(frozen=True)
class RunTask:
    """One task of one run as lobstr's /v1/runtasks reports it, tolerant of missing fields."""

    id: str
    run: str | None = None
    task: str | None = None
    status: str | None = None
    done_reason: str | None = None
    done_reason_desc: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    ended_at: float | None = None
    expected: int | None = None
    collected: int | None = None
    total_pages: int | None = None
    last_page: int | None = None
    last_collection_at: float | None = None
    #: Counts lobstr sent past MAX_COUNT, as sent (field name, text): stored clamped, shown as such.
    implausible: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> RunTask:
        """Build a task from one `data[]` row; raises ValueError when it has no usable id."""
        task_id = row.get("id")
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValueError("runtask row without an id")
        params = row.get("params")
        return cls(
            id=task_id.strip(),
            run=as_text(row.get("run"), 64),
            task=as_text(row.get("task"), 64),
            status=as_text(row.get("status"), 64),
            done_reason=as_text(row.get("done_reason"), 128),
            done_reason_desc=as_text(row.get("done_reason_desc")),
            params=params if isinstance(params, Mapping) else ({} if params is None else {"value": params}),
            started_at=parse_timestamp(row.get("started_at")),
            ended_at=parse_timestamp(row.get("ended_at")),
            expected=as_count(row.get("total_results")),
            collected=as_count(row.get("last_result")),
            total_pages=as_count(row.get("total_pages")),
            last_page=as_count(row.get("last_page")),
            last_collection_at=parse_timestamp(row.get("last_collection_at")),
            implausible=tuple((name, str(row.get(name))[:40]) for name in COUNT_FIELDS
                              if is_implausible(row.get(name))),
        )

    @property
    def gap(self) -> int | None:
        """Results expected but not collected (negative when more were collected)."""
        return task_gap(self.expected, self.collected)

    @property
    def missing_share(self) -> float | None:
        """Share of the expected results that is missing, 0..1."""
        return missing_share(self.expected, self.collected)

    @property
    def completeness(self) -> float | None:
        """Collected ÷ expected."""
        return completeness(self.expected, self.collected)

    @property
    def duration(self) -> float | None:
        """Seconds between start and end, when both are known and in order."""
        if self.started_at is None or self.ended_at is None or self.ended_at < self.started_at:
            return None
        return self.ended_at - self.started_at

    @property
    def is_live(self) -> bool:
        """True while the task may still collect results."""
        return is_live_status(self.status)

    @property
    def url(self) -> str | None:
        """The task's input URL (`params.url`), when it has one."""
        value = self.params.get("url")
        return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class RunSummary:
    """Totals of a run's tasks: counts by status, done_reason and gap class, expected vs collected.

    "Short" and "missing" follow the one definition of gapclass.SHORT: a task still running is
    neither, however little it has collected so far; what it has still to collect is `to_go`.
    """

    tasks: int = 0
    by_status: Mapping[str, int] = field(default_factory=dict)
    by_reason: Mapping[str | None, int] = field(default_factory=dict)
    #: Tasks per gap class key (gapclass.CLASSES): the facet counts, from the same read.
    by_class: Mapping[str, int] = field(default_factory=dict)
    #: Sum of expected over tasks whose expected is known.
    expected: int = 0
    #: Tasks whose expected count lobstr did not give (any class): never summed as 0.
    without_expected: int = 0
    #: Tasks of the "expected unknown" class: ended without a failure and without an expected
    #: (or collected) count, so whether they are short cannot be told.
    expected_unknown: int = 0
    collected: int = 0
    #: Results the short tasks failed to collect (sum of their known gaps).
    missing: int = 0
    #: Results the tasks still running have yet to collect (not missing: they may still come).
    to_go: int = 0
    #: Sum of results collected beyond expectations.
    over_collected: int = 0
    tasks_short: int = 0
    #: Short tasks whose shortfall is not known (ended by a failure before lobstr counted).
    short_uncounted: int = 0
    tasks_over: int = 0
    tasks_live: int = 0

    @property
    def percent_complete(self) -> float | None:
        """Share of the known expected results that was collected, 0..100 (over-collection not counted)."""
        if self.expected <= 0:
            return None
        return 100.0 * (self.expected - self.missing - self.to_go) / self.expected

    @property
    def collected_of_expected(self) -> int:
        """Results collected towards the known expected ones (over-collection not counted)."""
        return self.expected - self.missing - self.to_go

    @property
    def tasks_ended(self) -> int:
        """Tasks that are no longer running."""
        return self.tasks - self.tasks_live

    @property
    def is_live(self) -> bool:
        """True while some task may still change."""
        return self.tasks_live > 0


def position_range(page: int, page_size: int, total: int | None) -> tuple[int, int]:
    """Return the 1-based first and last row positions an upstream page covers."""
    first = (page - 1) * page_size + 1
    last = page * page_size
    if total is not None:
        last = min(last, total)
    return first, max(first, last)


def params_key(params: Any) -> str:
    """A short key of a task's params that ignores key order: equal inputs get equal keys."""
    canonical = json.dumps(params, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha1(canonical.encode("utf-8"), usedforsecurity=False).hexdigest()


def search_text(params: Any) -> str:
    """Lower-cased text of a task's params that the text filter searches."""
    if isinstance(params, dict):
        parts = [f"{k} {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                 for k, v in params.items()]
        return " ".join(parts).lower()
    return json.dumps(params, ensure_ascii=False).lower()
