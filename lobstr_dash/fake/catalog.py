"""The catalogue of one fake instance: its runs and squids, rows generated on demand."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from lobstr_dash.fake import scenarios
from lobstr_dash.fake.data import (
    _DEMO_SPECS,
    _HISTORY_SPECS,
    DEMO_RUNS,
    DEMO_SQUIDS,
    HISTORY_RUN_IDS,
    SQUID_MAPS,
    SQUID_SYNTHETIC,
    RunInfo,
    RunTotals,
    SquidInfo,
    make_runtask,
    make_runtask_id,
    stable_id,
)
from lobstr_dash.fake.inputs import params_for
from lobstr_dash.fake.reopen import RETRY_COOLDOWN_SECONDS, Reopening
from lobstr_dash.fake.scenarios import Facts, RowContext, row_rng
from lobstr_dash.fake.timefmt import parse_utc


class RunCatalog:
    """All runs and squids of one fake instance; rows are generated on demand."""

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] = time.time,
                 extra_runs: dict[str, int] | None = None, demo_alert_run: bool = False) -> None:
        self.seed = seed
        self.clock = clock
        self.started_at = clock()
        self._runs: dict[str, RunInfo] = {}
        self._squids: dict[str, SquidInfo] = {s.squid_id: s for s in DEMO_SQUIDS}
        for (_slug, scenario, squid, count, start, *_), demo in zip(_DEMO_SPECS, DEMO_RUNS,
                                                                     strict=True):
            base = parse_utc(start) if start else self.started_at
            self._runs[demo.run_id] = RunInfo(demo.run_id, squid.squid_id, scenario, count, base)
        for slug, scenario, squid, count, start in _HISTORY_SPECS:
            run_id = HISTORY_RUN_IDS[slug]
            self._runs[run_id] = RunInfo(run_id, squid.squid_id, scenario, count, parse_utc(start))
        synthetic_base = parse_utc("2025-03-01T00:00:00Z")
        for position, (run_id, count) in enumerate((extra_runs or {}).items()):
            self._squids[SQUID_SYNTHETIC.squid_id] = SQUID_SYNTHETIC
            self._runs[run_id] = RunInfo(run_id, SQUID_SYNTHETIC.squid_id, scenarios.REALISTIC,
                                         int(count), synthetic_base + position * 86400.0)
        if demo_alert_run:
            run_id = stable_id("lobstr-dash-demo", "run", "short", round(self.started_at))
            self._runs[run_id] = RunInfo(run_id, SQUID_MAPS.squid_id, scenarios.LIVE_SHORT, 60,
                                         self.started_at)
        self._page = lru_cache(maxsize=1024)(self._build_page)
        self._totals = lru_cache(maxsize=256)(self._build_totals)
        #: Runs whose runtask rows a test wrote itself (served as they are, even when changed).
        self._custom: dict[str, list[dict[str, Any]]] = {}
        #: Tasks lobstr set back to pending (resurrect, retry), by run, oldest first.
        self._reopened: dict[str, list[Reopening]] = {}
        #: When each task (by runtask id) was last retried.
        self._retried_at: dict[str, float] = {}
        self._runtask_index: dict[str, tuple[str, int]] = {}
        self._indexed: set[str] = set()
        #: Run-level (status, done_reason, done_reason_desc) set by hand, for runs added whole.
        self._status: dict[str, tuple[str, str | None, str | None]] = {}

    def put_squid(self, squid_id: str, name: str) -> SquidInfo:
        """Add a squid (for runs added by `put_run`)."""
        squid = SquidInfo(squid_id, name, SQUID_SYNTHETIC.params_kind, SQUID_SYNTHETIC.crawler_name,
                          self.clock(), 1)
        self._squids[squid_id] = squid
        return squid

    def put_run(self, run_id: str, squid_id: str, rows: list[dict[str, Any]], *,
                status: str = "done", done_reason: str | None = "tasks_done",
                started_at: float | None = None) -> list[dict[str, Any]]:
        """Add a whole run of a squid: these rows, a run object, and a place in the squid's list."""
        self._runs[run_id] = RunInfo(run_id, squid_id, scenarios.CUSTOM, len(rows),
                                     self.clock() if started_at is None else started_at)
        self.set_status(run_id, status, done_reason)
        return self.put_rows(run_id, rows)

    def set_status(self, run_id: str, status: str, done_reason: str | None = None,
                   desc: str | None = None) -> None:
        """Set a run's own status (a run finishing, erroring, or running again)."""
        self._status[run_id] = (status, done_reason, desc)

    def status_of(self, run_id: str) -> tuple[str, str | None, str | None] | None:
        """The run-level status set by hand, if any."""
        return self._status.get(run_id)

    def put_rows(self, run_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Serve exactly these rows for a run's runtasks (the list is kept, not copied)."""
        self._custom[run_id] = rows
        return rows

    def has_tasks(self, run_id: str) -> bool:
        """True when runtasks of this run can be listed (a catalogue run or written rows)."""
        return run_id in self._runs or run_id in self._custom

    def run(self, run_id: str) -> RunInfo | None:
        """The run with this id, or None."""
        return self._runs.get(run_id)

    def runs(self) -> list[RunInfo]:
        """Every run, in catalogue order."""
        return list(self._runs.values())

    def squid(self, squid_id: str) -> SquidInfo | None:
        """The squid with this id, or None."""
        return self._squids.get(squid_id)

    def squids(self) -> list[SquidInfo]:
        """Every squid, oldest first."""
        return sorted(self._squids.values(), key=lambda s: s.created_at)

    def runs_of(self, squid_id: str) -> list[RunInfo]:
        """Runs of one squid, newest first."""
        return sorted((r for r in self._runs.values() if r.squid_id == squid_id),
                      key=lambda r: r.base, reverse=True)

    def resize(self, run_id: str, task_count: int) -> None:
        """Change a run's task count at once, as a run that gains tasks while it is read.

        Rows keep their index, so growing appends rows; cached pages and totals are dropped.
        """
        info = self._runs[run_id]
        self._runs[run_id] = RunInfo(info.run_id, info.squid_id, info.scenario, int(task_count),
                                     info.base)
        self._page.cache_clear()
        self._totals.cache_clear()

    def total(self, run_id: str) -> int:
        """Number of runtasks in a run (0 for unknown runs)."""
        if run_id in self._custom:
            return len(self._custom[run_id])
        info = self._runs.get(run_id)
        return info.task_count if info else 0

    def is_live(self, run_id: str) -> bool:
        """True when the run's rows depend on the clock."""
        info = self._runs.get(run_id)
        return bool(info and (info.scenario in (scenarios.LIVE, scenarios.LIVE_SHORT)
                              or run_id in self._reopened))

    def facts(self, run_id: str, index: int, now: float | None = None) -> Facts:
        """Outcome of task `index` of a run at time `now` (default: the clock)."""
        info = self._runs[run_id]
        moment = self.clock() if now is None else now
        rng = row_rng(self.seed, run_id, index)
        ctx = RowContext(rng, index, info.task_count, info.base, moment)
        facts = scenarios.SCENARIOS[info.scenario](ctx)
        for reopening in self._reopened.get(run_id, ()):
            facts = reopening.facts(index, facts, moment)
        return facts

    def reopened(self, run_id: str) -> bool:
        """True once lobstr set some task of the run back to pending (resurrect or retry)."""
        return run_id in self._reopened

    def resurrect(self, run_id: str) -> None:
        """Set the run's interrupted tasks back to pending (they run again from now)."""
        now = self.clock()
        waiting = tuple(i for i in range(self.total(run_id))
                        if self.facts(run_id, i, now).status != "completed")
        self._reopen(run_id, Reopening(now, waiting, self.seed, run_id))

    def retry(self, runtask_id: str) -> float | None:
        """Set one task back to pending; None, or the seconds left of its retry cooldown."""
        run_id, index = self._runtask_index[runtask_id]
        now = self.clock()
        last = self._retried_at.get(runtask_id)
        if last is not None and now - last < RETRY_COOLDOWN_SECONDS:
            return RETRY_COOLDOWN_SECONDS - (now - last)
        self._retried_at[runtask_id] = now
        self._reopen(run_id, Reopening(now, (index,), self.seed, run_id))
        return None

    def find_runtask(self, runtask_id: str) -> tuple[str, int] | None:
        """(run, index) of a runtask of a catalogue run, or None."""
        for run_id in self._runs:
            if runtask_id in self._runtask_index:
                break
            if run_id not in self._indexed:
                self._indexed.add(run_id)
                for index in range(self.total(run_id)):
                    self._runtask_index[make_runtask_id(self.seed, run_id, index)] = (run_id, index)
        return self._runtask_index.get(runtask_id)

    def _reopen(self, run_id: str, reopening: Reopening) -> None:
        self._reopened.setdefault(run_id, []).append(reopening)
        self._page.cache_clear()
        self._totals.cache_clear()

    def row(self, run_id: str, index: int, now: float | None = None) -> dict[str, Any]:
        """The API row of task `index` (0-based) of a run."""
        if run_id in self._custom:
            return self._custom[run_id][index]
        info = self._runs[run_id]
        squid = self._squids[info.squid_id]
        return make_runtask(run_id, index, self.facts(run_id, index, now),
                            params_for(squid.params_kind, index),
                            seed=self.seed, squid_id=squid.squid_id)

    def rows(self, run_id: str, page: int, limit: int) -> list[dict[str, Any]]:
        """Rows of 1-based `page` of size `limit`; empty past the end. Do not mutate them."""
        start = (page - 1) * limit
        if run_id in self._custom:
            return list(self._custom[run_id][max(0, start): max(0, start + limit)])
        if run_id not in self._runs or start >= self.total(run_id) or start < 0:
            return []
        if self.is_live(run_id):
            return list(self._build_page(run_id, start, limit, self.clock()))
        return list(self._page(run_id, start, limit, None))

    def iter_rows(self, run_id: str) -> Iterator[dict[str, Any]]:
        """Every row of a run, in order."""
        if run_id in self._custom:
            yield from self._custom[run_id]
            return
        now = self.clock()
        for index in range(self.total(run_id)):
            yield self.row(run_id, index, now)

    def totals(self, run_id: str) -> RunTotals:
        """Aggregated figures of a run (cached unless the run is live or written by hand)."""
        if run_id in self._custom:
            return _row_totals(self._custom[run_id])
        if self.is_live(run_id):
            return self._build_totals(run_id, self.clock())
        return self._totals(run_id, None)

    def _build_page(self, run_id: str, start: int, limit: int,
                    now: float | None) -> tuple[dict[str, Any], ...]:
        stop = min(start + limit, self.total(run_id))
        return tuple(self.row(run_id, index, now) for index in range(start, stop))

    def _build_totals(self, run_id: str, now: float | None) -> RunTotals:
        done = collected = expected = 0
        started: float | None = None
        ended: float | None = None
        current: int | None = None
        for index in range(self.total(run_id)):
            facts = self.facts(run_id, index, now)
            collected += facts.collected
            expected += facts.expected or 0
            if facts.status not in ("pending", "running"):
                done += 1
            elif facts.status == "running" and current is None:
                current = index
            if facts.started is not None:
                started = facts.started if started is None else min(started, facts.started)
            if facts.ended is not None:
                ended = facts.ended if ended is None else max(ended, facts.ended)
        return RunTotals(self.total(run_id), done, collected, expected, started, ended, current)


def _row_totals(rows: list[dict[str, Any]]) -> RunTotals:
    """Figures of hand-written rows."""
    live = [i for i, r in enumerate(rows) if r.get("status") in ("pending", "running")]
    def moment(text: Any) -> float | None:  # whole seconds are enough here
        try:
            return parse_utc(str(text)[:19] + "Z") if text else None
        except ValueError:
            return None

    starts = [t for t in (moment(r.get("started_at")) for r in rows) if t is not None]
    ends = [t for t in (moment(r.get("ended_at")) for r in rows) if t is not None]
    return RunTotals(len(rows), len(rows) - len(live),
                     sum(int(r.get("last_result") or 0) for r in rows),
                     sum(int(r.get("total_results") or 0) for r in rows),
                     min(starts, default=None), max(ends, default=None),
                     next((i for i in live if rows[i].get("status") == "running"), None))
