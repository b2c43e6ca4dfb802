"""The run page's object: everything its templates show, read from the store in one place.

`build_run_page` asks the store for the summary, the verdict's figures, the facets and one page of
tasks; the templates (run.html and its htmx parts) only read the `RunPage` it returns.
"""

from __future__ import annotations

from functools import cached_property

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flask import current_app
from markupsafe import Markup

from ..domain import gapclass
from ..domain import reasons
from ..domain import verdict as verdicts
from ..domain.query import DESCENDING_FIRST
from ..domain.query import NO_REASON
from ..domain.query import TaskPage
from ..domain.query import TaskQuery
from ..domain.query import requeue_query
from ..domain.tasks import LIVE_STATUSES
from ..domain.tasks import RunSummary
from ..loading.lists import UNKNOWN
from ..loading.loaded import LoadedRun
from ..loading.runinfo import RunInfoAnswer
from ..render import charts
from ..render import requeue
from .alertbadge import AlertBadge
from .alertbadge import alert_badge
from .inputs import InputColumn
from .inputs import input_column
from .runlinks import RunLinks
from .querystring import is_run_id
from .services import services

#: Table columns: sort key, header label, numeric (right-aligned).
COLUMNS = [
    ("position", "#", True), ("status", "Status", False), ("input", "Input", False),
    ("started", "Started", False), ("ended", "Ended", False), ("duration", "Duration", True),
    ("expected", "Expected", True), ("collected", "Collected", True), ("gap", "Gap", True),
    ("reason", "Done reason", False),
]
SORT_LABELS = {key: label for key, label, _ in COLUMNS} | {"missing": "share missing", "gap": "gap"}
#: How long a page waits for the run before this one to be found (it shows up on a later view).
PREVIOUS_WAIT_SECONDS = 0.3
#: Task bars on the timeline: about 3 px each in its 200 px band, so each can be seen (and
#: hovered), and the chart stays under 25 KB; the running counts above them use every task.
TIMELINE_BARS = 64


@dataclass(frozen=True)
class ChartView:
    """A chart and its SVG, ready to place in the page (every text in it is escaped)."""

    chart: charts.Chart
    svg: Markup


@dataclass(frozen=True)
class FacetValue:
    """One control of the filter panel: a value, its count, and whether the view filters on it."""

    name: str
    value: str
    label: str
    count: int
    checked: bool
    title: str | None = None
    #: A CSS modifier: "live" for tasks still running, "short", "ok", or "".
    tone: str = ""

    @property
    def dom_id(self) -> str:
        """A stable id (htmx puts the focus back on it after the panel is redrawn)."""
        digest = hashlib.sha1(f"{self.name}\0{self.value}".encode(), usedforsecurity=False)
        return f"f-{self.name}-{digest.hexdigest()[:10]}"


@dataclass(frozen=True)
class Facet:
    """One group of the filter panel."""

    legend: str
    values: list[FacetValue]
    hint: str | None = None


_TONES = {gapclass.RUNNING: "live", gapclass.COMPLETE: "ok", gapclass.OVER: "ok",
          **{key: "short" for key in gapclass.SHORT}}


def build_facets(summary: RunSummary, query: TaskQuery) -> list[Facet]:
    """The filter panel: one checkbox per value with its count, the checked ones kept even at 0."""
    def values(name: str, counts: dict[str, int], chosen: tuple[str, ...],
               labels: dict[str, str] | None = None, titles: dict[str, str] | None = None,
               tones: dict[str, str] | None = None) -> list[FacetValue]:
        shown = dict(counts)
        for value in chosen:
            shown.setdefault(value, 0)
        return [FacetValue(name, value, (labels or {}).get(value, value), count, value in chosen,
                           (titles or {}).get(value), (tones or {}).get(value, ""))
                for value, count in shown.items()]

    classes = {key: summary.by_class[key] for key in gapclass.CLASSES if summary.by_class.get(key)}
    outcome = values("class", classes, query.classes, gapclass.CLASSES, gapclass.DESCRIPTIONS,
                     _TONES)
    if summary.tasks_short or query.short_only:
        outcome.append(FacetValue("short", "1", "short (any cause)", summary.tasks_short,
                                  query.short_only, gapclass.SHORT_DEFINITION, "short"))
    statuses = {k: v for k, v in summary.by_status.items() if k}
    live = {s: "live" for s in statuses if s.lower() in LIVE_STATUSES}
    reasons_counts = {(k or NO_REASON): v for k, v in summary.by_reason.items()}
    return [Facet("Outcome", outcome),
            Facet("Status", values("status", statuses, query.statuses, tones=live)),
            Facet("Done reason", values("reason", reasons_counts, query.reasons))]


