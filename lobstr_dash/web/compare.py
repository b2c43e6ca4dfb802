"""Compare two runs task by task, and find the run before a run to compare it with."""

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

from ..domain import changes
from ..domain import gapclass
from ..domain.changes import CompareQuery
from ..domain.changes import ComparePage
from ..domain.changes import Pair
from ..domain.changes import Side
from ..loading.loaded import LoadedRun
from . import formats
from .errors import render_error
from .htmx import partial_target
from .htmx import vary_on_htmx
from .links import QueryLinks
from .querystring import InvalidInput
from .querystring import canonical_run_id
from .querystring import compare_args
from .querystring import extract_run_id
from .querystring import is_run_id
from .querystring import parse_compare_query
from .services import services
from .squids import valid_squid

bp = Blueprint("compare", __name__)

PAIR_COLUMNS = ("kind", "via", "position", "url", "delta", "a_id", "a_status", "a_done_reason",
                "a_expected", "a_collected", "a_gap_class", "b_id", "b_status", "b_done_reason",
                "b_expected", "b_collected", "b_gap_class", "params")
#: The comparison table's columns: sort key, header label, numeric (right-aligned).
COLUMNS = [("position", "#", True), ("input", "Input", False), ("change", "Change", False),
           ("a_collected", "A collected", True), ("b_collected", "B collected", True),
           ("delta", "Δ", True), ("reason", "Done reason (A → B)", False)]


@dataclass(frozen=True)
class ComparisonView:
    """What the comparison page (or its htmx part) shows."""

    a: str
    b: str
    query: CompareQuery
    #: False while the form waits for two runs.
    ready: bool = False
    loading: bool = False
    run_a: LoadedRun | None = None
    run_b: LoadedRun | None = None
    result: ComparePage | None = None
    links: QueryLinks | None = None
    exports: dict[str, str] | None = None
    notice: str | None = None
    squid_runs_url: str | None = None

    kinds = changes.KINDS
    kind_descriptions = changes.DESCRIPTIONS
    regressions = changes.REGRESSIONS
    classes = gapclass.CLASSES
    descending_first = changes.DESCENDING_FIRST
    columns = COLUMNS

    @property
    def form_url(self) -> str:
        """Where the pick and filter forms send the browser."""
        return url_for("compare.page")

    @property
    def run_urls(self) -> tuple[str, str]:
        """The pages of run A and run B."""
        return url_for("run.page", run_id=self.a), url_for("run.page", run_id=self.b)

    @property
    def swap_url(self) -> str:
        """The same comparison the other way round."""
        return url_for("compare.page", a=self.b, b=self.a)

    @property
    def clear_url(self) -> str:
        """The comparison with no filter."""
        return url_for("compare.page", a=self.a, b=self.b)


def _side_record(prefix: str, side: Side | None) -> dict[str, Any]:
    names = ("id", "status", "done_reason", "expected", "collected", "gap_class")
    return {f"{prefix}_{n}": (getattr(side, n) if side else None) for n in names}


def _pair_record(pair: Pair) -> dict[str, Any]:
    position = pair.b.position if pair.b else pair.a.position if pair.a else None
    return {"kind": pair.kind, "via": pair.via, "position": position, "url": pair.url,
            "delta": pair.delta, **_side_record("a", pair.a), **_side_record("b", pair.b),
            "params": pair.params}


def _run_arg(name: str) -> str | None:
    raw = (request.args.get(name) or "").strip()
    return extract_run_id(raw) if raw else None


@formats.route(bp, "/compare", ("json", "csv"))
def page(fmt: str | None) -> Any:
    """Two runs task by task: regressions, improvements, and tasks in one run only."""
    per_page = int(current_app.config["TASKS_PER_PAGE"])
    a, b = _run_arg("a"), _run_arg("b")
    query = parse_compare_query(request.args, per_page)
    if a is None or b is None:
        if fmt is not None:
            raise InvalidInput("Give two runs to compare: `a` (the baseline) and `b`.")
        return render_template("compare.html", page=ComparisonView(a or "", b or "", query))
    if a == b:
        raise InvalidInput("Pick two different runs to compare.")
    if (request.args.get("a"), request.args.get("b")) != (a, b):
        return redirect(url_for("compare.page", fmt=fmt, a=a, b=b, **compare_args(query)), 301)
    svc = services()
    wait = float(current_app.config["EXPORT_WAIT_SECONDS" if fmt else "LOAD_WAIT_SECONDS"])
    svc.runs.ensure(a, 0.0)  # start both loads before waiting on either
    run_b = svc.runs.ensure(b, wait)
    run_a = svc.runs.ensure(a, wait)
    loading = run_a.loading or run_b.loading
    if loading and fmt is not None:
        return render_error(503, "Still loading", "The runs are still being read from lobstr; "
                            "try again in a few seconds.", kind="loading", headers={"Retry-After": "3"})
    links = QueryLinks("compare.page", compare_args(query), a=a, b=b)
    if fmt is not None:
        everything = replace(query, page=1)
        records = (_pair_record(p) for p in svc.store.iter_pairs(a, b, everything))
        return formats.export(fmt, formats.Export(
            records, "pairs", PAIR_COLUMNS, f"compare-{a[:8]}-{b[:8]}.csv",
            head={"a": a, "b": b, "complete": not (run_a.incomplete or run_b.incomplete),
                  "page_url": links(page=None)},
            complete=not (run_a.incomplete or run_b.incomplete)))
    result = None if loading else svc.store.compare_page(a, b, query)
    if result is not None and result.page != query.page:
        query = replace(query, page=result.page)
        links = QueryLinks("compare.page", compare_args(query), a=a, b=b)
    view = ComparisonView(
        a, b, query, ready=True, loading=loading, run_a=run_a, run_b=run_b, result=result,
        links=links,
        exports={f: url_for("compare.page", fmt=f, a=a, b=b, **compare_args(query, page=None))
                 for f in ("csv", "json")})
    template = ("partials/_compare.html" if partial_target(request, frozenset({"compare"}))
                else "compare.html")
    response = Response(render_template(template, page=view))
    if template != "compare.html" and request.headers.get("HX-Trigger") != "compare":
        response.headers["HX-Push-Url"] = links()
    return vary_on_htmx(response)


@bp.get("/runs/<run_id>/previous")
def previous(run_id: str) -> Any:
    """Go to the comparison of this run with the run of the same squid just before it."""
    run_id = canonical_run_id(run_id)
    svc = services()
    answer = svc.runs.info(run_id, float(current_app.config["LOAD_WAIT_SECONDS"]))
    squid = answer.info.squid
    if not squid or not valid_squid(squid):
        detail = f" ({answer.error})" if answer.error else ""
        return _pick_runs(run_id, "lobstr has not said which squid this run belongs to" + detail
                          + ", so its previous run is unknown. Paste the run to compare it with.")
    before = svc.lists.previous_run(squid, run_id, is_run=is_run_id)
    if before is not None:
        return redirect(url_for("compare.page", a=before, b=run_id), 303)
    return _pick_runs(run_id, "This is the oldest run of its squid that lobstr lists: there is no "
                      "run before it. Paste another run to compare it with.",
                      url_for("squids.runs", squid_id=squid))


def _pick_runs(run_id: str, notice: str, squid_runs_url: str | None = None) -> Any:
    """The comparison form with this run as B, and why no previous run was found."""
    return render_template("compare.html", page=ComparisonView(
        "", run_id, CompareQuery(), notice=notice, squid_runs_url=squid_runs_url))
