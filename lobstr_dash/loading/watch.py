"""Polling for teams lobstr cannot reach: a run of a watched squid that finished becomes an event.

One process polls at a time: it holds the `watch` lease in the store and renews it each round; if
it dies, another takes over once the lease runs out. A round reads `GET /v1/runs?squid=` (newest
page) for each watched squid through the shared client, so it spends the same per-minute budget as
everything else. The first look at a squid only records its runs: a run is news when it is seen
finished after having been seen live, or not at all before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from ..domain.runinfo import TERMINAL_STATUSES
from ..store import Store
from ..upstream.errors import LobstrError
from ..upstream.errors import LobstrRateLimited
from .lists import Lists

log = logging.getLogger(__name__)

LEASE = "watch"
#: Runs read per squid and round: the newest page holds whatever finished since the last round.
RUNS_PER_ROUND = 50

Accept = Callable[[str, str, str, str | None], bool]


class Watcher:
    """Polls the watched squids every `interval` seconds (one process at a time)."""

    def __init__(self, lists: Lists, store: Store, accept: Accept, squids: list[str] | None, *,
                 interval: float, owner: str, is_run: Callable[[str], bool],
                 clock: Callable[[], float] = time.time) -> None:
        self.lists = lists
        self.store = store
        self.accept = accept
        #: Squid ids, or None for every squid of the account.
        self.squids = squids
        self.interval = interval
        self.owner = owner
        self.is_run = is_run
        self.clock = clock

    def next_due(self) -> float:
        """When the next round is due (wall clock)."""
        return (self.store.lease_mark(LEASE) or 0.0) + self.interval

    def poll_if_due(self) -> bool:
        """Poll once when due and this process leads; True when it polled."""
        if self.clock() < self.next_due():
            return False
        # Twice the interval: a leader that misses one round by a little keeps its place.
        if not self.store.take_lease(LEASE, self.owner, self.interval * 2):
            return False
        # Marked before polling: a round that crashes is not retried in a tight loop.
        self.store.set_lease_mark(LEASE, self.clock())
        events = 0
        for squid_id, key in self._targets():
            try:
                events += self._poll(squid_id, key)
            except LobstrRateLimited as exc:
                log.warning("watch: lobstr's budget is used up; the rest waits a round (%s)", exc)
                break
            except LobstrError as exc:
                log.warning("watch: runs of squid %s unreadable: %s", squid_id, exc)
        if events:
            log.info("watch: %d newly finished run(s)", events)
        return True

    def _targets(self) -> Iterator[tuple[str, str | None]]:
        """(squid, key of its last run) to poll; with `all`, only squids whose last run changed."""
        if self.squids is not None:
            yield from ((squid_id, None) for squid_id in self.squids)
            return
        try:
            squids = list(self.lists.all_squids(""))
        except LobstrError as exc:
            log.warning("watch: the squid list is unreadable: %s", exc)
            return
        for squid in squids:
            if not squid.id:
                continue
            key = f"{squid.last_run_at}|{squid.last_run_status}"
            watched = self.store.watched_squid(squid.id)
            if watched is None or watched[1] != key:
                yield squid.id, key

    def _poll(self, squid_id: str, key: str | None) -> int:
        """Read a squid's newest runs; hand over the newly finished; return how many."""
        first_look = self.store.watched_squid(squid_id) is None
        runs = [r for r in self.lists.runs_page(squid_id, 1, RUNS_PER_ROUND).runs
                if r.id and self.is_run(r.id)]
        seen = self.store.seen_runs(r.id for r in runs if r.id)
        events = 0
        for run in runs:
            status = (run.status or "").lower()
            before = seen.get(run.id or "", "unseen")
            if first_look or status not in TERMINAL_STATUSES or before in TERMINAL_STATUSES:
                continue
            event = "run.error" if status == "error" else "run.done"
            if self.accept(run.id or "", event, "poll", squid_id):
                events += 1
        self.store.see_runs((r.id or "", squid_id, (r.status or "").lower() or None) for r in runs)
        self.store.watch_squid(squid_id, key)
        return events
