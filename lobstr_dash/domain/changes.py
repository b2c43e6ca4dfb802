"""Diff two runs task by task: what regressed, what improved, what is in one run only. Pure Python.

Run A is the baseline (usually the previous run of the squid), run B the run under study. Tasks
are paired by their squid task id, then leftovers by equal params; the store does the pairing and
calls `change_kind` (registered as an SQLite function) to label each pair, so counts, filters,
sorts and pages are queries (store/pairs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import gapclass
from .query import TaskQuery

NEW_FAILURE = "new_failure"
DROPPED = "dropped"
REASON_CHANGED = "reason_changed"
IMPROVED = "improved"
SAME = "same"
ONLY_A = "only_a"
ONLY_B = "only_b"

#: Change kind → label, in the order of severity the default sort uses.
KINDS: dict[str, str] = {
    NEW_FAILURE: "new failure",
    DROPPED: "collected dropped",
    REASON_CHANGED: "done_reason changed",
    IMPROVED: "improved",
    ONLY_A: "only in run A",
    ONLY_B: "only in run B",
    SAME: "unchanged",
}

DESCRIPTIONS: dict[str, str] = {
    NEW_FAILURE: "Stopped in B (aborted, account, billing, site, or an error status) but not in A.",
    DROPPED: "Collected fewer results in B than in A.",
    REASON_CHANGED: "Same results, but B ended with another done_reason.",
    IMPROVED: "Collected more in B, or ended short in A but completely in B.",
    ONLY_A: "An input of run A that run B did not have.",
    ONLY_B: "An input new in run B.",
    SAME: "Same results and the same done_reason.",
}

#: Kinds that make B worse than A.
REGRESSIONS = (NEW_FAILURE, DROPPED, REASON_CHANGED)

_FINISHED_WELL = frozenset({gapclass.COMPLETE, gapclass.OVER})


def _failed(klass: str | None, status: str | None) -> bool:
    """Ended short by a stop (abort, account, billing, site) or an error status: a failure.

    A task that completed normally with fewer results is short ("other") but did not fail: from
    one run to the next it shows as a drop in what was collected.
    """
    if klass in (gapclass.ABORTED, gapclass.ACCOUNT, gapclass.SITE):
        return True
    return klass == gapclass.OTHER and (status or "").lower() in gapclass.FAILED_STATUSES


def change_kind(in_a: object, in_b: object, a_class: str | None, a_reason: str | None,
                a_status: str | None, a_collected: int | None, b_class: str | None,
                b_reason: str | None, b_status: str | None, b_collected: int | None) -> str:
    """Label one pair of tasks; the most severe change wins (new failure, drop, then the rest)."""
    if not in_b:
        return ONLY_A
    if not in_a:
        return ONLY_B
    counts_known = a_collected is not None and b_collected is not None
    if _failed(b_class, b_status) and not _failed(a_class, a_status):
        return NEW_FAILURE
    if counts_known and b_collected < a_collected:  # type: ignore[operator]
        return DROPPED
    if (counts_known and b_collected > a_collected) or (  # type: ignore[operator]
            _failed(a_class, a_status) and b_class in _FINISHED_WELL):
        return IMPROVED
    if (a_reason or None) != (b_reason or None):
        return REASON_CHANGED
    return SAME


def severity(kind: str) -> int:
    """Sort rank of a kind: 0 for the most severe."""
    keys = list(KINDS)
    return keys.index(kind) if kind in KINDS else len(keys)


@dataclass(frozen=True)
class Side:
    """One run's task in a pair (None fields when the task is absent from that run)."""

    id: str
    position: int
    status: str | None
    done_reason: str | None
    expected: int | None
    collected: int | None
    gap_class: str | None


@dataclass(frozen=True)
class Pair:
    """Two tasks (or one) joined across runs, with what changed."""

    a: Side | None
    b: Side | None
    #: How the pair was made: "task" (same task id), "params" (same params), or None (one side).
    via: str | None
    kind: str
    url: str | None
    params: dict[str, object]

    @property
    def delta(self) -> int | None:
        """Collected in B minus collected in A, when both are known."""
        if self.a is None or self.b is None or self.a.collected is None or self.b.collected is None:
            return None
        return self.b.collected - self.a.collected

    @property
    def label(self) -> str:
        """The kind's label."""
        return KINDS.get(self.kind, self.kind)


#: Public sort keys of a comparison (`?sort=`); "change" orders by severity, then the drop.
SORT_KEYS = ("change", "delta", "a_collected", "b_collected", "a_expected", "b_expected",
             "position", "input", "reason")
#: Sorts whose natural first click is "largest first".
DESCENDING_FIRST = frozenset({"a_collected", "b_collected", "a_expected", "b_expected"})


@dataclass(frozen=True)
class CompareQuery:
    """Filters (applied to either run's task), change kinds, sort and page of a comparison."""

    filters: TaskQuery = field(default_factory=TaskQuery)
    kinds: tuple[str, ...] = ()
    sort: str = "change"
    descending: bool = False
    page: int = 1
    per_page: int = 100


@dataclass(frozen=True)
class ComparePage:
    """One page of pairs, the counts per kind under the filters, and the total matching."""

    pairs: list[Pair]
    counts: dict[str, int]
    matching: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages."""
        return max(1, -(-self.matching // self.per_page))

    @property
    def total(self) -> int:
        """Pairs under the filters, every kind."""
        return sum(self.counts.values())
