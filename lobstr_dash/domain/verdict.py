"""The run page's verdict: how many results are missing, and what share each cause explains. Pure.

A cause is a short gap class (gapclass.CAUSES: aborted, account, site, other), so the verdict's
counts are the summary's and the facets'. While a big run's tasks are still being read, lobstr's
own stats (`/v1/runs/{id}/stats`) give an estimate of the whole run's shortfall at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from . import gapclass
from .runinfo import RunInfo
from .tasks import RunSummary
from .values import parse_duration

#: What the verdict can say.
EMPTY = "empty"  # the run has no tasks
WAITING = "waiting"  # no task read yet
RUNNING = "running"  # tasks still running: nothing is final
SHORT = "short"  # some tasks ended short
COMPLETE = "complete"  # nothing missing

#: Done reasons named under each cause.
REASONS_PER_CAUSE = 2


@dataclass(frozen=True)
class ShortfallRow:
    """Short tasks of one gap class and one done_reason: how many, and what they miss."""

    gap_class: str
    done_reason: str | None
    tasks: int
    #: Their known missing results.
    missing: int
    #: Those whose shortfall lobstr never counted (no expected or collected count).
    uncounted: int


@dataclass(frozen=True)
class Cause:
    """One cause of the shortfall: its short tasks, their missing results and their share."""

    key: str
    label: str
    tasks: int
    missing: int
    uncounted: int
    #: Share (0..1) of the run's missing results, or of its short tasks when none were counted.
    share: float
    #: (done_reason, tasks, missing results), most costly first.
    reasons: tuple[tuple[str | None, int, int], ...] = ()


@dataclass(frozen=True)
class Estimate:
    """lobstr's own figures for the whole run while its tasks are still being read."""

    expected: int
    done: int
    tasks_total: int | None

    @property
    def missing(self) -> int:
        """Results lobstr expected but did not report done."""
        return max(0, self.expected - self.done)


@dataclass(frozen=True)
class Verdict:
    """The answer the run page leads with."""

    state: str
    summary: RunSummary
    causes: list[Cause] = field(default_factory=list)
    #: What the shares are of: "results" (missing results) or "tasks" (short tasks).
    share_of: str = "results"
    #: True while the figures cover only the tasks read so far.
    partial: bool = False
    #: lobstr's stats of the whole run, while its tasks are read (None once they all are).
    estimate: Estimate | None = None
    #: lobstr's own estimate of the time left, in seconds, for a run still running.
    eta_seconds: float | None = None
    #: Tasks lobstr did not return because of the account's plan cap: the figures cannot see them.
    hidden_tasks: int = 0

    @property
    def missing(self) -> int:
        """Results missing (exact for the tasks read)."""
        return self.summary.missing

    @property
    def top(self) -> Cause | None:
        """The cause that explains most."""
        return self.causes[0] if self.causes else None


def causes_of(rows: Iterable[ShortfallRow], missing: int, tasks_short: int) -> tuple[list[Cause], str]:
    """Group the short tasks by cause, most costly first; shares of results, else of tasks."""
    by_cause: dict[str, list[ShortfallRow]] = {}
    for row in rows:
        if row.gap_class in gapclass.CAUSES:
            by_cause.setdefault(row.gap_class, []).append(row)
    share_of = "results" if missing > 0 else "tasks"
    causes = []
    for key, group in by_cause.items():
        tasks = sum(r.tasks for r in group)
        lost = sum(r.missing for r in group)
        base, part = (missing, lost) if share_of == "results" else (tasks_short, tasks)
        ranked = sorted(group, key=lambda r: (-r.missing, -r.tasks, r.done_reason or ""))
        causes.append(Cause(
            key=key, label=gapclass.CAUSES[key], tasks=tasks, missing=lost,
            uncounted=sum(r.uncounted for r in group), share=part / base if base else 0.0,
            reasons=tuple((r.done_reason, r.tasks, r.missing)
                          for r in ranked[:REASONS_PER_CAUSE])))
    causes.sort(key=lambda c: (-c.missing, -c.tasks, c.key))
    return causes, share_of


def build(summary: RunSummary, rows: Iterable[ShortfallRow], *, partial: bool,
          info: RunInfo | None = None, hidden_tasks: int = 0) -> Verdict:
    """The verdict for a run's summary and its shortfall rows (`partial`: not every task read;
    `hidden_tasks`: tasks lobstr's plan cap kept back)."""
    causes, share_of = causes_of(rows, summary.missing, summary.tasks_short)
    stats = info.stats if info else None
    estimate = None
    if partial and stats is not None and stats.results_total is not None \
            and stats.results_done is not None and _finished(info):
        estimate = Estimate(stats.results_total, stats.results_done, stats.total_tasks)
    if summary.tasks == 0:
        state = WAITING if partial else EMPTY
    elif summary.tasks_live or not _finished(info, default=True):
        state = RUNNING
    elif summary.tasks_short:
        state = SHORT
    else:
        state = COMPLETE
    eta = parse_duration(stats.eta) if state == RUNNING and stats is not None and stats.eta else None
    return Verdict(state=state, summary=summary, causes=causes, share_of=share_of,
                   partial=partial, estimate=estimate, eta_seconds=eta,
                   hidden_tasks=hidden_tasks)


def _finished(info: RunInfo | None, default: bool = False) -> bool:
    """True when lobstr says the run is over (its status, else its stats' is_done)."""
    if info is None or info.is_empty:
        return default
    if info.run is not None and info.run.status:
        return info.run.is_terminal
    done = info.is_done
    return default if done is None else bool(done)
