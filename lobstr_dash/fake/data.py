"""Deterministic seeded runs, squids and runtask rows served by the fake API."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lobstr_dash.fake import scenarios
from lobstr_dash.fake.inputs import LEADS, MAPS, params_for
from lobstr_dash.fake.scenarios import Facts, RowContext, row_rng
from lobstr_dash.fake.timefmt import format_ts, parse_utc


def stable_id(*parts: object) -> str:
    """32 lowercase hex characters derived from `parts` (same in every process)."""
    return hashlib.md5(":".join(str(p) for p in parts).encode()).hexdigest()


def synthetic_run_id(label: str | int) -> str:
    """Stable run id for a synthetic run labelled e.g. 100000."""
    return stable_id("lobstr-dash-synthetic", label)


@dataclass(frozen=True)
class DemoRun:
    """A hand-made run a newcomer can click in demo mode."""

    run_id: str
    title: str
    description: str
    squid_id: str
    squid_name: str
    task_count: int


@dataclass(frozen=True)
class SquidInfo:
    """A fake squid: the container of tasks and runs."""

    squid_id: str
    name: str
    params_kind: str
    crawler_name: str
    created_at: float
    concurrency: int


@dataclass(frozen=True)
class RunInfo:
    """Everything needed to generate one run's rows and summary."""

    run_id: str
    squid_id: str
    scenario: str
    task_count: int
    base: float


@dataclass(frozen=True)
class RunTotals:
    """Figures of a run aggregated over its runtasks at one moment."""

    tasks: int
    done: int
    collected: int
    expected: int
    started: float | None
    ended: float | None
    current_index: int | None


SQUID_MAPS = SquidInfo(stable_id("lobstr-dash-demo", "squid", "maps"),
                       "Google Maps – restaurants & shops (FR)", MAPS,
                       "Google Maps Search Export", parse_utc("2025-01-20T09:00:00Z"), 5)
SQUID_LEADS = SquidInfo(stable_id("lobstr-dash-demo", "squid", "leads"),
                        "Sales Navigator – leads by keyword", LEADS,
                        "Sales Navigator Leads Search Export", parse_utc("2025-01-22T11:30:00Z"), 2)
SQUID_SANDBOX = SquidInfo(stable_id("lobstr-dash-demo", "squid", "sandbox"),
                          "Sandbox – no tasks yet", MAPS,
                          "Google Maps Search Export", parse_utc("2025-02-14T09:55:00Z"), 1)
SQUID_SYNTHETIC = SquidInfo(stable_id("lobstr-dash-demo", "squid", "synthetic"),
                            "Synthetic benchmark squid", MAPS,
                            "Google Maps Search Export", parse_utc("2025-02-28T00:00:00Z"), 10)
DEMO_SQUIDS = (SQUID_MAPS, SQUID_LEADS, SQUID_SANDBOX)

# (slug, scenario, squid, task count, start time or None for "when the fake starts", title, text)
_DEMO_SPECS: tuple[tuple[str, str, SquidInfo, int, str | None, str, str], ...] = (
    ("clean", scenarios.CLEAN, SQUID_MAPS, 120, "2025-02-10T14:30:55Z",
     "Clean completed run",
     "120 tasks, all completed; every task collected what it expected (a few expected 0)."),
    ("aborted", scenarios.ABORTED, SQUID_MAPS, 300, "2025-02-11T09:12:03Z",
     "Aborted run with gaps",
     "300 tasks: completed ones, then partial tasks cut by run_aborted, then tasks never started."),
    ("mixed", scenarios.MIXED, SQUID_LEADS, 400, "2025-02-12T16:45:20Z",
     "Mixed errors and done_reasons",
     "400 tasks: account, credit and site failures, undocumented reasons, unknown expected "
     "counts, over-collection and hostile params (HTML, javascript: URL, spreadsheet formula)."),
    ("live", scenarios.LIVE, SQUID_MAPS, 200, None,
     "Live run (still running)",
     "200 tasks moving pending → running → completed over ~10 minutes after the fake starts."),
    ("empty", scenarios.EMPTY, SQUID_SANDBOX, 0, "2025-02-14T10:00:00Z",
     "Empty run",
     "A valid run with no tasks: every list comes back with empty data."),
    ("big", scenarios.REALISTIC, SQUID_MAPS, 5000, "2025-02-13T08:00:00Z",
     "Big run (5,000 tasks)",
     "5,000 tasks with a realistic mix: mostly complete, some partial, a few errors."),
)

