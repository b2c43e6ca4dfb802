"""Gap classes: why each task has (or has not) the results lobstr expected. Pure Python.

This module holds the dashboard's one definition of a *short* task (`SHORT`, `is_short`): every
figure that counts short tasks (the summary, the facets, the verdict, the re-queue kit, the
digest and the `short=1` filter of the page and its exports) counts the classes in `SHORT`.

The store keeps each task's class in a column (computed when the row is saved), so the class
facet and filter are indexed queries; SQLite calls `classify` through a registered function to
fill the column for stores created before it existed.
"""

from __future__ import annotations

from . import reasons
from .tasks import is_live_status

COMPLETE = "complete"
RUNNING = "running"
ABORTED = "aborted"
ACCOUNT = "account"
SITE = "site"
OTHER = "other"
UNKNOWN = "unknown"
OVER = "over"

#: Class key → label, in display order.
CLASSES: dict[str, str] = {
    COMPLETE: "complete",
    RUNNING: "still running",
    ABORTED: "short — aborted",
    ACCOUNT: "short — account, credits or billing",
    SITE: "short — site or platform error",
    OTHER: "short — other",
    UNKNOWN: "expected unknown",
    OVER: "collected more than expected",
}

#: One sentence per class: how a task lands in it.
DESCRIPTIONS: dict[str, str] = {
    COMPLETE: "Collected exactly what lobstr expected (a task that expected 0 and ended normally "
              "counts as complete).",
    RUNNING: "Still pending or running (or its run waits for the next batch): not short and not "
             "missing anything yet, whatever it has collected so far.",
    ABORTED: "Stopped short because someone aborted the run or deactivated the squid.",
    ACCOUNT: "Stopped short by the platform account, or by lobstr credits, plan or invoices.",
    SITE: "Stopped short by the target site or lobstr's platform (down, maintenance, failed requests).",
    OTHER: "Fewer results than expected with no reason that explains it: a normal or undocumented "
           "done_reason, or an error status without a reason.",
    UNKNOWN: "Ended without a failure, but lobstr gave no expected (or collected) count, so "
             "whether it is short cannot be told. Not counted as short, and not summed as 0.",
    OVER: "Collected more results than lobstr expected.",
}

#: The classes of a *short* task: it has ended and collected fewer results than lobstr expected,
#: or it ended by a failure before lobstr counted what to expect. A task still running is never
#: short. The re-queue kit retries exactly these.
SHORT = (ABORTED, ACCOUNT, SITE, OTHER)
ENDED_SHORT = SHORT

#: The definition in words, shown where the count is.
SHORT_DEFINITION = ("A task is short when it has ended and collected fewer results than lobstr "
                    "expected, or ended by a failure before lobstr counted what to expect. Tasks "
                    "still running are never short.")

#: Each short class by its cause alone (the verdict: "41 % site or platform error").
CAUSES: dict[str, str] = {
    ABORTED: "aborted",
    ACCOUNT: "account, credits or billing",
    SITE: "site or platform error",
    OTHER: "other",
}

#: Task statuses that mean the task itself failed or was stopped.
FAILED_STATUSES = frozenset({"error", "failed", "aborted", "cancelled", "canceled"})
#: Of those, the ones that say someone stopped it (short — aborted, when the reason says no more).
STOPPED_STATUSES = frozenset({"aborted", "cancelled", "canceled"})

_GROUP_CLASS = {
    reasons.USER: ABORTED,
    reasons.ACCOUNT: ACCOUNT,
    reasons.BILLING: ACCOUNT,
    reasons.SITE: SITE,
    reasons.RUNNING: RUNNING,
}


def ended_normally(status: str | None, done_reason: str | None) -> bool:
    """True when the task's reason (or, without one, its status) says it ran to its end."""
    if done_reason is not None:
        return reasons.group_of(done_reason) == reasons.FINISHED
    return (status or "").lower() in ("completed", "done")


def classify(status: str | None, done_reason: str | None, expected: int | None,
             collected: int | None) -> str:
    """Return the gap class key of one task.

    In order: a live status → still running (whatever it collected so far); more than expected →
    over; exactly what was expected (above 0, or 0 on a normal ending) → complete; a failure
    reason or status without a known shortfall, or a known shortfall → short, by the reason's
    group (then by status); otherwise (no expected count, nothing failed) → expected unknown.
    """
    if is_live_status(status):
        return RUNNING
    if expected is not None and collected is not None:
        if collected > expected:
            return OVER
        if collected == expected and (expected > 0 or ended_normally(status, done_reason)):
            return COMPLETE
    group = reasons.group_of(done_reason)
    failed = group in reasons.STOPPED_GROUPS or (status or "").lower() in FAILED_STATUSES
    short = expected is not None and collected is not None and collected < expected
    if not (short or failed):
        return UNKNOWN
    if group in _GROUP_CLASS:
        return _GROUP_CLASS[group]
    if (status or "").lower() in STOPPED_STATUSES:
        return ABORTED
    return OTHER


def is_short(status: str | None, done_reason: str | None, expected: int | None,
             collected: int | None) -> bool:
    """True when the task is short (see SHORT): the one test behind every short count."""
    return classify(status, done_reason, expected, collected) in SHORT


def label(key: str | None) -> str:
    """The label of a class key (the key itself when unknown)."""
    return CLASSES.get(key or "", key or "—")
