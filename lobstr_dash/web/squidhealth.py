"""Squid health on a squid's runs page: completeness and missing results of its last runs, the
median, and which runs raised an alert, from what the store knows (no extra call to lobstr)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from markupsafe import Markup

from ..domain.runinfo import RunDetails
from ..domain.rulecheck import history_median
from ..domain.rulecheck import worst
from ..render.exports import iso
from ..render.trend import TrendPoint
from ..render.trend import squid_trend
from ..store import StoredRunFigures
from .querystring import is_run_id
from .runmodel import ChartView
from .services import services

#: The runs the trend covers: the newest of the list's first page.
HEALTH_RUNS = 20


@dataclass(frozen=True)
class SquidHealth:
    """The trend, its median, and the runs an alert fired for (run id → worst severity)."""

    chart: ChartView
    median: float | None
    runs_with_figures: int
    runs: int
    alerted: dict[str, str]
    alerts_url: str


def build_health(squid_id: str, listed: list[RunDetails],
                 stored: dict[str, StoredRunFigures]) -> SquidHealth | None:
    """The health of a squid from its newest listed runs (None when it has no run)."""
    runs = [r for r in listed if r.id and is_run_id(r.id)][:HEALTH_RUNS]
    if not runs:
        return None
    ids = [r.id or "" for r in runs]
    store = services().store
    verdicts = store.verdicts(ids)
    alerts = store.alerts_for_runs(ids)
    alerted = {run_id: worst([a.severity for a in found]) for run_id, found in alerts.items()}
    points = []
    for run in reversed(runs):  # oldest first, left to right
        run_id = run.id or ""
        kept, figures = verdicts.get(run_id), stored.get(run_id)
        percent = missing = None
        if kept is not None and kept.percent is not None:
            percent, missing = kept.percent, kept.missing
        elif figures is not None and figures.state == "done":
            percent, missing = figures.percent_complete, figures.missing
        label = (iso(run.started_at or run.created_at) or "")[:16].replace("T", " ") or run_id[:8]
        points.append(TrendPoint(run_id, label, percent, missing, alerted.get(run_id),
                                 url_for("run.page", run_id=run_id)))
    values = [p.percent for p in points if p.percent is not None]
    median = history_median(values)
    chart = squid_trend(points, median)
    # render/trend.py escapes every text and attribute it puts in the SVG.
    return SquidHealth(ChartView(chart, Markup(chart.svg)), median, len(values),  # noqa: S704
                       len(points), alerted, url_for("alerts.page", squid=squid_id))
