"""lobstr's lists read for the browsing pages: squids, a squid's runs, and the run before a run.

These pages show lobstr's own lists as they are now, so they are read through on every request
(one page at a time, or every page for an export) and never stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.runinfo import RunDetails
from ..domain.squids import SquidRow
from ..upstream.client import LobstrClient
from ..upstream.envelopes import Envelope
from ..upstream.envelopes import parse_envelope

#: Upstream pages an export of a list reads at most (100 rows each).
EXPORT_MAX_PAGES = 20
#: Pages of a squid's runs searched for the run before the one asked about.
PREVIOUS_MAX_PAGES = 10


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

    def _all_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Every row of an upstream list, 100 a page, at most EXPORT_MAX_PAGES pages."""
        for page in range(1, EXPORT_MAX_PAGES + 1):
            envelope = parse_envelope(
                self.client.get_json(path, {**params, "page": page, "limit": 100}), page, 100)
            yield from envelope.rows
            if not envelope.rows or not envelope.has_next:
                return
