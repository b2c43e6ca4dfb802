"""The run context service: a run's own object and stats from lobstr, cached in the store.

`GET /v1/runs/{id}` and `GET /v1/runs/{id}/stats` are fetched in a background thread, so a
slow or failing lobstr never holds up the task table; a page waits only briefly for them. The
answer is kept in the store's `run_context` table with the load generation it belongs to:
- a run whose status is final (done, aborted, error) is fetched once, and again only when its
  tasks are fetched again by hand ("Refresh now" starts a new generation);
- an unfinished run's context is fetched again when it is older than the live refresh interval;
- after a failure, the next attempt waits `retry_seconds`, and the last good answer stays shown.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .client import LobstrClient
from .errors import LobstrError
from .runinfo import RunContext
from .store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContextAnswer:
    """The run context as known now: parsed data (maybe stale), the last error, a fetch in flight."""

    context: RunContext
    error: str | None
    pending: bool
    fetched_at: float | None

    @property
    def available(self) -> bool:
        """True when some part of the context was fetched at least once."""
        return not self.context.is_empty


class RunContextService:
    """Fetches and caches run contexts; at most one fetch per run in flight in this process."""

    def __init__(self, client: LobstrClient, store: Store, *, refresh_seconds: float,
                 retry_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str, wait: float) -> ContextAnswer:
        """Return the cached context, fetching it first (waiting up to `wait` s) when it is due."""
        row = self._row(run_id)
        if self._due(run_id, row):
            thread = self._start(run_id)
            if thread is not None and wait > 0:
                thread.join(wait)
            row = self._row(run_id)
        return self._answer(run_id, row)

    def join(self, run_id: str, timeout: float | None = None) -> None:
        """Wait for this process's fetch of a run to end (tests)."""
        with self._lock:
            thread = self._threads.get(run_id)
        if thread is not None:
            thread.join(timeout)

    # -- when to fetch ---------------------------------------------------------------------

    def _row(self, run_id: str) -> Any:
        return self.store.connection().execute(
            "SELECT * FROM run_context WHERE run_id = ?", (run_id,)).fetchone()

    def _generation(self, run_id: str) -> int | None:
        row = self.store.connection().execute(
            "SELECT generation FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else int(row[0])

    def _due(self, run_id: str, row: Any) -> bool:
        now = self._clock()
        if row is not None and row["failed_at"] is not None and now - row["failed_at"] < self.retry_seconds:
            return False  # it just failed: do not hammer lobstr on every poll
        if row is None or (row["run_json"] is None and row["stats_json"] is None):
            return True
        if row["generation"] != self._generation(run_id):
            return True  # the tasks were fetched again: so is their context
        context = RunContext.from_api(_loads(row["run_json"]), _loads(row["stats_json"]))
        if context.is_terminal and row["stats_json"] is not None and row["error_kind"] is None:
            return False
        return now - (row["fetched_at"] or 0) >= self.refresh_seconds

    def _start(self, run_id: str) -> threading.Thread | None:
        with self._lock:
            running = self._threads.get(run_id)
            if running is not None and running.is_alive():
                return running
            thread = threading.Thread(target=self._fetch, args=(run_id,),
                                      name=f"context-{run_id[:8]}", daemon=True)
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
                    log.warning("run context %s of %s failed: %s", name, run_id, exc)
                    errors.append((exc.kind, f"{name}: {exc.message}"))
            # Read after the calls: a first view claims the run's load while these are in flight.
            self._save(run_id, self._generation(run_id), parts, errors)
        except Exception:  # a background thread must never die silently with the run half-saved
            log.exception("run context fetch of %s crashed", run_id)
            self._save(run_id, None, {}, [("error", "the dashboard failed while reading it")])
        finally:
            with self._lock:
                if self._threads.get(run_id) is threading.current_thread():
                    self._threads.pop(run_id, None)

    def _save(self, run_id: str, generation: int | None, parts: dict[str, Any],
              errors: list[tuple[str, str]]) -> None:
        now = self._clock()
        kind = errors[0][0] if errors else None
        message = "; ".join(text for _kind, text in errors) or None
        with self.store.transaction(immediate=True) as conn:
            conn.execute("INSERT OR IGNORE INTO run_context (run_id) VALUES (?)", (run_id,))
            if "run" in parts:
                conn.execute("UPDATE run_context SET run_json = ? WHERE run_id = ?",
                             (json.dumps(parts["run"], ensure_ascii=False), run_id))
            if "stats" in parts:
                conn.execute("UPDATE run_context SET stats_json = ? WHERE run_id = ?",
                             (json.dumps(parts["stats"], ensure_ascii=False), run_id))
            if parts:
                conn.execute("UPDATE run_context SET generation = ?, fetched_at = ? WHERE run_id = ?",
                             (generation, now, run_id))
            conn.execute(
                "UPDATE run_context SET error_kind = ?, error_message = ?, failed_at = ?"
                " WHERE run_id = ?", (kind, message, now if errors else None, run_id))

    def _answer(self, run_id: str, row: Any) -> ContextAnswer:
        with self._lock:
            thread = self._threads.get(run_id)
            pending = thread is not None and thread.is_alive()
        if row is None:
            return ContextAnswer(RunContext(), None, pending, None)
        context = RunContext.from_api(_loads(row["run_json"]), _loads(row["stats_json"]))
        return ContextAnswer(context, row["error_message"], pending, row["fetched_at"])


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
