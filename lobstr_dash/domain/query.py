"""What a task query asks (filters, sort, page) and what it answers (rows, a page). Pure Python.

The store turns a `TaskFilter` into SQL; the web layer reads a `TaskQuery` from the query string
and writes it back into links. Sort keys here are the public names of the URL contract; the store
maps each to the column it orders by.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .gapclass import ENDED_SHORT

#: Value of the done_reason filter that selects tasks without a done_reason.
NO_REASON = "(none)"

#: Public sort keys of the task table, in the URL contract (`?sort=`).
SORT_KEYS = ("gap", "missing", "expected", "collected", "status", "reason", "input", "started",
             "ended", "duration", "position")

#: A gap-class value no task has: the re-queue query when the filters exclude every short class.
NO_CLASS = "(none)"

#: Sorts whose natural first click is "largest first".
DESCENDING_FIRST = frozenset({"gap", "missing", "expected", "collected", "duration"})


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks of a run match: each part narrows the set; an empty part matches everything."""

    statuses: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    short_only: bool = False
    text: str = ""
    #: Gap class keys (gapclass.CLASSES); empty means every class.
    classes: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the filter matches every task."""
        return not (self.statuses or self.reasons or self.short_only or self.text or self.classes)


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

    @property
    def filter(self) -> TaskFilter:
        """The filtering part of the query (what aggregates depend on; not its sort or page)."""
        return TaskFilter(self.statuses, self.reasons, self.short_only, self.text, self.classes)

    @property
    def filtered(self) -> bool:
        """True when some filter narrows the tasks."""
        return not self.filter.is_empty


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

    @property
    def first_position(self) -> int:
        """1-based index (in the matching set) of this page's first row."""
        return (self.page - 1) * self.per_page + 1

    @property
    def last_position(self) -> int:
        """1-based index (in the matching set) of this page's last row."""
        return (self.page - 1) * self.per_page + len(self.rows)


def requeue_query(query: TaskQuery) -> TaskQuery:
    """The tasks a re-queue kit retries: those that ended short, within the query's filters."""
    wanted = [c for c in (query.classes or ENDED_SHORT) if c in ENDED_SHORT]
    return replace(query, classes=tuple(wanted) or (NO_CLASS,), page=1)
