"""Deterministic seeded runs, squids and runtask rows served by the fake API."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from lobstr_dash.fake import scenarios
from lobstr_dash.fake.inputs import LEADS, MAPS
from lobstr_dash.fake.scenarios import Facts
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


def make_runtask_id(seed: int, run_id: str, index: int) -> str:
    """The id of task `index` of a run (the same in every process)."""
    return stable_id("runtask", seed, run_id, index)


def make_runtask(run_id: str, index: int, facts: Facts, params: dict[str, Any], *,
                 seed: int, squid_id: str) -> dict[str, Any]:
    """One row shaped exactly like a `GET /v1/runtasks` data item."""
    style = facts.ts_style
    pages = math.ceil(facts.collected / 20) if facts.collected else (1 if facts.started else 0)
    return {
        "object": "runtask",
        "id": make_runtask_id(seed, run_id, index),
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
