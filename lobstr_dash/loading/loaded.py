"""A run as the store holds it now (its load record and task summary), and what is missing."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.tasks import RunSummary
from ..domain.tasks import position_range
from ..store import LoadRecord


#: Whose fault a failed page is, in the order the banner names them.
FAULTS = ("lobstr", "storage", "dashboard")


@dataclass(frozen=True)
class MissingRows:
    """Failed pages that are one party's fault, and the rows they hold."""

    #: "lobstr" (its answers kept failing), "storage" (the dashboard's disk or database) or
    #: "dashboard" (an error in the dashboard, logged on the server).
    fault: str
    pages: tuple[int, ...]
    ranges: list[tuple[int, int]]

    @property
    def blame(self) -> str:
        """Whose fault, in words."""
        return {"lobstr": "lobstr's answers kept failing for",
                "storage": "the dashboard could not store (its disk or database failed)",
                "dashboard": "the dashboard failed reading (an error on our side, logged)",
                }[self.fault]


@dataclass(frozen=True)
class LoadedRun:
    """A run as the store holds it now: its load record and the summary of its stored tasks."""

    record: LoadRecord
    summary: RunSummary

    @property
    def loading(self) -> bool:
        """True while pages are still being fetched."""
        return self.record.is_loading

    @property
    def refreshing(self) -> bool:
        """True while a run loaded before is fetched again: its earlier rows stay on show."""
        return self.record.is_loading and self.record.fetched_at is not None

    @property
    def incomplete(self) -> bool:
        """True when the figures do not cover the whole run (loading, or pages failed)."""
        if self.refreshing:
            return False
        return self.record.phase != "done"

    @property
    def missing_ranges(self) -> list[tuple[int, int]]:
        """Positions (1-based, inclusive) of the rows whose pages failed to load."""
        size = self.record.page_size or 100
        return [position_range(p, size, self.record.total_results)
                for p in self.record.failed_pages]

    @property
    def missing_rows(self) -> int:
        """How many rows the failed pages hold."""
        return sum(last - first + 1 for first, last in self.missing_ranges)

    @property
    def missing_by_fault(self) -> list[MissingRows]:
        """The failed pages grouped by whose fault they are (lobstr's answer, or the dashboard)."""
        size = self.record.page_size or 100
        groups = []
        for fault in FAULTS:
            pages = self.record.failed_pages_of(fault)
            if pages:
                groups.append(MissingRows(fault, pages, [
                    position_range(p, size, self.record.total_results) for p in pages]))
        return groups

    @property
    def implausible_claim(self) -> int | None:
        """The page count lobstr claimed when the dashboard read fewer (implausible, or a lie)."""
        claimed = self.record.claimed_pages
        return claimed if claimed and claimed > (self.record.total_pages or 0) else None

    @property
    def unaccounted_rows(self) -> int:
        """Rows lobstr reported that neither arrived nor belong to a failed page."""
        total = self.record.total_results
        if total is None or self.loading or self.record.plan_warning:
            return 0
        return max(0, total - self.record.rows_stored - self.missing_rows)

    @property
    def plan_limited_rows(self) -> int:
        """Tasks lobstr reported but did not return because of the account's plan (its cap)."""
        total = self.record.total_results
        if total is None or not self.record.plan_warning:
            return 0
        return max(0, total - self.record.rows_stored - self.missing_rows)

    @property
    def pages_total(self) -> int | None:
        """The run's page count, once the first page told it."""
        return self.record.total_pages

    @property
    def seen(self) -> str:
        """A token that changes whenever the stored data of the run changes (status polls)."""
        record = self.record
        return f"{record.generation}.{record.phase}.{record.pages_done}.{record.fetched_at or 0:.0f}"