DEMO_RUNS: list[DemoRun] = [
    DemoRun(stable_id("lobstr-dash-demo", "run", slug), title, text, squid.squid_id, squid.name,
            count)
    for slug, _scenario, squid, count, _start, title, text in _DEMO_SPECS
]
DEMO_RUN_IDS: dict[str, str] = {
    spec[0]: run.run_id for spec, run in zip(_DEMO_SPECS, DEMO_RUNS, strict=True)
}

# Earlier runs that are not demo cards: a previous run of the mixed run's squid (same inputs, a
# steadier outcome, 20 fewer tasks), so "compare with the previous run" has something to show.
# (slug, scenario, squid, task count, start time)
_HISTORY_SPECS: tuple[tuple[str, str, SquidInfo, int, str], ...] = (
    ("mixed-previous", scenarios.REALISTIC, SQUID_LEADS, 380, "2025-02-05T10:00:00Z"),
)
HISTORY_RUN_IDS: dict[str, str] = {
    slug: stable_id("lobstr-dash-demo", "run", slug) for slug, *_rest in _HISTORY_SPECS
}


def make_runtask(run_id: str, index: int, facts: Facts, params: dict[str, Any], *,
                 seed: int, squid_id: str) -> dict[str, Any]:
    """One row shaped exactly like a `GET /v1/runtasks` data item."""
    style = facts.ts_style
    pages = math.ceil(facts.collected / 20) if facts.collected else (1 if facts.started else 0)
    return {
        "object": "runtask",
        "id": stable_id("runtask", seed, run_id, index),
        "started_at": format_ts(facts.started, style),
        "ended_at": format_ts(facts.ended, style),
        "total_results": facts.expected,
        "last_result": facts.collected,
        "total_pages": pages,
        "done_reason": facts.done_reason,
        "last_page": max(pages - 1, 0),
        "status": facts.status,
        "run": run_id,
        # The same input of a squid keeps its task id across runs, as on the platform.
        "task": stable_id("task", seed, squid_id, index),
        "params": params,
        "last_collection_at": format_ts(facts.last_collection, style),
        "done_reason_desc": facts.desc,
    }


class RunCatalog:
    """All runs and squids of one fake instance; rows are generated on demand."""

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] = time.time,
                 extra_runs: dict[str, int] | None = None) -> None:
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
        self._page = lru_cache(maxsize=1024)(self._build_page)
        self._totals = lru_cache(maxsize=256)(self._build_totals)

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
        info = self._runs.get(run_id)
        return info.task_count if info else 0

    def is_live(self, run_id: str) -> bool:
        """True when the run's rows depend on the clock."""
        info = self._runs.get(run_id)
        return bool(info and info.scenario == scenarios.LIVE)

    def facts(self, run_id: str, index: int, now: float | None = None) -> Facts:
        """Outcome of task `index` of a run at time `now` (default: the clock)."""
        info = self._runs[run_id]
        moment = self.clock() if now is None else now
        rng = row_rng(self.seed, run_id, index)
        ctx = RowContext(rng, index, info.task_count, info.base, moment)
        return scenarios.SCENARIOS[info.scenario](ctx)

    def row(self, run_id: str, index: int, now: float | None = None) -> dict[str, Any]:
        """The API row of task `index` (0-based) of a run."""
        info = self._runs[run_id]
        squid = self._squids[info.squid_id]
        return make_runtask(run_id, index, self.facts(run_id, index, now),
                            params_for(squid.params_kind, index),
                            seed=self.seed, squid_id=squid.squid_id)

    def rows(self, run_id: str, page: int, limit: int) -> list[dict[str, Any]]:
        """Rows of 1-based `page` of size `limit`; empty past the end. Do not mutate them."""
        start = (page - 1) * limit
        if run_id not in self._runs or start >= self.total(run_id) or start < 0:
            return []
        if self.is_live(run_id):
            return list(self._build_page(run_id, start, limit, self.clock()))
        return list(self._page(run_id, start, limit, None))

    def iter_rows(self, run_id: str) -> Iterator[dict[str, Any]]:
        """Every row of a run, in order."""
        now = self.clock()
        for index in range(self.total(run_id)):
            yield self.row(run_id, index, now)

    def totals(self, run_id: str) -> RunTotals:
        """Aggregated figures of a run (cached unless the run is live)."""
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
