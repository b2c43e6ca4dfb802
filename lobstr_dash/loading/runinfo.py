"""The run-info fetcher: a run's own object and stats from lobstr, kept in the store.

`GET /v1/runs/{id}` and `GET /v1/runs/{id}/stats` are fetched in a background thread, so a slow or
failing lobstr never holds up the task table; a page waits only briefly for them. What arrives is
kept in the store with the load generation it belongs to:
- a run whose status is final (done, aborted, error) is fetched once, and again only when its
  tasks are fetched again by hand ("Refresh now" starts a new generation);
- an unfinished run's info is fetched again when it is older than the live refresh interval;
- after a failure, the next attempt waits `retry_seconds`, and the last good answer stays shown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..domain.runinfo import RunDetails
from ..domain.runinfo import RunInfo
from ..store import RunInfoRecord
from ..store import Store
from ..upstream.client import LobstrClient
from ..upstream.errors import LobstrError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfoAnswer:
    """The run info as known now: parsed data (maybe stale), the last error, a fetch in flight."""

    info: RunInfo
    error: str | None
    pending: bool
    fetched_at: float | None

    @property
    def available(self) -> bool:
        """True when some part of the run info was fetched at least once."""
        return not self.info.is_empty


class RunInfoFetcher:
    """Fetches and keeps run info; at most one fetch per run in flight in this process."""

    def __init__(self, client: LobstrClient, store: Store, *, refresh_seconds: float,
                 retry_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, run_id: str) -> threading.Thread | None:
        """Start a fetch when one is due (or join the one in flight); None when none is needed."""
        if not self._due(run_id, self.store.run_info(run_id)):
            return None
        return self._start(run_id)

    def get(self, run_id: str, wait: float) -> RunInfoAnswer:
        """Return the kept run info, fetching it first (waiting up to `wait` s) when it is due."""
        thread = self.start(run_id)
        if thread is not None and wait > 0:
            thread.join(wait)
        return self.answer(run_id)

    def answer(self, run_id: str) -> RunInfoAnswer:
        """The run info as kept now, without fetching."""
        with self._lock:
            thread = self._threads.get(run_id)
            pending = thread is not None and thread.is_alive()
        record = self.store.run_info(run_id)
        if record is None:
            return RunInfoAnswer(RunInfo(), None, pending, None)
        return RunInfoAnswer(RunInfo.from_api(record.run, record.stats), record.error_message,
                             pending, record.fetched_at)

    def recheck(self, run_id: str, tasks_read_at: float | None) -> bool:
        """Ask lobstr for the run object once; True when the run changed since its tasks were read.

        A finished run can reopen (a resurrect, a retry): its status, end, done_reason, results
        or duration then differ from what the store holds, or lobstr says it is active, or that it
        ended after `tasks_read_at`. The new object is kept either way.
        """
        try:
            body = self.client.get_json(f"runs/{run_id}")
        except LobstrError as exc:
            log.warning("recheck of finished run %s failed: %s", run_id, exc)
            return False
        record = self.store.run_info(run_id)
        known = RunDetails.from_api(record.run) if record is not None and record.run else None
        fresh = RunDetails.from_api(body)
        self.store.save_run_info(run_id, record.generation if record else None, {"run": body}, [],
                                 self._clock())
        if fresh.status is not None and not fresh.is_terminal:
            return True  # active again
        if fresh.ended_at is not None and tasks_read_at is not None and fresh.ended_at > tasks_read_at:
            return True  # it ended again after its tasks were read
        return known is not None and _summary_of_run(known) != _summary_of_run(fresh)

    def join(self, run_id: str, timeout: float | None = None) -> None:
        """Wait for this process's fetch of a run to end (tests)."""
        with self._lock:
            thread = self._threads.get(run_id)
        if thread is not None:
            thread.join(timeout)

    # -- when to fetch ---------------------------------------------------------------------

    def _due(self, run_id: str, record: RunInfoRecord | None) -> bool:
        now = self._clock()
        if record is not None and record.failed_at is not None \
                and now - record.failed_at < self.retry_seconds:
            return False  # it just failed: do not hammer lobstr on every poll
        if record is None or (record.run is None and record.stats is None):
            return True
        if record.generation != self.store.generation(run_id):
            return True  # the tasks were fetched again: so is their info
        info = RunInfo.from_api(record.run, record.stats)
        if info.is_terminal and record.stats is not None and record.error_kind is None:
            return False
        return now - (record.fetched_at or 0) >= self.refresh_seconds

    def _start(self, run_id: str) -> threading.Thread:
        with self._lock:
            running = self._threads.get(run_id)
            if running is not None and running.is_alive():
                return running
            thread = threading.Thread(target=self._fetch, args=(run_id,),
                                      name=f"runinfo-{run_id[:8]}", daemon=True)
            self._threads[run_id] = thread
        thread.start()
        return thread

    # -- fetching --------------------------------------------------------------------------

    def _fetch(self, run_id: str) -> None:
        """Fetch the run and its stats; keep whichever part arrived; never raises."""
        try:
            parts: dict[str, Any] = {}
            errors: list[tuple[str, str]] = []
            for name, path in (("run", f"runs/{run_id}"), ("stats", f"runs/{run_id}/stats")):
                try:
                    parts[name] = self.client.get_json(path)
                except LobstrError as exc:
                    log.warning("run info %s of %s failed: %s", name, run_id, exc)
                    errors.append((exc.kind, f"{name}: {exc.message}"))
            # Read after the calls: a first view claims the run's load while these are in flight.
            self.store.save_run_info(run_id, self.store.generation(run_id), parts, errors,
                                     self._clock())
        except Exception:  # a background thread must never die silently with the run half-saved
            log.exception("run info fetch of %s crashed", run_id)
            self.store.save_run_info(run_id, None, {},
                                     [("error", "the dashboard failed while reading it")],
                                     self._clock())
        finally:
            with self._lock:
                if self._threads.get(run_id) is threading.current_thread():
                    self._threads.pop(run_id, None)


def _summary_of_run(run: RunDetails) -> tuple[object, ...]:
    """What tells whether lobstr changed a finished run: status, end, reason, results, duration."""
    return (run.status, run.ended_at, run.done_reason, run.total_results,
            None if run.duration is None else round(run.duration, 3))
