"""The run page: summary, filters and the task table, and the htmx parts that update it.

The view parses the query, asks the runs service for the run (and its own info, within the same
wait), builds a `RunPage` with everything the templates show, and renders the whole page or the
one part htmx asked for. Templates only read the page object.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from markupsafe import Markup

from ..domain import gapclass
from ..domain import reasons
from ..domain.query import DESCENDING_FIRST
from ..domain.query import NO_REASON
from ..domain.query import TaskPage
from ..domain.query import TaskQuery
from ..domain.query import requeue_query
from ..loading.runinfo import RunInfoAnswer
from ..loading.runs import LoadedRun
from ..render import charts
from ..render import requeue
from .alertbadge import AlertBadge
from .alertbadge import alert_badge
from .htmx import partial_target
from .htmx import vary_on_htmx
from .links import QueryLinks
from .querystring import canonical_run_id
from .querystring import parse_task_query
from .querystring import query_args
from .querystring import same_page_target
from .services import services

bp = Blueprint("run", __name__)

#: Table columns: sort key, header label, numeric (right-aligned).
COLUMNS = [
    ("position", "#", True), ("status", "Status", False), ("input", "Input", False),
    ("started", "Started", False), ("ended", "Ended", False), ("duration", "Duration", True),
    ("expected", "Expected", True), ("collected", "Collected", True), ("gap", "Gap", True),
    ("reason", "Done reason", False),
]
SORT_LABELS = {key: label for key, label, _ in COLUMNS} | {"missing": "share missing", "gap": "gap"}
#: The parts of the page htmx may ask for alone (by the id of the element it swaps).
STATUS_PART = "run-status"
TASKS_PART = "tasks"
PARTS = frozenset({STATUS_PART, TASKS_PART})


@dataclass(frozen=True)
class ClassCount:
    """One gap class present in the run: its tasks and what it means."""

    key: str
    label: str
    count: int
    description: str


@dataclass(frozen=True)
class ChartView:
    """A chart and its SVG, ready to place in the page (every text in it is escaped)."""

    chart: charts.Chart
    svg: Markup


class RunLinks:
    """Every link of the run page, built from the run and the current query."""

    def __init__(self, run_id: str, query: TaskQuery, seen: str, squid: str | None) -> None:
        self.run_id = run_id
        #: The page with the current query, changed: `links.page(sort="gap", page=None)`.
        self.page = QueryLinks("run.page", query_args(query), run_id=run_id)
        self.status_poll = self.page(seen=seen)
        self.clear = url_for("run.page", run_id=run_id)
        self.refresh = url_for("run.refresh", run_id=run_id)
        self.raw_api = url_for("api.runtasks", run=run_id, page=1, limit=100)
        self.digest = url_for("digest.page", run_id=run_id)
        self.previous = url_for("compare.previous", run_id=run_id)
        self.glossary = url_for("glossary.page")
        self.squid_runs = url_for("squids.runs", squid_id=squid) if squid else None
        everything = query_args(query, page=None)
        self.exports = {fmt: url_for("exports.tasks", run_id=run_id, fmt=fmt, **everything)
                        for fmt in ("csv", "json")}
        kit = query_args(query, page=None, sort=None, dir=None)
        self.requeue = {fmt: url_for("requeue.kit", run_id=run_id, fmt=fmt, **kit)
                        for fmt in ("csv", "txt")}

    def reason(self, code: str | None) -> str:
        """The whole run's task table filtered to one done_reason (the reason cards)."""
        return url_for("run.page", run_id=self.run_id, reason=[code or NO_REASON])


