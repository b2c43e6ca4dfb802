"""lobstr's lists read for the browsing pages: squids, a squid's runs, and the run before a run.

These pages show lobstr's own lists as they are now, so they are read through on every request
(one page at a time, or every page for an export) and never stored. The one exception is the run
before a run (`previous_known`): it never changes once found, so the run page asks for it in the
background once and remembers it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.runinfo import RunDetails
from ..domain.squids import SquidRow
from ..upstream.client import LobstrClient
from ..upstream.envelopes import Envelope
from ..upstream.envelopes import parse_envelope
from ..upstream.errors import LobstrError

#: Upstream pages an export of a list reads at most (100 rows each).
EXPORT_MAX_PAGES = 20
#: Pages of a squid's runs searched for the run before the one asked about.
PREVIOUS_MAX_PAGES = 10
#: Runs whose previous run is remembered (the least recently asked go first).
PREVIOUS_MEMO_SIZE = 4096
#: `previous_known`'s answer while the search has not ended (or failed).
UNKNOWN = "?"


@dataclass(frozen=True)
class RunsPage:
    """One page of a squid's runs, newest first, with lobstr's counters."""

    runs: list[RunDetails]
    envelope: Envelope


def newest_first(runs: list[RunDetails]) -> list[RunDetails]:
    """lobstr lists runs newest first; keep that order even if a page comes back shuffled."""
    def key(run: RunDetails) -> float:
        moment = run.started_at or run.created_at
        return -(moment if moment is not None else float("-inf"))
    return sorted(runs, key=key)


class Lists:
    """Reads lobstr's squid and run lists through the shared client (its limits and budget)."""

    def __init__(self, client: LobstrClient) -> None:
        self.client = client
        self._previous: OrderedDict[str, str | None] = OrderedDict()
        self._searches: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def squids_page(self, name: str, page: int, limit: int) -> tuple[list[SquidRow], Envelope]:
        """One page of the account's squids whose name contains `name` (all when empty)."""
        search = {"name": name} if name else {}
        body = self.client.get_json("squids", {**search, "page": page, "limit": limit})
        envelope = parse_envelope(body, page, limit)
        return [SquidRow.from_api(r) for r in envelope.rows], envelope

    def all_squids(self, name: str) -> Iterator[SquidRow]:
        """Every squid whose name contains `name`, up to EXPORT_MAX_PAGES pages."""
        search = {"name": name} if name else {}
        return (SquidRow.from_api(r) for r in self._all_pages("squids", search))

    def squid(self, squid_id: str) -> SquidRow:
        """One squid's details (`GET /v1/squids/{id}`)."""
        return SquidRow.from_api(self.client.get_json(f"squids/{squid_id}") or {})

    def runs_page(self, squid_id: str, page: int, limit: int) -> RunsPage:
        """One page of a squid's runs, newest first."""
        body = self.client.get_json("runs", {"squid": squid_id, "page": page, "limit": limit})
        envelope = parse_envelope(body, page, limit)
        return RunsPage(newest_first([RunDetails.from_api(r) for r in envelope.rows]), envelope)

    def all_runs(self, squid_id: str) -> list[RunDetails]:
        """Every run of a squid, newest first, up to EXPORT_MAX_PAGES pages."""
        return newest_first([RunDetails.from_api(r)
                             for r in self._all_pages("runs", {"squid": squid_id})])

    def previous_run(self, squid_id: str, run_id: str,
                     is_run: Any = lambda value: True) -> str | None:
        """The id of the squid's run just before `run_id` (None when it is the oldest listed).

        `is_run` tells which listed ids can be opened (lobstr may list malformed ones).
        """
        seen = False
        for page in range(1, PREVIOUS_MAX_PAGES + 1):
            listed = self.runs_page(squid_id, page, 100)
            for run in listed.runs:
                if seen and run.id and is_run(run.id):
                    return run.id
                seen = seen or run.id == run_id
            if not listed.envelope.has_next:
                break
        return None

    def previous_known(self, squid_id: str, run_id: str, wait: float,
                       is_run: Callable[[str], bool] = lambda value: True) -> str | None:
        """The run before `run_id` (None: there is none), or UNKNOWN while it is being looked up.

        The search runs in the background (once per run in this process) and waits at most
        `wait` s, so a slow list never holds a page up; a failed search is tried again later.
        """
        with self._lock:
            if run_id in self._previous:
                self._previous.move_to_end(run_id)
                return self._previous[run_id]
            thread = self._searches.get(run_id)
            if thread is None:
                thread = threading.Thread(target=self._search, args=(squid_id, run_id, is_run),
                                          name=f"previous-{run_id[:8]}", daemon=True)
                self._searches[run_id] = thread
                thread.start()
        thread.join(wait)
        with self._lock:
            return self._previous.get(run_id, UNKNOWN)

    def _search(self, squid_id: str, run_id: str, is_run: Callable[[str], bool]) -> None:
        try:
            found = self.previous_run(squid_id, run_id, is_run=is_run)
        except (LobstrError, ValueError):
            found = UNKNOWN  # not remembered: the next page view tries again
        with self._lock:
            self._searches.pop(run_id, None)
            if found != UNKNOWN:
                self._previous[run_id] = found
                while len(self._previous) > PREVIOUS_MEMO_SIZE:
                    self._previous.popitem(last=False)

    def _all_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Every row of an upstream list, 100 a page, at most EXPORT_MAX_PAGES pages."""
        for page in range(1, EXPORT_MAX_PAGES + 1):
            envelope = parse_envelope(
                self.client.get_json(path, {**params, "page": page, "limit": 100}), page, 100)
            yield from envelope.rows
            if not envelope.rows or not envelope.has_next:
                return
