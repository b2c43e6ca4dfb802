"""Fetch every page of a run into the store: bounded concurrency, single flight, failed pages kept."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from ..store import Store
from ..store.health import MESSAGES
from ..upstream.client import LobstrClient
from ..upstream.envelopes import RunTaskPage
from ..upstream.errors import LobstrError
from ..upstream.errors import LobstrRateLimited
from .clients import LoadsBusy
from .clients import current_client
from .owners import process_is_dead
from .pagefetch import EmptyPageError
from .pagefetch import claimed_pages
from .pagefetch import fetch_page
from .pagebook import MAX_PAGES
from .pagebook import PageBook

log = logging.getLogger(__name__)


class Loader:
    """Loads runs in background threads; at most one loader per run across threads and processes.

    The store's `runs` row is the lock: a loader claims it with a lease it renews after every
    page, so a second thread or gunicorn worker sees the run as loading and only reads; a lease
    left by a killed process expires and the next request resumes the load where it stopped.

    Threads are bounded: loads run on a pool of `max_loads` threads and are admitted only while
    one is free (and while the asking client holds fewer than `loads_per_client`); their pages
    share one pool of `concurrency × 2` threads, queueing when several runs load at once.
    """

    def __init__(self, client: LobstrClient, store: Store, *, concurrency: int = 4,
                 page_size: int = 100, lease_seconds: float = 60.0,
                 track_load: Callable[[], AbstractContextManager[Any]] | None = None,
                 max_pages: int = MAX_PAGES, max_loads: int = 8,
                 loads_per_client: int = 3) -> None:
        self.client = client
        self.store = store
        self.concurrency = concurrency
        self.page_size = page_size
        self.lease_seconds = lease_seconds
        self.max_pages = max_pages
        self.max_loads = max_loads
        self.loads_per_client = loads_per_client
        self._threads: dict[str, Future[None]] = {}
        self._clients: dict[str, str] = {}
        self._live: set[str] = set()
        # When lobstr's last 429 for a run (in this process) said it may be asked again.
        self._retry_at: dict[str, float] = {}
        # Re-entrant: the claim (which may ask owner_is_dead) runs under it, so that a second
        # request for a run never sees it neither claimed nor loading.
        self._lock = threading.RLock()
        self._loads = ThreadPoolExecutor(max_loads, thread_name_prefix="load")
        self._pages = ThreadPoolExecutor(concurrency * 2, thread_name_prefix="page")
        self.host = socket.gethostname()
        #: Wraps each load from start to end (the metrics' loads-in-flight gauge).
        self.track_load = track_load or nullcontext
        #: This process's heartbeat in a shared store (loading/heartbeat.py); None on SQLite.
        self.heartbeat: Any = None

    def owner_is_dead(self, owner: str) -> bool:
        """Tell whether a load's owner surely stopped (same host; its process or thread is gone).

        Owners on other hosts are dead when their process's heartbeat lapsed (replicas sharing
        PostgreSQL); without one, their lease expiring is the only sign.
        """
        host, _, rest = owner.partition(":")
        pid_text, _, _token = rest.partition(":")
        if host != self.host and self.heartbeat is not None and pid_text:
            return self.heartbeat.lapsed(host, pid_text)
        if host != self.host or not pid_text.isascii() or not pid_text.isdigit():
            return False
        if int(pid_text) == os.getpid():
            # Ours, unless it is a previous process's that had the same pid (a restarted container).
            with self._lock:
                return owner not in self._live
        return process_is_dead(int(pid_text))

    def loading(self) -> int:
        """Loads running in this process now."""
        with self._lock:
            return len(self._threads)

    def start(self, run_id: str, *, fresh: bool, only_live: bool = False,
              client: str | None = None) -> bool:
        """Claim a run and load it in the background; False when someone else holds it.

        `only_live` (a live run's periodic refresh) fetches page 1, the pages that held running
        tasks and any new pages; pages whose tasks had all finished are kept as they are.
        Raises LoadsBusy when this process runs `max_loads` loads, or `client` its share of them.
        """
        client = client or current_client()
        if self.heartbeat is not None:
            self.heartbeat.ensure_running()  # before our first lease: others can see us alive
        with self._lock:
            if run_id in self._threads:
                return False
            self._admit(client)
            owner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
            self._live.add(owner)
            try:
                generation = self.store.claim(run_id, owner, self.lease_seconds, fresh=fresh,
                                              owner_is_dead=self.owner_is_dead)
            except BaseException:
                self._live.discard(owner)
                raise
            if generation is None:
                self._live.discard(owner)
                return False
            self._clients[run_id] = client
            self._threads[run_id] = self._loads.submit(self.load, run_id, generation, owner,
                                                       only_live)
        return True

    def _admit(self, client: str) -> None:
        """Refuse a new load past the caps (called under the lock)."""
        if len(self._threads) >= self.max_loads:
            raise LoadsBusy(f"the dashboard is already loading {len(self._threads)} runs, its "
                            "most at once; try again in a moment")
        mine = sum(1 for c in self._clients.values() if c == client)
        if mine >= self.loads_per_client:
            raise LoadsBusy(f"you are already loading {mine} runs, the most one visitor may "
                            "load at once; try again when one is done")

    def _release(self, run_id: str, owner: str) -> None:
        with self._lock:
            self._threads.pop(run_id, None)
            self._clients.pop(run_id, None)
            self._live.discard(owner)

    def join(self, run_id: str, timeout: float | None = None) -> None:
        """Wait for this process's loader of a run to end (tests, benchmarks)."""
        with self._lock:
            future = self._threads.get(run_id)
        if future is not None:
            wait([future], timeout)

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
            self._fail_load(run_id, owner, exc.kind, exc.message, exc.status)
        except Exception as exc:  # the thread must leave the run in a final state whatever happens
            kind = self.store.guard(exc)
            if kind is not None:
                log.error("loading run %s stopped: the store failed (%s): %s", run_id, kind, exc)
                self._fail_load(run_id, owner, "store_" + kind, MESSAGES[kind], None)
            else:
                log.exception("loading run %s crashed", run_id)
                self._fail_load(run_id, owner, "error", "the dashboard failed while loading", None)
        finally:
            self._release(run_id, owner)

    def _fail_load(self, run_id: str, owner: str, kind: str, message: str,
                   status: int | None) -> None:
        try:
            self.store.fail_load(run_id, owner, kind, message, status)
        except Exception as exc:  # a store that cannot write cannot record its own failure
            log.error("could not record the failed load of run %s: %s", run_id, exc)

    def _load(self, run_id: str, generation: int, owner: str, only_live: bool) -> None:
        state = self.store.run_state(run_id)
        total_pages = min(state.total_pages, self.max_pages) if state and state.total_pages \
            else None
        page_size = (state.page_size if state else None) or self.page_size
        settled: list[int] = []
        if only_live and total_pages:
            live = self.store.live_pages(run_id, page_size)
            settled = [p for p in range(2, total_pages + 1) if p not in live]
        if total_pages is None or 1 in self.store.pages_to_fetch(run_id, generation, total_pages):
            # The first page tells the run's size; its failure fails the whole load.
            first = self.client.runtasks_page(run_id, 1, self.page_size, patient=True)
            page_size = first.limit
            total_pages = min(max(1, first.total_pages), self.max_pages)
            self.store.set_totals(run_id, first.total_results, total_pages, page_size,
                                  claimed_pages(first, total_pages))
            self.store.save_page(run_id, generation, 1, page_size, first.rows, owner,
                                 self.lease_seconds)
            if first.warning:
                self.store.set_plan_warning(run_id, first.warning)
                if len(first.rows) < page_size:
                    # The plan's cap is within page 1: lobstr returns nothing past it.
                    self.store.drop_pages_after(run_id, generation, 1)
                    self.store.finish(run_id, owner)
                    return
        if settled and page_size == self.page_size:
            self.store.carry_pages(run_id, generation, [p for p in settled if p <= total_pages])
        todo = self.store.pages_to_fetch(run_id, generation, total_pages)
        self._fetch_pages(run_id, generation, owner, todo, total_pages, page_size)
        self.store.finish(run_id, owner)

    def _fetch_pages(self, run_id: str, generation: int, owner: str, todo: Iterator[int],
                     total_pages: int, page_size: int) -> None:
        """Fetch pages `concurrency` at a time; whatever goes wrong with one page (lobstr's answer,
        the store, a bug) is recorded as that page's failure and costs only its rows."""
        pages = PageBook(todo, total_pages)
        running: dict[Future[RunTaskPage], int] = {}

        def fill() -> None:
            while len(running) < self.concurrency and (page := pages.next()) is not None:
                running[self._pages.submit(fetch_page, self.client, run_id, page, pages.known,
                                          self.page_size)] = page

        fill()
        while running:
            finished, _ = wait(running, timeout=self.lease_seconds / 4, return_when=FIRST_COMPLETED)
            if not finished:
                # Pages can wait a minute for the rate limit: keep the claim on the run alive.
                self.store.renew_lease(run_id, owner, self.lease_seconds)
                continue
            results = [(running.pop(future), future) for future in finished]
            fill()  # keep requests in flight while this thread writes the finished pages
            for page, future in results:
                self._settle(run_id, generation, owner, page, page_size, future, pages)
            fill()
        if pages.ended_at is not None:
            log.warning("run %s: lobstr claimed %d pages but its list ended at page %d",
                        run_id, pages.known, pages.ended_at)
            self.store.drop_pages_after(run_id, generation, pages.ended_at)
        if pages.capped_after is not None:
            # Pages past a plan's cap are not failures: lobstr will not return them.
            self.store.drop_pages_after(run_id, generation, max(1, pages.capped_after))
        for page in pages.abandoned():
            self.store.fail_page(run_id, generation, page, f"not fetched: {pages.breaker}")

    def _settle(self, run_id: str, generation: int, owner: str, page: int, page_size: int,
                future: Future[RunTaskPage], pages: PageBook) -> None:
        """Store one finished page, or record its failure and whose fault it was."""
        try:
            result = future.result()
        except LobstrError as exc:
            log.warning("run %s page %d failed: %s", run_id, page, exc)
            pages.failed(page, empty=isinstance(exc, EmptyPageError))
            self.store.fail_page(run_id, generation, page, str(exc), "lobstr")
            return
        except Exception as exc:
            log.exception("run %s page %d: the dashboard failed reading it", run_id, page)
            pages.failed(page, empty=False)
            self.store.fail_page(run_id, generation, page, f"dashboard error ({type(exc).__name__})",
                                 "dashboard")
            return
        try:
            self.store.save_page(run_id, generation, page, page_size, result.rows, owner,
                                 self.lease_seconds)
        except Exception as exc:
            kind = self.store.guard(exc)
            if kind == "corrupt":
                raise  # the file was dropped with this load's claim: stop here
            fault = "dashboard" if kind is None else "storage"
            log.log(logging.ERROR, "run %s page %d could not be stored (%s): %s", run_id, page,
                    kind or type(exc).__name__, exc, exc_info=kind is None)
            pages.failed(page, empty=False)
            self.store.fail_page(run_id, generation, page,
                                 MESSAGES[kind] if kind else f"could not be stored "
                                 f"({type(exc).__name__})", fault)
            return
        pages.succeeded(page, len(result.rows))
        if result.warning:
            self.store.set_plan_warning(run_id, result.warning)
            if len(result.rows) < page_size:
                pages.capped(page, len(result.rows))
                return
        grown = min(result.total_pages, self.max_pages)
        if grown > pages.known:
            # The run grew while we read it: fetch the new pages too.
            pages.grow(grown)
            self.store.set_totals(run_id, result.total_results, grown, page_size,
                                  claimed_pages(result, grown))