@dataclass(frozen=True)
class RunPage:
    """Everything the run page and its parts show; templates only read it."""

    run_id: str
    query: TaskQuery
    run: LoadedRun
    info: RunInfoAnswer
    tasks: TaskPage
    classes: list[ClassCount]
    links: RunLinks
    live_refresh_seconds: float
    #: Only the parts under the task table (None when the request renders the status alone).
    cards: list[reasons.ReasonCard] | None = None
    charts: list[ChartView] | None = None
    requeue_count: int | None = None
    #: The alert badge: rules that fired for this run (None when none did).
    alert: AlertBadge | None = None

    columns = COLUMNS
    sort_labels = SORT_LABELS
    descending_first = DESCENDING_FIRST
    none_reason = NO_REASON
    requeue_warning = requeue.DEDUP_WARNING

    @property
    def run_reason(self) -> reasons.Reason | None:
        """The glossary entry of the run's own done_reason."""
        details = self.info.info.run
        return reasons.explain(details.done_reason) if details and details.done_reason else None

    @property
    def filtered(self) -> bool:
        """True when some filter narrows the table."""
        return self.query.filtered

    @property
    def seen(self) -> str:
        """The token of the data shown (the status poll sends it back)."""
        return self.run.seen


def build_run_page(run_id: str, query: TaskQuery, run: LoadedRun, info: RunInfoAnswer, *,
                   with_table_extras: bool) -> RunPage:
    """Read from the store what the page shows; the table's extras only when they are drawn."""
    store = services().store
    tasks = store.query(run_id, query)
    if tasks.page != query.page:
        query = replace(query, page=tasks.page)
    counts = store.class_counts(run_id)
    classes = [ClassCount(key, label, counts[key], gapclass.DESCRIPTIONS[key])
               for key, label in gapclass.CLASSES.items() if counts.get(key)]
    links = RunLinks(run_id, query, run.seen, info.info.squid)
    page = RunPage(run_id=run_id, query=query, run=run, info=info, tasks=tasks, classes=classes,
                   links=links, alert=alert_badge(run_id),
                   live_refresh_seconds=float(current_app.config["LIVE_REFRESH_SECONDS"]))
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
             charts.timeline(store.timeline(run_id, task_filter))]
    # render/charts.py escapes every text and attribute it puts in the SVG.
    return [ChartView(chart, Markup(chart.svg)) for chart in built]  # noqa: S704


@bp.get("/runs/<run_id>")
def page(run_id: str) -> Any:
    """The run page; htmx asks for one part at a time (the status poll, or the task table)."""
    canonical = canonical_run_id(run_id)
    if canonical != run_id:
        return redirect(url_for("run.page", run_id=canonical, **request.args.to_dict(flat=False)),
                        301)
    query = parse_task_query(request.args, current_app.config["TASKS_PER_PAGE"])
    target = partial_target(request, PARTS)
    # The status poll must answer at once; everything else may wait briefly for a load to end.
    wait = 0.0 if target == STATUS_PART else float(current_app.config["LOAD_WAIT_SECONDS"])
    runs = services().runs
    if target == TASKS_PART:  # the table alone does not show the run's own info
        run, info = runs.ensure(run_id, wait), runs.known_info(run_id)
    else:
        run, info = runs.ensure_with_info(run_id, wait, first_rows=target is None)
    page = build_run_page(run_id, query, run, info, with_table_extras=target != STATUS_PART)
    if target == STATUS_PART:
        response = Response(render_template("partials/_run_status.html", page=page))
        if request.args.get("seen") != page.seen:
            # The data changed since the browser last looked: the table reloads itself too.
            response.headers["HX-Trigger"] = "tasks-stale"
    elif target == TASKS_PART:
        response = Response(render_template("partials/_tasks.html", page=page))
        if request.headers.get("HX-Trigger") != TASKS_PART:
            # A user's filter, sort or page change: push the canonical URL (no empty fields,
            # no defaults) rather than the raw form query. The table's own reloads push nothing.
            response.headers["HX-Push-Url"] = page.links.page()
    else:
        response = Response(render_template("run.html", page=page))
    return vary_on_htmx(response)


@bp.post("/runs/<run_id>/refresh")
def refresh(run_id: str) -> Any:
    """Fetch a run again (every page, or only the pages that failed), then show it."""
    run_id = canonical_run_id(run_id)
    services().runs.refresh(run_id, only_failed=request.form.get("only_failed") == "1")
    # Only ever go back to this run's own page: `next` must not become an open redirect.
    target = same_page_target(request.form.get("next") or "", url_for("run.page", run_id=run_id))
    return redirect(target, 303)
