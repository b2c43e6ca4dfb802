"""The runs service: make sure a run is loaded (or loading), then answer from the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ERRORS_BY_KIND
from .errors import LobstrError
from .errors import LobstrRateLimited
from .loader import Loader
from .model import RunSummary
from .model import position_range
from .store import RunState
from .store import Store


@dataclass(frozen=True)
class RunStatus:
    """A run's load state and summary, ready for a page: what is known and what is missing."""

    state: RunState
    summary: RunSummary

    @property
    def loading(self) -> bool:
        """True while pages are still being fetched."""
        return self.state.is_loading

    @property
    def refreshing(self) -> bool:
        """True while a run loaded before is fetched again: its earlier rows stay on show."""
        return self.state.is_loading and self.state.fetched_at is not None

    @property
    def partial(self) -> bool:
        """True when the figures do not cover the whole run."""
        if self.refreshing:
            return False
        return self.state.state != "done"

    @property
    def missing_ranges(self) -> list[tuple[int, int]]:
        """Positions (1-based, inclusive) of the rows whose pages failed to load."""
        size = self.state.page_size or 100
        return [position_range(p, size, self.state.total_results) for p in self.state.failed_pages]

    @property
    def missing_rows(self) -> int:
        """How many rows the failed pages hold."""
        return sum(last - first + 1 for first, last in self.missing_ranges)

    @property
    def unaccounted_rows(self) -> int:
        """Rows lobstr reported that neither arrived nor belong to a failed page."""
        total = self.state.total_results
        if total is None or self.loading:
            return 0
        return max(0, total - self.state.rows_stored - self.missing_rows)

    @property
    def pages_total(self) -> int | None:
        """The run's page count, once the first page told it."""
        return self.state.total_pages


#: A run of more pages than this loads for seconds: its page shows the first rows at once.
BIG_RUN_PAGES = 10
#: A short grace before showing a partial page, so a page that is about to finish is not split.
FIRST_ROWS_GRACE = 0.3


class RunService:
    """Starts and awaits loads and reads runs from the store; views call only this."""

    def __init__(self, store: Store, loader: Loader, *, live_refresh_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.loader = loader
        self.live_refresh_seconds = live_refresh_seconds
        self._clock = clock

    def ensure(self, run_id: str, wait: float, *, first_rows: bool = False) -> RunStatus:
        """Start a load when the store lacks the run or a live run is stale; wait up to `wait` s.

        A finished run whose pages all loaded is answered from the store with no upstream call.
        With `first_rows`, a big run's page answers as soon as its first rows are in, rather
        than waiting the whole `wait` for a load that will take longer anyway.
        Raises the upstream's LobstrError when the run could not be loaded and nothing is stored.
        """
        state = self.store.run_state(run_id)
        if self._needs_load(state):
            # A live run's periodic refresh re-reads only the pages that can still change.
            only_live = state is not None and state.is_live and state.state in ("done", "partial")
            self.loader.start(run_id, fresh=self._needs_fresh(state), only_live=only_live)
        state = self._await(run_id, wait, first_rows)
        return self._status(state)

    def refresh(self, run_id: str, *, only_failed: bool) -> bool:
        """Fetch a run again now (all pages, or only the failed ones); False if a load is running."""
        return self.loader.start(run_id, fresh=not only_failed)

    def status(self, run_id: str) -> RunStatus:
        """Return the current state without starting anything; raises when nothing is known."""
        state = self.store.run_state(run_id)
        if state is None:
            raise LobstrError("this run has not been loaded yet")
        return self._status(state)

    def _needs_load(self, state: RunState | None) -> bool:
        now = self._clock()
        if state is None or state.state == "failed":
            return True
        if state.is_loading:
            # A lease that ran out, or an owner process that is gone, means the loader died:
            # take the run over and resume it.
            return (state.lease_until or 0) <= now or self.loader.owner_is_dead(state.owner or "")
        if state.is_live:
            return now - (state.fetched_at or 0) >= self.live_refresh_seconds
        return False

    @staticmethod
    def _needs_fresh(state: RunState | None) -> bool:
        """Resume an interrupted load; start over only for a finished (live) run's refresh."""
        if state is None or state.is_loading:
            return False
        if state.state == "failed":
            return state.rows_stored > 0
        return True

    def _await(self, run_id: str, wait: float, first_rows: bool = False) -> RunState:
        """Poll the store until the load is over or `wait` seconds passed."""
        started = time.monotonic()
        deadline = started + wait
        delay = 0.01
        while True:
            state = self.store.run_state(run_id)
            if state is not None and not state.is_loading:
                break
            if time.monotonic() >= deadline or state is None:
                break
            if (first_rows and state.rows_stored and (state.total_pages or 0) > BIG_RUN_PAGES
                    and time.monotonic() - started >= FIRST_ROWS_GRACE):
                break
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.1)
        if state is None:
            raise LobstrError("the run could not be loaded")
        if state.state == "failed" and state.rows_stored == 0:
            error_type = ERRORS_BY_KIND.get(state.error_kind or "error", LobstrError)
            message = state.error_message or "lobstr could not be read"
            if issubclass(error_type, LobstrRateLimited):
                # A 503 for rate limiting says when to come back (the Retry-After header):
                # lobstr's own wait when this process heard it, else a second.
                wait = max(1.0, self.loader.retry_after(run_id) or 0.0)
                raise LobstrRateLimited(message, status=state.error_status, retry_after=wait)
            raise error_type(message, status=state.error_status)
        return state

    def _status(self, state: RunState) -> RunStatus:
        return RunStatus(state=state, summary=self.store.summary(state.run_id))
