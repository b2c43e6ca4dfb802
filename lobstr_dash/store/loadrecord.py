"""What the store knows about loading one run: its phase, size, pages done and failed, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadRecord:
    """What the store knows about loading one run."""

    run_id: str
    #: loading | done | partial (some pages failed) | failed (nothing could be read).
    phase: str
    generation: int
    total_results: int | None
    total_pages: int | None
    page_size: int | None
    started_at: float | None
    finished_at: float | None
    fetched_at: float | None
    is_live: bool
    owner: str | None
    lease_until: float | None
    error_kind: str | None
    error_message: str | None
    error_status: int | None
    pages_done: int = 0
    pages_failed: int = 0
    rows_stored: int = 0
    failed_pages: tuple[int, ...] = ()
    #: Whose fault each failed page is, in `failed_pages` order: "lobstr" (its answer),
    #: "storage" (the dashboard's disk or database) or "dashboard" (a bug, logged).
    failed_faults: tuple[str, ...] = ()
    #: The page count lobstr declared, when it is more than the pages read (implausible).
    claimed_pages: int | None = None
    #: Loads of this run that failed in a row (they back off; 0 after a good load).
    failures: int = 0
    #: Tasks whose counts lobstr sent past MAX_COUNT (stored clamped).
    implausible_tasks: int = 0
    #: lobstr's warning on the run's list (a free plan's export cap), verbatim.
    plan_warning: str | None = None
    #: When lobstr was last asked whether this finished run changed (GET /v1/runs/{run}).
    checked_at: float | None = None
    #: When the dashboard learnt that lobstr reopened the run (a resurrect, a retry, or a recheck).
    reopened_at: float | None = None

    def failed_pages_of(self, fault: str) -> tuple[int, ...]:
        """The failed pages that are `fault`'s fault."""
        return tuple(p for p, f in zip(self.failed_pages, self.failed_faults, strict=True)
                     if f == fault)

    @property
    def is_loading(self) -> bool:
        """True while a loader holds the run."""
        return self.phase == "loading"

    @property
    def is_complete(self) -> bool:
        """True when every page of the current generation loaded."""
        return self.phase == "done"

    @property
    def reopened_since_fetch(self) -> bool:
        """True when lobstr reopened the run after its tasks were last read."""
        return self.reopened_at is not None and self.reopened_at > (self.fetched_at or 0)
