"""A squid as lobstr lists it (`GET /v1/squids`), read defensively. Pure Python."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .values import as_count
from .values import as_text
from .values import parse_timestamp


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
