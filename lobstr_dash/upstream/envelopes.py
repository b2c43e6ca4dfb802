"""lobstr's list envelopes (`data`, `total_results`, `total_pages`, `limit`…), read defensively."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..domain.values import as_count
from .errors import LobstrBadResponse


@dataclass(frozen=True)
class Envelope:
    """One page of a lobstr list: its rows (objects only) and its counters."""

    rows: list[Mapping[str, Any]]
    total: int | None
    page: int
    total_pages: int
    limit: int

    @property
    def has_next(self) -> bool:
        """True when a later page exists."""
        return self.page < self.total_pages


def parse_envelope(body: Any, page: int, limit: int) -> Envelope:
    """Read `data`, `total_results`, `total_pages` and `limit`; tolerate missing counters."""
    data = body.get("data") if isinstance(body, Mapping) else body
    rows = [row for row in data if isinstance(row, Mapping)] if isinstance(data, list) else []
    counters = body if isinstance(body, Mapping) else {}
    size = as_count(counters.get("limit")) or limit
    total = as_count(counters.get("total_results"))
    total_pages = as_count(counters.get("total_pages"))
    if total_pages is None:
        if total is not None:
            total_pages = max(1, -(-total // size))
        else:
            total_pages = page + 1 if len(rows) >= size else page
    return Envelope(rows, total, page, max(total_pages, 1), size)


@dataclass(frozen=True)
class RunTaskPage:
    """One page of /v1/runtasks: the envelope's counters and its raw rows.

    `total_pages` is what the counters make plausible: the smaller of the pages lobstr declares
    and the pages its `total_results` fills; `claimed_pages` is the declared count as sent.
    """

    page: int
    limit: int
    total_results: int | None
    total_pages: int
    rows: list[dict[str, Any]]
    claimed_pages: int | None = field(default=None, compare=False)
    #: lobstr's `warning` (a free plan's export cap: "Export limit reached - only 50 results
    #: returned…"): the list stops there, whatever `total_results` says.
    warning: str | None = field(default=None, compare=False)


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_runtask_page(body: Any, page: int, limit: int) -> RunTaskPage:
    """Check a /v1/runtasks envelope and return its counters and rows; raises LobstrBadResponse.

    A page with more rows than asked for is malformed, whatever else it says: nothing of it is
    kept, and asking again will not change it.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise LobstrBadResponse("lobstr answered without the documented `data` list of run tasks")
    if len(body["data"]) > limit:
        raise LobstrBadResponse(f"lobstr sent {len(body['data']):,} rows for a page of {limit}",
                                retryable=False)
    rows = [row for row in body["data"] if isinstance(row, Mapping)]
    if len(rows) != len(body["data"]):
        raise LobstrBadResponse("lobstr answered run tasks that are not JSON objects")
    total = _as_int(body.get("total_results"))
    # lobstr may serve smaller pages than asked, never larger ones.
    page_size = min(_as_int(body.get("limit")) or limit, limit)
    claimed = _as_int(body.get("total_pages"))
    total_pages = claimed
    if total is not None:
        filled = -(-total // page_size)
        total_pages = filled if total_pages is None else min(total_pages, filled)
    if total_pages is None:
        # Without counters a short page is the last one.
        total_pages = page + 1 if len(rows) >= page_size else page
    warning = body.get("warning")
    return RunTaskPage(page=page, limit=page_size, total_results=total,
                       total_pages=total_pages, rows=[dict(r) for r in rows],
                       claimed_pages=claimed,
                       warning=warning.strip()[:500] if isinstance(warning, str) and warning.strip()
                       else None)
