"""lobstr's list envelopes and squid rows, read defensively. Pure Python."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import as_count
from .model import as_text
from .model import parse_timestamp


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
class SquidRow:
    """The fields of a `GET /v1/squids` row the dashboard lists."""

    id: str | None
    name: str | None
    crawler_name: str | None
    is_active: bool | None
    last_run_status: str | None
    last_run_at: float | None
    total_runs: int | None
    created_at: float | None

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> SquidRow:
        """Parse one squid object."""
        active = row.get("is_active")
        status = as_text(row.get("last_run_status"), 64)
        return cls(id=as_text(row.get("id"), 64), name=as_text(row.get("name"), 300),
                   crawler_name=as_text(row.get("crawler_name"), 300),
                   is_active=active if isinstance(active, bool) else None,
                   # lobstr writes a squid's last run status in upper case ("DONE").
                   last_run_status=status.lower() if status else None,
                   last_run_at=parse_timestamp(row.get("last_run_at")),
                   total_runs=as_count(row.get("total_runs")),
                   created_at=parse_timestamp(row.get("created_at")))
