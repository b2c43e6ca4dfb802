"""Fetch every page of a run into the store: bounded concurrency, single flight, failed pages kept."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from ..store import Store
from ..upstream.client import LobstrClient
from ..upstream.envelopes import RunTaskPage
from ..upstream.errors import LobstrError
from ..upstream.errors import LobstrRateLimited

log = logging.getLogger(__name__)


class EmptyPageError(LobstrError):
    """lobstr answered an empty page before the run's last page."""

    kind = "bad_response"


def _is_zombie(pid: int) -> bool:
    """True when a process has ended but was not reaped yet (Linux /proc; False elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (command) state ...": the command may hold spaces and parentheses.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


class Loader:
    """Loads runs in background threads; at most one loader per run across threads and processes.

    The store's `runs` row is the lock: a loader claims it with a lease it renews after every
    page, so a second thread or gunicorn worker sees the run as loading and only reads; a lease
    left by a killed process expires and the next request resumes the load where it stopped.
    """

    def __init__(self, client: LobstrClient, store: Store, *, concurrency: int = 4,
                 page_size: int = 100, lease_seconds: float = 60.0,
                 track_load: Callable[[], AbstractContextManager[Any]] | None = None) -> None:
        self.client = client
        self.store = store
        self.concurrency = concurrency
        self.page_size = page_size
        self.lease_seconds = lease_seconds
        self._threads: dict[str, threading.Thread] = {}
        self._live: set[str] = set()
        # When lobstr's last 429 for a run (in this process) said it may be asked again.
        self._retry_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self.host = socket.gethostname()
        #: Wraps each load from start to end (the metrics' loads-in-flight gauge).
        self.track_load = track_load or nullcontext

    def owner_is_dead(self, owner: str) -> bool:
        """Tell whether a load's owner surely stopped (same host; its process or thread is gone).

        Owners on other hosts cannot be checked: their lease expiring is the only sign.
        """
        host, _, rest = owner.partition(":")
        pid_text, _, _token = rest.partition(":")
        if host != self.host or not pid_text.isascii() or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == os.getpid():
            # Ours, unless it is a previous process's that had the same pid (a restarted container).
            with self._lock:
                return owner not in self._live
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        # A killed process stays a zombie until its parent (or init) reaps it: dead all the same.
        return _is_zombie(pid)

    def start(self, run_id: str, *, fresh: bool, only_live: bool = False) -> bool:
        """Claim a run and load it in a background thread; False when someone else holds it.

        `only_live` (a live run's periodic refresh) fetches page 1, the pages that held running
        tasks and any new pages; pages whose tasks had all finished are kept as they are.
        """
        token = uuid.uuid4().hex[:12]
        owner = f"{self.host}:{os.getpid()}:{token}"
        with self._lock:
            self._live.add(owner)
        generation = self.store.claim(run_id, owner, self.lease_seconds, fresh=fresh,
                                      owner_is_dead=self.owner_is_dead)
        if generation is None:
            with self._lock:
                self._live.discard(owner)
            return False
        thread = threading.Thread(target=self.load, args=(run_id, generation, owner, only_live),
                                  name=f"load-{run_id[:8]}", daemon=True)
        with self._lock:
            self._threads[run_id] = thread
        thread.start()
        return True

    def join(self, run_id: str, timeout: float | None = None) -> None:
        """Wait for this process's loader of a run to end (tests, benchmarks)."""
        with self._lock:
            thread = self._threads.get(run_id)
        if thread is not None:
            thread.join(timeout)

    def retry_after(self, run_id: str) -> float | None:
        """Seconds until lobstr said a rate-limited load of the run may be tried again, if known."""
        with self._lock:
            moment = self._retry_at.get(run_id)
        return None if moment is None else max(0.0, moment - time.time())

    def load(self, run_id: str, generation: int, owner: str, only_live: bool = False) -> None:
        """Load every page of a run not yet loaded in `generation`; never raises."""
        try:
            with self.track_load():
                self._load(run_id, generation, owner, only_live)
        except LobstrError as exc:
            log.warning("loading run %s failed: %s", run_id, exc)
            if isinstance(exc, LobstrRateLimited) and exc.retry_after is not None:
                with self._lock:
                    self._retry_at[run_id] = time.time() + exc.retry_after
            self.store.fail_load(run_id, owner, exc.kind, exc.message, exc.status)
        except Exception:  # the thread must leave the run in a final state whatever happens
            log.exception("loading run %s crashed", run_id)
            self.store.fail_load(run_id, owner, "error", "the dashboard failed while loading", None)
        finally:
            with self._lock:
                self._threads.pop(run_id, None)
                self._live.discard(owner)

    def _load(self, run_id: str, generation: int, owner: str, only_live: bool) -> None:
        state = self.store.run_state(run_id)
        total_pages = state.total_pages if state else None
        page_size = (state.page_size if state else None) or self.page_size
        settled: list[int] = []
        if only_live and total_pages:
            live = self.store.live_pages(run_id, page_size)
            settled = [p for p in range(2, total_pages + 1) if p not in live]
        if total_pages is None or 1 in self.store.pages_to_fetch(run_id, generation, total_pages):
            # The first page tells the run's size; its failure fails the whole load.
            first = self.client.runtasks_page(run_id, 1, self.page_size, patient=True)
            page_size = first.limit
            total_pages = max(1, first.total_pages)
            self.store.set_totals(run_id, first.total_results, total_pages, page_size)
            self.store.save_page(run_id, generation, 1, page_size, first.rows, owner,
                                 self.lease_seconds)
        if settled and page_size == self.page_size:
            self.store.carry_pages(run_id, generation, [p for p in settled if p <= total_pages])
        todo = self.store.pages_to_fetch(run_id, generation, total_pages)
        self._fetch_pages(run_id, generation, owner, todo, total_pages, page_size)
        self.store.finish(run_id, owner)

    def _fetch_pages(self, run_id: str, generation: int, owner: str, todo: list[int],
                     total_pages: int, page_size: int) -> None:
        """Fetch pages concurrently; a page that keeps failing is recorded and costs only its rows."""
        known_pages = total_pages
        queue = list(todo)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"page-{run_id[:8]}") as pool:
            running: dict[Future[RunTaskPage], int] = {}

            def fill() -> None:
                while queue and len(running) < self.concurrency:
                    page = queue.pop(0)
                    running[pool.submit(self._fetch, run_id, page, known_pages)] = page

            while queue or running:
                fill()
                finished, _ = wait(running, timeout=self.lease_seconds / 4,
                                   return_when=FIRST_COMPLETED)
                if not finished:
                    # Pages can wait a minute for the rate limit: keep the claim on the run alive.
                    self.store.renew_lease(run_id, owner, self.lease_seconds)
                    continue
                results = [(running.pop(future), future) for future in finished]
                fill()  # keep requests in flight while this thread writes the finished pages
                for page, future in results:
                    try:
                        result = future.result()
                    except LobstrError as exc:
                        log.warning("run %s page %d failed: %s", run_id, page, exc)
                        self.store.fail_page(run_id, generation, page, str(exc))
                        continue
                    self.store.save_page(run_id, generation, page, page_size, result.rows,
                                         owner, self.lease_seconds)
                    if result.total_pages > known_pages:
                        # The run grew while we read it: fetch the new pages too.
                        queue.extend(range(known_pages + 1, result.total_pages + 1))
                        known_pages = result.total_pages
                        self.store.set_totals(run_id, result.total_results, known_pages, page_size)

    def _fetch(self, run_id: str, page: int, total_pages: int) -> RunTaskPage:
        """Fetch one page; an empty page before the last is retried once, then counted as failed."""
        result = self.client.runtasks_page(run_id, page, self.page_size, patient=True)
        if result.rows or page >= total_pages:
            return result
        result = self.client.runtasks_page(run_id, page, self.page_size, patient=True)
        if result.rows or page >= result.total_pages:
            return result
        raise EmptyPageError(f"lobstr answered page {page} empty, before the last page")
