"""What the run page shows beyond the task table: run context, reason cards, gap classes, charts,
the re-queue kit and links to the digest and the comparison. Computed lazily: a partial that does
not render a part never pays for it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import cached_property
from typing import Any

from flask import current_app
from flask import request
from flask import url_for
from markupsafe import Markup

from . import charts
from . import gapclass
from . import insights
from . import reasons
from . import requeue
from .context import ContextAnswer
from .context import RunContextService
from .htmx import partial_target
from .params import query_args
from .runs import RunStatus
from .services import services
from .store import NO_REASON
from .store import TaskQuery

#: Longest a page waits for the run context before rendering without it (it shows up later).
CONTEXT_WAIT_SECONDS = 2.0
#: After a failed context fetch, wait this long before asking lobstr again.
CONTEXT_RETRY_SECONDS = 30.0
#: A gap-class value no task has: the re-queue query when the filters exclude every short class.
NO_CLASS = "(none)"

_lock = threading.Lock()


def context_service() -> RunContextService:
    """The app's run context service, built on first use from the app's client and store."""
    key = "lobstr_dash.run_context"
    service = current_app.extensions.get(key)
    if service is None:
        with _lock:
            service = current_app.extensions.get(key)
            if service is None:
                svc = services()
                service = RunContextService(
                    svc.client, svc.store,
                    refresh_seconds=float(current_app.config["LIVE_REFRESH_SECONDS"]),
                    retry_seconds=CONTEXT_RETRY_SECONDS)
                current_app.extensions[key] = service
    return service  # type: ignore[no-any-return]


def requeue_query(query: TaskQuery) -> TaskQuery:
    """The tasks a re-queue kit retries: those that ended short, within the current filters."""
    wanted = [c for c in (query.classes or gapclass.ENDED_SHORT) if c in gapclass.ENDED_SHORT]
    return replace(query, classes=tuple(wanted) or (NO_CLASS,), page=1)


class RunInsights:
    """The run page's extra parts for one request."""

    def __init__(self, run_id: str, query: TaskQuery, status: RunStatus) -> None:
        self.run_id = run_id
        self.query = query
        self.status = status
        self.store = services().store

    # -- run context -----------------------------------------------------------------------

    @cached_property
    def context(self) -> ContextAnswer:
        """The run's own object and stats (cached; a status poll never waits for them)."""
        poll = partial_target(request, frozenset({"run-status"})) == "run-status"
        wait = 0.0 if poll else min(float(current_app.config["LOAD_WAIT_SECONDS"]),
                                    CONTEXT_WAIT_SECONDS)
        return context_service().get(self.run_id, wait)

    @cached_property
    def run_reason(self) -> reasons.Reason | None:
        """The glossary entry of the run's own done_reason."""
        run = self.context.context.run
        return reasons.explain(run.done_reason) if run and run.done_reason else None

    @property
    def squid_runs_url(self) -> str | None:
        """The run list of the run's squid, once the context names it."""
        squid = self.context.context.squid
        return url_for("browse.squid_runs", squid_id=squid) if squid else None

    @property
    def previous_url(self) -> str:
        """Compare with the previous run of the same squid (resolved when followed)."""
        return url_for("browse.previous", run_id=self.run_id)

    @property
    def digest_url(self) -> str:
        """The copyable summary of the run (the digest route also takes the table's filters)."""
        return url_for("browse.digest_view", run_id=self.run_id)

    # -- reasons and classes ---------------------------------------------------------------

    @cached_property
    def cards(self) -> list[reasons.ReasonCard]:
        """One card per done_reason of the run (the whole run, not the filters)."""
        return insights.cached(self.store, self.run_id, "cards", None,
                               lambda: insights.reason_cards(self.store, self.run_id))

    def reason_link(self, code: str | None) -> str:
        """The task table filtered to one done_reason."""
        return url_for("views.run", run_id=self.run_id, reason=[code or NO_REASON])

    @cached_property
    def classes(self) -> list[tuple[str, str, int, str]]:
        """(key, label, tasks, description) per gap class present in the run, in display order."""
        counts = insights.cached(self.store, self.run_id, "classes", None,
                                 lambda: insights.class_counts(self.store, self.run_id))
        return [(key, label, counts[key], gapclass.DESCRIPTIONS[key])
                for key, label in gapclass.CLASSES.items() if counts.get(key)]

    # -- charts ----------------------------------------------------------------------------

    @cached_property
    def charts(self) -> list[Any]:
        """The three charts of the tasks that match the filters (SVG marked safe: all escaped)."""
        key = insights.filters_key(self.query)
        store, run_id, query = self.store, self.run_id, self.query
        buckets = insights.cached(store, run_id, "buckets", key,
                                  lambda: insights.completeness_buckets(store, run_id, query))
        missing = insights.cached(store, run_id, "missing", key,
                                  lambda: insights.missing_by_reason(store, run_id, query))
        line = insights.cached(store, run_id, "timeline", key,
                               lambda: insights.timeline(store, run_id, query))
        hrefs = {code: url_for("views.run", run_id=run_id,
                               **query_args(query, reason=[code or NO_REASON], page=None))
                 for code, _m, _s in missing}
        built = [charts.completeness_histogram(buckets),
                 charts.missing_by_reason(missing, hrefs=hrefs),
                 charts.timeline(line)]
        # charts.py escapes every text and attribute it puts in the SVG.
        return [(chart, Markup(chart.svg)) for chart in built]  # noqa: S704

    # -- re-queue kit ----------------------------------------------------------------------

    @cached_property
    def requeue_count(self) -> int:
        """Tasks the re-queue kit would export under the current filters."""
        return insights.count(self.store, self.run_id, requeue_query(self.query))

    @property
    def requeue_warning(self) -> str:
        """lobstr de-duplicates identical params on a squid: say so next to the kit."""
        return requeue.DEDUP_WARNING

    def requeue_url(self, fmt: str) -> str:
        """The kit's CSV (fmt "csv") or URL list (fmt "txt"), with the current filters."""
        return url_for("browse.requeue_kit", run_id=self.run_id, fmt=fmt,
                       **query_args(self.query, page=None, sort=None, dir=None))


def insights_for(run_id: str, query: TaskQuery, status: RunStatus) -> RunInsights:
    """The run page's extra parts (the run page's context calls this)."""
    return RunInsights(run_id, query, status)
