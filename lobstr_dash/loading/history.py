"""A squid's completeness history: its previous finished runs, from lobstr's list and the store.

lobstr lists the runs; the store says how complete each was when its tasks were read (an earlier
evaluation, or someone opening the run). A run the store never read costs one
`GET /v1/runs/{id}/stats` (results done ÷ results expected), kept as a verdict so it is asked once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..domain.runinfo import RunDetails
from ..domain.runinfo import RunStats
from ..store import Store
from ..store import VerdictRecord
from ..upstream.client import LobstrClient
from ..upstream.errors import LobstrError
from .lists import Lists

log = logging.getLogger(__name__)

#: Stats calls one evaluation may make for runs the store never read.
MAX_STATS_CALLS = 25


class History:
    """Reads the completeness of a squid's runs before a given run."""

    def __init__(self, lists: Lists, store: Store, client: LobstrClient,
                 is_run: Callable[[str], bool]) -> None:
        self.lists = lists
        self.store = store
        self.client = client
        self.is_run = is_run

    def previous(self, squid_id: str, run_id: str, started_at: float | None,
                 count: int) -> list[float]:
        """Completeness (percent) of up to `count` finished runs before `run_id`, newest first."""
        listed = self.lists.runs_page(squid_id, 1, min(100, count * 2 + 5)).runs
        older = [r for r in listed if r.id and r.id != run_id and self.is_run(r.id)
                 and r.is_terminal and not _after(r, started_at)][:count]
        ids = [r.id for r in older if r.id]
        verdicts = self.store.verdicts(ids)
        stored = self.store.stored_runs(ids)
        values: list[float] = []
        calls = 0
        for run in older:
            run_id_ = run.id or ""
            kept = verdicts.get(run_id_)
            if kept is not None and kept.percent is not None:
                values.append(kept.percent)
                continue
            figures = stored.get(run_id_)
            if figures is not None and figures.state == "done" and figures.percent_complete is not None:
                values.append(figures.percent_complete)
                self.store.save_verdict(VerdictRecord(run_id_, squid_id, run.started_at,
                                                      figures.percent_complete, figures.missing,
                                                      figures.expected, "tasks"))
                continue
            if calls >= MAX_STATS_CALLS:
                continue
            calls += 1
            percent = self._from_stats(run, squid_id)
            if percent is not None:
                values.append(percent)
        return values

    def _from_stats(self, run: RunDetails, squid_id: str) -> float | None:
        """A run's completeness from lobstr's stats (results done ÷ expected), kept as a verdict."""
        try:
            stats = RunStats.from_api(self.client.get_json(f"runs/{run.id}/stats"))
        except LobstrError as exc:
            log.info("history: stats of run %s unreadable: %s", run.id, exc)
            return None
        if not stats.results_total or stats.results_done is None:
            return None
        done = min(stats.results_done, stats.results_total)
        percent = 100.0 * done / stats.results_total
        self.store.save_verdict(VerdictRecord(run.id or "", squid_id, run.started_at, percent,
                                              stats.results_total - done, stats.results_total,
                                              "stats"))
        return percent


def _after(run: RunDetails, started_at: float | None) -> bool:
    """True when a listed run started after the one evaluated (it is not history)."""
    moment = run.started_at or run.created_at
    return started_at is not None and moment is not None and moment > started_at
