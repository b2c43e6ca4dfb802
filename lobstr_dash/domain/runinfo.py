"""A run's own figures from `GET /v1/runs/{id}` and `GET /v1/runs/{id}/stats`. Pure Python.

lobstr is inconsistent across these endpoints: `duration` is float seconds in run lists and abort
answers but "H:MM:SS.ffffff" text in the run and its stats; some timestamps lack the `Z`; the
stats have no `status`; fields may be missing or null. Everything here parses defensively: an
unreadable value becomes None, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .values import as_count
from .values import as_flag
from .values import as_number
from .values import as_percent
from .values import as_text
from .values import parse_duration
from .values import parse_timestamp

#: Run statuses after which nothing about the run changes (lobstr-api notes §3.1).
TERMINAL_STATUSES = frozenset({"done", "aborted", "error"})


def _text(value: Any, limit: int = 300) -> str | None:
    return as_text(value, limit) if isinstance(value, str | int | float) else None


@dataclass(frozen=True)
class RunDetails:
    """The fields of `GET /v1/runs/{id}` (or a row of `GET /v1/runs`) the dashboard shows."""

    id: str | None = None
    squid: str | None = None
    status: str | None = None
    done_reason: str | None = None
    done_reason_desc: str | None = None
    is_done: bool | None = None
    created_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    duration: float | None = None
    #: The duration exactly as lobstr wrote it (float seconds or "H:MM:SS.ffffff").
    duration_raw: str | None = None
    credit_used: float | None = None
    origin: str | None = None
    total_results: int | None = None
    total_unique_results: int | None = None
    export_done: bool | None = None

    @classmethod
    def from_api(cls, body: Any) -> RunDetails:
        """Parse a run object; anything that is not an object gives an empty RunDetails."""
        if not isinstance(body, Mapping):
            return cls()
        raw_duration = body.get("duration")
        return cls(
            id=_text(body.get("id"), 64), squid=_text(body.get("squid"), 64),
            status=_text(body.get("status"), 64), done_reason=_text(body.get("done_reason"), 128),
            done_reason_desc=_text(body.get("done_reason_desc"), 2000),
            is_done=as_flag(body.get("is_done")),
            created_at=parse_timestamp(body.get("created_at")),
            started_at=parse_timestamp(body.get("started_at")),
            ended_at=parse_timestamp(body.get("ended_at")),
            duration=parse_duration(raw_duration),
            duration_raw=None if raw_duration is None or isinstance(raw_duration, bool)
            else str(raw_duration)[:64],
            credit_used=as_number(body.get("credit_used")),
            origin=_text(body.get("origin"), 64),
            total_results=as_count(body.get("total_results")),
            total_unique_results=as_count(body.get("total_unique_results")),
            export_done=as_flag(body.get("export_done")),
        )

    @property
    def is_terminal(self) -> bool:
        """True once the run reached a final status (nothing will change any more)."""
        return (self.status or "").lower() in TERMINAL_STATUSES


@dataclass(frozen=True)
class RunStats:
    """The fields of `GET /v1/runs/{id}/stats` (it has no status)."""

    is_done: bool | None = None
    started_at: float | None = None
    ended_at: float | None = None
    duration: float | None = None
    duration_raw: str | None = None
    percent_done: float | None = None
    eta: str | None = None
    total_tasks: int | None = None
    total_tasks_done: int | None = None
    total_tasks_left: int | None = None
    #: Results lobstr expected over the whole run.
    results_total: int | None = None
    results_done: int | None = None
    current_task: str | None = None
    updated_at: float | None = None

    @classmethod
    def from_api(cls, body: Any) -> RunStats:
        """Parse a stats object; anything that is not an object gives an empty RunStats."""
        if not isinstance(body, Mapping):
            return cls()
        raw_duration = body.get("duration")
        return cls(
            is_done=as_flag(body.get("is_done")),
            started_at=parse_timestamp(body.get("started_at")),
            ended_at=parse_timestamp(body.get("ended_at")),
            duration=parse_duration(raw_duration),
            duration_raw=None if raw_duration is None or isinstance(raw_duration, bool)
            else str(raw_duration)[:64],
            percent_done=as_percent(body.get("percent_done")),
            eta=_text(body.get("eta"), 64),
            total_tasks=as_count(body.get("total_tasks")),
            total_tasks_done=as_count(body.get("total_tasks_done")),
            total_tasks_left=as_count(body.get("total_tasks_left")),
            results_total=as_count(body.get("results_total")),
            results_done=as_count(body.get("results_done")),
            current_task=_text(body.get("current_task"), 64),
            updated_at=parse_timestamp(body.get("updated_at")),
        )


@dataclass(frozen=True)
class RunInfo:
    """What lobstr says about the run itself, combined from the run and its stats (either may be missing)."""

    run: RunDetails | None = None
    stats: RunStats | None = None

    @classmethod
    def from_api(cls, run_body: Any, stats_body: Any) -> RunInfo:
        """Combine a run object and a stats object; None for a part that was never fetched."""
        return cls(run=None if run_body is None else RunDetails.from_api(run_body),
                   stats=None if stats_body is None else RunStats.from_api(stats_body))

    def _pick(self, name: str) -> Any:
        for part in (self.run, self.stats):
            value = getattr(part, name, None) if part is not None else None
            if value is not None:
                return value
        return None

    @property
    def started_at(self) -> float | None:
        """When the run started (run first, then stats)."""
        return self._pick("started_at")  # type: ignore[no-any-return]

    @property
    def ended_at(self) -> float | None:
        """When the run ended, if it did."""
        return self._pick("ended_at")  # type: ignore[no-any-return]

    @property
    def duration(self) -> float | None:
        """Run duration in seconds, whichever form lobstr used."""
        return self._pick("duration")  # type: ignore[no-any-return]

    @property
    def duration_raw(self) -> str | None:
        """The duration as lobstr wrote it."""
        return self._pick("duration_raw")  # type: ignore[no-any-return]

    @property
    def is_done(self) -> bool | None:
        """lobstr's is_done (run first, then stats)."""
        return self._pick("is_done")  # type: ignore[no-any-return]

    @property
    def is_terminal(self) -> bool:
        """True when the run's status is final, so the context never needs fetching again."""
        return self.run is not None and self.run.is_terminal

    @property
    def squid(self) -> str | None:
        """The run's squid id."""
        return self.run.squid if self.run else None

    @property
    def is_empty(self) -> bool:
        """True when neither part holds anything."""
        return self.run is None and self.stats is None
