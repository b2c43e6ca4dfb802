"""The runs service: make sure a run is loaded (or loading), then answer from the store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..store import LoadRecord
from ..store import Store
from ..store import StoreFault
from ..upstream.errors import ERRORS_BY_KIND
from ..upstream.errors import LobstrError
from ..upstream.errors import LobstrRateLimited
from .clients import LoadsBusy
from .loaded import LoadedRun
from .loader import Loader
from .runinfo import RunInfoAnswer
from .runinfo import RunInfoFetcher

#: While a visit waits for another loader, how often it checks that loader is still alive.
TAKEOVER_CHECK_SECONDS = 1.0

#: A run of more pages than this loads for seconds: its page shows the first rows at once.
BIG_RUN_PAGES = 10
#: A short grace before showing a partial page, so a page that is about to finish is not split.
FIRST_ROWS_GRACE = 0.3
#: Longest a page waits for the run info before rendering without it (it shows up later).
RUN_INFO_WAIT_SECONDS = 2.0
#: The longest back-off after failed loads, in multiples of the first (30 s → 5 min).
BACKOFF_CEILING = 10
#: How often failed runs past their back-off are deleted (at most; on a new run's first visit).
PRUNE_EVERY_SECONDS = 60.0
#: How often (at most) the runs opened are written down and retention evicts what is due.
RETAIN_EVERY_SECONDS = 60.0


class RunService:
    """Starts and awaits loads (and run-info fetches) and reads runs from the store."""

    def __init__(self, store: Store, loader: Loader, info: RunInfoFetcher, *,
                 live_refresh_seconds: float, clock: Callable[[], float] = time.time,
                 retry_seconds: float = 30.0, finished_recheck_seconds: float = 300.0,
                 store_max_bytes: int | None = None,
                 store_keep_seconds: float | None = None) -> None:
        self.store = store
        self.loader = loader
        self.info_fetcher = info
        self.live_refresh_seconds = live_refresh_seconds
        #: A failed load waits this long before the next automatic one, doubling per failure in
        #: a row up to BACKOFF_CEILING times as long; an unknown run id waits that ceiling. 0: off.
        self.retry_seconds = retry_seconds
        self.finished_recheck_seconds = finished_recheck_seconds
        self._clock = clock
        self._pruned_at = 0.0
        #: Retention's limits (None: keep everything), and when runs were opened since last pass.
        self.store_max_bytes = store_max_bytes
        self.store_keep_seconds = store_keep_seconds
        self._opened: dict[str, float] = {}
        self._retained_at = self._clock()
        self._retaining = threading.Lock()

    def ensure(self, run_id: str, wait: float, *, first_rows: bool = False) -> LoadedRun:
        """Start a load when the store lacks the run or a live run is stale; wait up to `wait` s.

        A finished run whose pages all loaded is answered from the store with no upstream call.
        With `first_rows`, a big run's page answers as soon as its first rows are in, rather
        than waiting the whole `wait` for a load that will take longer anyway.
        Raises the upstream's LobstrError when the run could not be loaded and nothing is stored.
        """
        deadline = time.monotonic() + wait
        self._opened[run_id] = self._clock()
        self._retain_now_and_then()
        record = self.store.run_state(run_id)
        if record is None:
            self._prune()
        elif self._recheck_due(record) and self.store.claim_recheck(
                run_id, self.finished_recheck_seconds):
            self._recheck(run_id, record.fetched_at, deadline)
            record = self.store.run_state(run_id)
        if self._needs_load(record):
            # A live run's periodic refresh re-reads only the pages that can still change.
            only_live = (record is not None and record.is_live and record.phase in ("done", "partial")
                         and not record.reopened_since_fetch)
            self.loader.start(run_id, fresh=self._needs_fresh(record), only_live=only_live)
        record = self._await(run_id, deadline, first_rows)
        return self._loaded(record)

    def _recheck_due(self, record: LoadRecord | None) -> bool:
        """A finished run not asked about for FINISHED_RECHECK_SECONDS: lobstr may have reopened it.
        0 turns rechecks off."""
        if self.finished_recheck_seconds <= 0:
            return False
        if record is None or record.is_loading or record.is_live:
            return False
        if record.phase not in ("done", "partial"):
            return False
        last = max(record.checked_at or 0.0, record.fetched_at or 0.0)
        return self._clock() - last >= self.finished_recheck_seconds

    def _recheck(self, run_id: str, tasks_read_at: float | None, deadline: float) -> None:
        """Ask lobstr (one GET /v1/runs/{run}) within the page's wait; a slow answer still counts later."""
        def check() -> None:
            if self.info_fetcher.recheck(run_id, tasks_read_at):
                self.store.mark_reopened(run_id)

        thread = threading.Thread(target=check, name=f"recheck-{run_id[:8]}", daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - time.monotonic()))

    def ensure_with_info(self, run_id: str, wait: float, *,
                         first_rows: bool = False) -> tuple[LoadedRun, RunInfoAnswer]:
        """`ensure`, plus the run's own info fetched alongside, within the same wait.

        The info waits at most RUN_INFO_WAIT_SECONDS of it: a slow /v1/runs never holds the
        table up for long, and it shows up on a later poll.
        """
        deadline = time.monotonic() + wait
        record = self.store.run_state(run_id)
        # A run that just failed with nothing stored (an unknown id, most often) costs no call.
        resting = record is not None and record.phase == "failed" and not record.rows_stored \
            and self.backoff_left(record) > 0
        thread = None if resting else self.info_fetcher.start(run_id)
        loaded = self.ensure(run_id, wait, first_rows=first_rows)
        if thread is not None:
            thread.join(max(0.0, min(deadline - time.monotonic(), RUN_INFO_WAIT_SECONDS)))
        return loaded, self.info_fetcher.answer(run_id)

    def info(self, run_id: str, wait: float) -> RunInfoAnswer:
        """The run's own info, fetched when due (waiting up to `wait` s)."""
        return self.info_fetcher.get(run_id, min(wait, RUN_INFO_WAIT_SECONDS))

    def known_info(self, run_id: str) -> RunInfoAnswer:
        """The run's own info as kept now, without asking lobstr."""
        return self.info_fetcher.answer(run_id)

    def refresh(self, run_id: str, *, only_failed: bool) -> bool:
        """Fetch a run again now (all pages, or only the failed ones); False if a load is running."""
        return self.loader.start(run_id, fresh=not only_failed)

    def status(self, run_id: str) -> LoadedRun:
        """Return the current state without starting anything; raises when nothing is known."""
        record = self.store.run_state(run_id)
        if record is None:
            raise LobstrError("this run has not been loaded yet")
        return self._loaded(record)

    def backoff_left(self, record: LoadRecord) -> float:
        """Seconds before a failed load of the run is tried again by a visit (0: now)."""
        if record.phase != "failed" or not self.retry_seconds:
            return 0.0
        ceiling = self.retry_seconds * BACKOFF_CEILING
        wait = min(ceiling, self.retry_seconds * 2 ** max(0, min(record.failures, 16) - 1))
        if record.error_kind == "not_found":
            wait = ceiling
        return max(0.0, (record.finished_at or 0.0) + wait - self._clock())

    def _prune(self) -> None:
        """Now and then, forget runs that failed with nothing stored once their back-off is over."""
        now = self._clock()
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            self.store.prune_failed(now - self.retry_seconds * BACKOFF_CEILING)

    def _retain_now_and_then(self) -> None:
        """Every RETAIN_EVERY_SECONDS, in the background: write down the runs opened, and evict
        what retention says is due (a page never waits for either, nor for the write lock)."""
        now = self._clock()
        if now - self._retained_at >= RETAIN_EVERY_SECONDS:
            self._retained_at = now
            threading.Thread(target=self.retain, name="retention", daemon=True).start()

    def retain(self) -> list[str]:
        """Write down when runs were opened, then evict by STORE_KEEP_DAYS and STORE_MAX_MB."""
        if not self._retaining.acquire(blocking=False):
            return []  # a pass is under way
        try:
            opened, self._opened = self._opened, {}
            self.store.touch(opened)
            return self.store.evict(max_bytes=self.store_max_bytes,
                                    keep_seconds=self.store_keep_seconds)
        except StoreFault:
            return []  # a full or read-only disk: the health check says so; pages go on
        finally:
            self._retaining.release()

    def _needs_load(self, record: LoadRecord | None) -> bool:
        now = self._clock()
        if record is None:
            return True
        if record.phase == "failed":
            return self.backoff_left(record) <= 0
        if record.is_loading:
            # A lease that ran out, or an owner process that is gone, means the loader died:
            # take the run over and resume it.
            return (record.lease_until or 0) <= now or self.loader.owner_is_dead(record.owner or "")
        if record.reopened_since_fetch:
            return True  # lobstr reopened it: read it again, as a live run
        if record.is_live:
            return now - (record.fetched_at or 0) >= self.live_refresh_seconds
        return False

    @staticmethod
    def _needs_fresh(record: LoadRecord | None) -> bool:
        """Resume an interrupted load; start over only for a finished (live) run's refresh."""
        if record is None or record.is_loading:
            return False
        if record.phase == "failed":
            return record.rows_stored > 0
        return True  # a live run's refresh, or a run lobstr reopened: a new generation

    def _await(self, run_id: str, deadline: float, first_rows: bool = False) -> LoadRecord:
        """Poll the store until the load is over or the (monotonic) deadline passed."""
        started = time.monotonic()
        delay = 0.01
        takeover_check = started + TAKEOVER_CHECK_SECONDS
        while True:
            record = self.store.run_state(run_id)
            if record is not None and not record.is_loading:
                break
            if time.monotonic() >= deadline or record is None:
                break
            if time.monotonic() >= takeover_check:
                # The loader we wait for may have died meanwhile (its process, its host's
                # heartbeat, or its lease): take the run over rather than wait out the lease.
                takeover_check = time.monotonic() + TAKEOVER_CHECK_SECONDS
                if self._needs_load(record):
                    try:
                        self.loader.start(run_id, fresh=False)
                    except LoadsBusy:
                        pass  # this process is full: another visit (or replica) will resume it
            if (first_rows and record.rows_stored and (record.total_pages or 0) > BIG_RUN_PAGES
                    and time.monotonic() - started >= FIRST_ROWS_GRACE):
                break
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.1)
        if record is None:
            raise LobstrError("the run could not be loaded")
        if record.phase == "failed" and record.rows_stored == 0:
            kind = record.error_kind or "error"
            if kind.startswith("store_"):
                raise StoreFault(kind.removeprefix("store_"))
            error_type = ERRORS_BY_KIND.get(kind, LobstrError)
            message = record.error_message or "lobstr could not be read"
            if issubclass(error_type, LobstrRateLimited):
                # A 503 for rate limiting says when to come back (the Retry-After header):
                # lobstr's own wait when this process heard it, or the back-off, else a second.
                wait = max(1.0, self.loader.retry_after(run_id) or 0.0,
                           self.backoff_left(record))
                raise LobstrRateLimited(message, status=record.error_status, retry_after=wait)
            error = error_type(message, status=record.error_status)
            # Visits within the back-off answer from this record: say when to come back.
            error.retry_after = self.backoff_left(record) or None  # type: ignore[attr-defined]
            raise error
        return record

    def _loaded(self, record: LoadRecord) -> LoadedRun:
        return LoadedRun(record=record, summary=self.store.summary(record.run_id))