@dataclass(frozen=True)
class RunPage:
    """Everything the run page and its parts show; templates only read it."""

    run_id: str
    query: TaskQuery
    run: LoadedRun
    info: RunInfoAnswer
    tasks: TaskPage
    verdict: verdicts.Verdict
    facets: list[Facet]
    inputs: InputColumn
    links: RunLinks
    live_refresh_seconds: float
    #: The run before this one of the same squid: its id, None when there is none, or UNKNOWN.
    previous_run: str | None = UNKNOWN
    #: Only the parts under the task table (None when the request renders the status alone).
    cards: list[reasons.ReasonCard] | None = None
    charts: list[ChartView] | None = None
    requeue_count: int | None = None
    #: The alert badge: rules that fired for this run (None when none did).
    alert: AlertBadge | None = None
    #: Seconds lobstr asked us to wait before the next page (its Retry-After), while loading.
    rate_wait: float = 0.0
    #: LOBSTR_ACTIONS: resurrect and retry may be offered.
    actions: bool = False

    @property
    def can_resurrect(self) -> bool:
        """Offer to resurrect: actions on, and lobstr says the run ended aborted."""
        details = self.info.info.run
        return (self.actions and details is not None and details.done_reason == "aborted"
                and details.is_terminal and not self.run.loading and not self.run.record.is_live)

    @property
    def can_retry(self) -> bool:
        """Offer to retry tasks: actions on, and the run (in lobstr and here) has ended."""
        details = self.info.info.run
        return (self.actions and details is not None and details.is_terminal
                and not self.run.loading and not self.run.record.is_live)
    #: The part rendered alone for htmx ("run-status" or "tasks"); it then also carries the
    #: filter panel, swapped out of band, so the panel is redrawn with every part.
    part: str | None = None

    columns = COLUMNS
    sort_labels = SORT_LABELS
    descending_first = DESCENDING_FIRST
    none_reason = NO_REASON
    requeue_warning = requeue.DEDUP_WARNING
    short_definition = gapclass.SHORT_DEFINITION
    classes = gapclass.CLASSES
    class_descriptions = gapclass.DESCRIPTIONS

    @property
    def run_reason(self) -> reasons.Reason | None:
        """The glossary entry of the run's own done_reason."""
        details = self.info.info.run
        return reasons.explain(details.done_reason) if details and details.done_reason else None

    @property
    def run_status(self) -> str | None:
        """lobstr's status of the run (done, aborted, running…), when known."""
        details = self.info.info.run
        return details.status if details else None

    @property
    def empty(self) -> bool:
        """True for a run that has no tasks at all (nothing to filter)."""
        return self.verdict.state == verdicts.EMPTY

    @property
    def filtered(self) -> bool:
        """True when some filter narrows the table."""
        return self.query.filtered

    @property
    def has_previous(self) -> bool:
        """True when lobstr lists a run of the same squid before this one."""
        return self.previous_run not in (None, UNKNOWN)

    @property
    def seen(self) -> str:
        """The token of the data shown (the status poll sends it back)."""
        return self.run.seen

    @cached_property
    def clock_format(self) -> str:
        """Start and end times as hours only when every row of the page is on one day."""
        days = {datetime.fromtimestamp(t, tz=UTC).date() for row in self.tasks.rows
                for t in (row.started_at, row.ended_at) if t is not None}
        return "%H:%M:%S" if len(days) <= 1 else "%m-%d %H:%M"


def look_for_previous_run(run_id: str) -> None:
    """Start looking for the run before this one, when its squid is known (the page's wait then
    covers the search too); the page picks the answer up in `build_run_page`."""
    svc = services()
    squid = svc.runs.known_info(run_id).info.squid
    if squid:
        svc.lists.previous_known(squid, run_id, 0.0, is_run=is_run_id)


def build_run_page(run_id: str, query: TaskQuery, run: LoadedRun, info: RunInfoAnswer, *,
                   live_refresh_seconds: float, with_table_extras: bool,
                   find_previous: bool = False) -> RunPage:
    """Read from the store what the page shows; the table's extras only when they are drawn."""
    svc = services()
    store = svc.store
    tasks = store.query(run_id, query)
    if tasks.page != query.page:
        query = replace(query, page=tasks.page)
    summary = run.summary
    verdict = verdicts.build(summary, store.shortfall(run_id), partial=run.incomplete,
                             info=info.info, hidden_tasks=run.plan_limited_rows)
    links = RunLinks(run_id, query, run.seen, info.info.squid)
    previous = UNKNOWN
    squid = info.info.squid
    if find_previous and squid:
        previous = svc.lists.previous_known(squid, run_id, PREVIOUS_WAIT_SECONDS, is_run=is_run_id)
    page = RunPage(run_id=run_id, query=query, run=run, info=info, tasks=tasks, verdict=verdict,
                   facets=build_facets(summary, query), inputs=input_column(tasks.rows),
                   links=links, live_refresh_seconds=live_refresh_seconds, previous_run=previous,
                   alert=alert_badge(run_id),
                   rate_wait=svc.client.limiter.pause_left("runtasks") if run.loading else 0.0,
                   actions=bool(current_app.config.get("LOBSTR_ACTIONS")))
    if not with_table_extras:
        return page
    return replace(page, cards=store.reason_cards(run_id), charts=_charts(run_id, query, links),
                   requeue_count=store.count(run_id, requeue_query(query).filter))


def _charts(run_id: str, query: TaskQuery, links: RunLinks) -> list[ChartView]:
    """The three charts of the tasks that match the filters."""
    store = services().store
    task_filter = query.filter
    missing = store.missing_by_reason(run_id, task_filter)
    hrefs = {code: links.page(reason=[code or NO_REASON], page=None) for code, _m, _s in missing}
    built = [charts.completeness_histogram(store.completeness_buckets(run_id, task_filter)),
             charts.missing_by_reason(missing, hrefs=hrefs),
             charts.timeline(store.timeline(run_id, task_filter, sample=TIMELINE_BARS))]
    # render/charts.py escapes every text and attribute it puts in the SVG.
    return [ChartView(chart, Markup(chart.svg)) for chart in built]  # noqa: S704
