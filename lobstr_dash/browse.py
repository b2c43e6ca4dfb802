"""Pages beyond one run: squids and their runs, comparing two runs, the digest, the re-queue kit,
and the done_reason glossary. Thin views over the client, the runs service and the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from . import compare
from . import digest
from . import gapclass
from . import insights
from . import pairing
from . import reasons
from . import requeue
from .errorhandlers import render_error
from .errors import LobstrError
from .exports import csv_stream
from .exports import iso
from .formatting import compact_params
from .exports import neutralise
from .htmx import partial_target
from .htmx import vary_on_htmx
from .listing import SquidRow
from .listing import parse_envelope
from .params import InvalidInput
from .params import MAX_FILTER_VALUES
from .params import extract_run_id
from .params import parse_task_query
from .params import query_args
from .params import whole_number
from .runinfo import RunDetails
from .runpage import context_service
from .runpage import requeue_query
from .services import canonical_run_id
from .services import services
from .store import TaskQuery

bp = Blueprint("browse", __name__)

#: Rows per page of the squid and run lists (lobstr serves up to 100).
LIST_PAGE_SIZE = 50
#: Upstream pages an export of a list reads at most (100 rows each).
EXPORT_MAX_PAGES = 20
#: Pages of a squid's runs searched for the run before the one asked about.
PREVIOUS_MAX_PAGES = 10
MAX_NAME_LENGTH = 200
SQUID_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

SQUID_COLUMNS = ("id", "name", "crawler_name", "is_active", "last_run_status", "last_run_at",
                 "total_runs", "runs_url")
RUN_COLUMNS = ("id", "status", "done_reason", "done_reason_group", "done_reason_documented",
               "done_reason_desc", "started_at", "ended_at", "duration_seconds", "credit_used",
               "origin", "total_results", "tasks_stored", "expected_stored", "missing_stored",
               "percent_complete", "run_url")
PAIR_COLUMNS = ("kind", "via", "position", "url", "delta", "a_id", "a_status", "a_done_reason",
                "a_expected", "a_collected", "a_gap_class", "b_id", "b_status", "b_done_reason",
                "b_expected", "b_collected", "b_gap_class", "params")
GLOSSARY_COLUMNS = ("done_reason", "group", "group_label", "scope", "meaning", "action", "sources")


def _format(fmt: str | None, allowed: tuple[str, ...] = ("json", "csv")) -> str | None:
    if fmt is not None and fmt not in allowed:
        abort(404)
    return fmt


def _csv_response(columns: tuple[str, ...], records: Iterable[dict[str, Any]],
                  filename: str) -> Response:
    """Stream records as CSV with formula-like cells neutralised."""
    def cells(record: dict[str, Any]) -> list[Any]:
        row = []
        for column in columns:
            value = record.get(column)
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            row.append("" if value is None else neutralise(value))
        return row

    def lines() -> Iterator[str]:
        return csv_stream(columns, (cells(record) for record in records))

    # No stream_with_context: callers build anything that needs the request before streaming, so
    # an export that is never read to its end leaves no request context pushed.
    response = Response(lines(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _json_response(head: dict[str, Any], key: str, records: Iterable[dict[str, Any]]) -> Response:
    """Stream `head` plus an array of records under `key`."""
    def chunks() -> Iterator[str]:
        opening = json.dumps({"ok": True, **head}, ensure_ascii=False)
        yield opening[:-1] + f', "{key}": ['
        for index, record in enumerate(records):
            yield ("," if index else "") + "\n" + json.dumps(record, ensure_ascii=False)
        yield "\n]}\n"

    return Response(chunks(), mimetype="application/json")


def _all_pages(path: str, params: dict[str, Any]) -> Iterator[Any]:
    """Every row of an upstream list, 100 a page, at most EXPORT_MAX_PAGES pages."""
    client = services().client
    for page in range(1, EXPORT_MAX_PAGES + 1):
        envelope = parse_envelope(client.get_json(path, {**params, "page": page, "limit": 100}),
                                  page, 100)
        yield from envelope.rows
        if not envelope.rows or not envelope.has_next:
            return


# -- glossary ---------------------------------------------------------------------------------

def _glossary_record(entry: reasons.Reason) -> dict[str, Any]:
    return {"done_reason": entry.code, "group": entry.group, "group_label": entry.group_label,
            "scope": entry.scope, "meaning": entry.meaning, "action": entry.action,
            "sources": [reasons.SOURCES[s] for s in entry.sources]}


@bp.get("/reasons", defaults={"fmt": None})
@bp.get("/reasons.<fmt>")
def glossary(fmt: str | None) -> Any:
    """Every documented done_reason in plain words, grouped, with what to do."""
    fmt = _format(fmt)
    entries = [e for _key, _label, group in reasons.by_group() for e in group]
    if fmt == "json":
        return _json_response({"groups": reasons.GROUPS}, "reasons", map(_glossary_record, entries))
    if fmt == "csv":
        return _csv_response(GLOSSARY_COLUMNS, map(_glossary_record, entries), "done-reasons.csv")
    return render_template("reasons.html", groups=reasons.by_group(), hints=reasons.GROUP_HINTS,
                           sources=reasons.SOURCES, classes=gapclass.CLASSES,
                           class_descriptions=gapclass.DESCRIPTIONS)


# -- squids -----------------------------------------------------------------------------------

def _squid_record(squid: SquidRow) -> dict[str, Any]:
    return {"id": squid.id, "name": squid.name, "crawler_name": squid.crawler_name,
            "is_active": squid.is_active, "last_run_status": squid.last_run_status,
            "last_run_at": iso(squid.last_run_at), "total_runs": squid.total_runs,
            "runs_url": url_for("browse.squid_runs", squid_id=squid.id) if _valid_squid(squid.id)
            else None}


def _valid_squid(value: str | None) -> bool:
    return bool(value and SQUID_ID.match(value))


@bp.get("/squids", defaults={"fmt": None})
@bp.get("/squids.<fmt>")
def squids(fmt: str | None) -> Any:
    """The account's squids, searchable by name; each links to its runs."""
    fmt = _format(fmt)
    name = (request.args.get("q") or "").strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name search is longer than {MAX_NAME_LENGTH} characters.")
    page = whole_number(request.args.get("page"), "page", 1, 1, 100_000)
    search = {"name": name} if name else {}
    if fmt is not None:
        rows = [_squid_record(SquidRow.from_api(r)) for r in _all_pages("squids", search)]
        if fmt == "json":
            return _json_response({"q": name}, "squids", rows)
        return _csv_response(SQUID_COLUMNS, rows, "squids.csv")
    body = services().client.get_json("squids", {**search, "page": page, "limit": LIST_PAGE_SIZE})
    envelope = parse_envelope(body, page, LIST_PAGE_SIZE)

    def link(**changes: Any) -> str:
        args = {"q": name or None, "page": page if page > 1 else None, **changes}
        return url_for("browse.squids", **{k: v for k, v in args.items() if v is not None})

    context = {"squids": [SquidRow.from_api(r) for r in envelope.rows], "envelope": envelope,
               "q": name, "link": link, "valid_squid": _valid_squid,
               "export_url": lambda f: url_for("browse.squids", fmt=f, **({"q": name} if name else {}))}
    template = ("partials/_squid_list.html" if partial_target(request, frozenset({"squid-list"}))
                else "squids.html")
    return vary_on_htmx(Response(render_template(template, **context)))


# -- runs of a squid --------------------------------------------------------------------------

def _run_record(run: RunDetails, stored: insights.StoredRunFigures | None) -> dict[str, Any]:
    entry = reasons.explain(run.done_reason) if run.done_reason else None
    return {
        "id": run.id, "status": run.status, "done_reason": run.done_reason,
        "done_reason_group": entry.group if entry else None,
        "done_reason_documented": entry.documented if entry else None,
        "done_reason_desc": run.done_reason_desc, "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "duration_seconds": None if run.duration is None else round(run.duration, 3),
        "credit_used": run.credit_used, "origin": run.origin, "total_results": run.total_results,
        "tasks_stored": stored.tasks if stored else None,
        "expected_stored": stored.expected if stored else None,
        "missing_stored": stored.missing if stored else None,
        "percent_complete": None if stored is None or stored.percent_complete is None
        else round(stored.percent_complete, 2),
        "run_url": url_for("views.run", run_id=run.id) if run.id and _is_run(run.id) else None,
    }


def _is_run(value: str) -> bool:
    try:
        return canonical_run_id(value) == value
    except InvalidInput:
        return False


def _newest_first(runs: list[RunDetails]) -> list[RunDetails]:
    """lobstr lists runs newest first; keep that order even if a page comes back shuffled."""
    def key(run: RunDetails) -> float:
        moment = run.started_at or run.created_at
        return -(moment if moment is not None else float("-inf"))
    return sorted(runs, key=key)


@bp.get("/squids/<squid_id>/runs", defaults={"fmt": None})
@bp.get("/squids/<squid_id>/runs.<fmt>")
def squid_runs(squid_id: str, fmt: str | None) -> Any:
    """A squid's runs, newest first: status, reason, results, credits, and completeness if stored."""
    fmt = _format(fmt)
    if not _valid_squid(squid_id):
        raise InvalidInput("That is not a squid id (letters, digits, - and _, up to 64).")
    page = whole_number(request.args.get("page"), "page", 1, 1, 100_000)
    svc = services()
    if fmt is not None:
        runs = _newest_first([RunDetails.from_api(r) for r in _all_pages("runs", {"squid": squid_id})])
        stored = insights.stored_runs(svc.store, [r.id for r in runs if r.id])
        records = [_run_record(r, stored.get(r.id or "")) for r in runs]
        if fmt == "json":
            return _json_response({"squid": squid_id}, "runs", records)
        return _csv_response(RUN_COLUMNS, records, f"squid-{squid_id}-runs.csv")
    squid, squid_error = None, None
    try:
        squid = SquidRow.from_api(svc.client.get_json(f"squids/{squid_id}") or {})
    except LobstrError as exc:
        if exc.kind == "not_found":
            raise
        squid_error = exc.message  # the runs can still be listed
    body = svc.client.get_json("runs", {"squid": squid_id, "page": page, "limit": LIST_PAGE_SIZE})
    envelope = parse_envelope(body, page, LIST_PAGE_SIZE)
    runs = _newest_first([RunDetails.from_api(r) for r in envelope.rows])
    stored = insights.stored_runs(svc.store, [r.id for r in runs if r.id])

    def link(**changes: Any) -> str:
        args = {"page": page if page > 1 else None, **changes}
        return url_for("browse.squid_runs", squid_id=squid_id,
                       **{k: v for k, v in args.items() if v is not None})

    return render_template(
        "squid_runs.html", squid_id=squid_id, squid=squid, squid_error=squid_error, runs=runs,
        stored=stored, envelope=envelope, link=link, explain=reasons.explain, is_run=_is_run,
        export_url=lambda f: url_for("browse.squid_runs", squid_id=squid_id, fmt=f))


@bp.get("/runs/<run_id>/previous")
def previous(run_id: str) -> Any:
    """Go to the comparison of this run with the run of the same squid just before it."""
    run_id = canonical_run_id(run_id)
    answer = context_service().get(run_id, float(current_app.config["LOAD_WAIT_SECONDS"]))
    squid = answer.context.squid
    if not squid or not _valid_squid(squid):
        detail = f" ({answer.error})" if answer.error else ""
        return _pick_runs(run_id, "lobstr has not said which squid this run belongs to" + detail
                          + ", so its previous run is unknown. Paste the run to compare it with.")
    client = services().client
    seen = False
    for page in range(1, PREVIOUS_MAX_PAGES + 1):
        envelope = parse_envelope(client.get_json("runs", {"squid": squid, "page": page, "limit": 100}),
                                  page, 100)
        for run in _newest_first([RunDetails.from_api(r) for r in envelope.rows]):
            if seen and run.id and _is_run(run.id):
                return redirect(url_for("browse.compare_runs", a=run.id, b=run_id), 303)
            seen = seen or run.id == run_id
        if not envelope.has_next:
            break
    return _pick_runs(run_id, "This is the oldest run of its squid that lobstr lists: there is no "
                      "run before it. Paste another run to compare it with.",
                      url_for("browse.squid_runs", squid_id=squid))


def _pick_runs(run_id: str, notice: str, squid_runs_url: str | None = None) -> Any:
    """The comparison form with this run as B, and why no previous run was found."""
    return render_template("compare.html", a="", b=run_id, ready=False, page=None,
                           query=pairing.CompareQuery(), notice=notice,
                           squid_runs_url=squid_runs_url)


# -- compare ----------------------------------------------------------------------------------

class _FiltersOnly:
    """Query-string args with the compare page's own sort, dir and page hidden from the task parser."""

    def __init__(self, args: Any) -> None:
        self.args = args

    def get(self, key: str, default: str | None = None) -> str | None:
        return default if key in ("sort", "dir", "page") else self.args.get(key, default)

    def getlist(self, key: str) -> list[str]:
        return [] if key in ("sort", "dir", "page") else self.args.getlist(key)


def parse_compare_query(args: Any, per_page: int) -> pairing.CompareQuery:
    """Read a comparison's filters, kinds, sort and page; raises InvalidInput."""
    filters = parse_task_query(_FiltersOnly(args), per_page)
    kinds = tuple(dict.fromkeys(k.strip() for k in args.getlist("kind") if k.strip()))
    if len(kinds) > MAX_FILTER_VALUES:
        raise InvalidInput("Too many `kind` values.")
    for kind in kinds:
        if kind not in compare.KINDS:
            raise InvalidInput(f"Unknown change `{kind[:40]}`; use one of: {', '.join(compare.KINDS)}.")
    sort = (args.get("sort") or "change").strip()
    if sort not in pairing.SORTS:
        raise InvalidInput(f"Unknown sort `{sort[:40]}`; use one of: {', '.join(pairing.SORTS)}.")
    direction = (args.get("dir") or "").strip().lower()
    if direction not in ("", "asc", "desc"):
        raise InvalidInput("`dir` must be asc or desc.")
    descending = direction == "desc" if direction else sort in pairing.DESCENDING_FIRST
    page = whole_number(args.get("page"), "page", 1, 1, 1_000_000)
    return pairing.CompareQuery(filters=filters, kinds=kinds, sort=sort, descending=descending,
                                page=page, per_page=per_page)


def compare_args(query: pairing.CompareQuery, **changes: Any) -> dict[str, Any]:
    """Query-string arguments that reproduce a comparison (without a and b)."""
    args = query_args(query.filters, sort=None, dir=None, page=None)
    args.update({
        "kind": list(query.kinds), "sort": query.sort if query.sort != "change" else None,
        "dir": None if query.descending == (query.sort in pairing.DESCENDING_FIRST)
        else ("desc" if query.descending else "asc"),
        "page": query.page if query.page > 1 else None,
    })
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, [], "")}


def _side_record(prefix: str, side: compare.Side | None) -> dict[str, Any]:
    names = ("id", "status", "done_reason", "expected", "collected", "gap_class")
    return {f"{prefix}_{n}": (getattr(side, n) if side else None) for n in names}


def _pair_record(pair: compare.Pair) -> dict[str, Any]:
    position = pair.b.position if pair.b else pair.a.position if pair.a else None
    return {"kind": pair.kind, "via": pair.via, "position": position, "url": pair.url,
            "delta": pair.delta, **_side_record("a", pair.a), **_side_record("b", pair.b),
            "params": pair.params}


def _run_arg(name: str) -> str | None:
    raw = (request.args.get(name) or "").strip()
    return extract_run_id(raw) if raw else None


@bp.get("/compare", defaults={"fmt": None})
@bp.get("/compare.<fmt>")
def compare_runs(fmt: str | None) -> Any:
    """Two runs task by task: regressions, improvements, and tasks in one run only."""
    fmt = _format(fmt)
    per_page = int(current_app.config["TASKS_PER_PAGE"])
    a, b = _run_arg("a"), _run_arg("b")
    query = parse_compare_query(request.args, per_page)
    if a is None or b is None:
        if fmt is not None:
            raise InvalidInput("Give two runs to compare: `a` (the baseline) and `b`.")
        return render_template("compare.html", a=a or "", b=b or "", ready=False, page=None,
                               query=query)
    if a == b:
        raise InvalidInput("Pick two different runs to compare.")
    if (request.args.get("a"), request.args.get("b")) != (a, b):
        return redirect(url_for("browse.compare_runs", fmt=fmt, a=a, b=b, **compare_args(query)), 301)
    svc = services()
    wait = float(current_app.config["EXPORT_WAIT_SECONDS" if fmt else "LOAD_WAIT_SECONDS"])
    svc.runs.ensure(a, 0.0)  # start both loads before waiting on either
    status_b = svc.runs.ensure(b, wait)
    status_a = svc.runs.ensure(a, wait)
    loading = status_a.loading or status_b.loading
    if loading and fmt is not None:
        return render_error(503, "Still loading", "The runs are still being read from lobstr; "
                            "try again in a few seconds.", kind="loading", headers={"Retry-After": "3"})

    def link(**changes: Any) -> str:
        return url_for("browse.compare_runs", a=a, b=b, **compare_args(query, **changes))

    if fmt is not None:
        everything = replace(query, page=1)
        records = (_pair_record(p) for p in pairing.iter_pairs(svc.store, a, b, everything))
        complete = not (status_a.partial or status_b.partial)
        if fmt == "json":
            response = _json_response({"a": a, "b": b, "complete": complete,
                                       "page_url": link(page=None)}, "pairs", records)
        else:
            response = _csv_response(PAIR_COLUMNS, records, f"compare-{a[:8]}-{b[:8]}.csv")
        response.headers["X-Run-Complete"] = "true" if complete else "false"
        return response
    page = None if loading else pairing.compare_page(svc.store, a, b, query)
    if page is not None and page.page != query.page:
        query = replace(query, page=page.page)
    context = {
        "a": a, "b": b, "ready": True, "loading": loading, "status_a": status_a,
        "status_b": status_b, "page": page, "query": query, "link": link,
        "kinds": compare.KINDS, "kind_descriptions": compare.DESCRIPTIONS,
        "regressions": compare.REGRESSIONS, "classes": gapclass.CLASSES,
        "descending_first": pairing.DESCENDING_FIRST,
        "export_url": lambda f: url_for("browse.compare_runs", fmt=f, a=a, b=b,
                                        **compare_args(query, page=None)),
        "swap_url": url_for("browse.compare_runs", a=a, b=b),
    }
    template = ("partials/_compare.html" if partial_target(request, frozenset({"compare"}))
                else "compare.html")
    response = Response(render_template(template, **context))
    if template != "compare.html" and request.headers.get("HX-Trigger") != "compare":
        response.headers["HX-Push-Url"] = link()
    return vary_on_htmx(response)


# -- digest -----------------------------------------------------------------------------------

def _filters_text(query: TaskQuery) -> str:
    parts = []
    if query.statuses:
        parts.append("status " + ", ".join(query.statuses))
    if query.reasons:
        parts.append("reason " + ", ".join(query.reasons))
    if query.classes:
        parts.append("class " + ", ".join(gapclass.label(c) for c in query.classes))
    if query.short_only:
        parts.append("short tasks only")
    if query.text:
        parts.append(f'params contain "{query.text}"')
    return "; ".join(parts)


@bp.get("/runs/<run_id>/digest", defaults={"fmt": None})
@bp.get("/runs/<run_id>/digest.<fmt>")
def digest_view(run_id: str, fmt: str | None) -> Any:
    """A Markdown summary of the run (totals, top reasons, biggest gaps) with its permalink."""
    fmt = _format(fmt, ("txt",))
    run_id = canonical_run_id(run_id)
    query = parse_task_query(request.args, int(current_app.config["TASKS_PER_PAGE"]))
    svc = services()
    wait = float(current_app.config["LOAD_WAIT_SECONDS"])
    status = svc.runs.ensure(run_id, wait)
    answer = context_service().get(run_id, min(wait, 2.0))
    cards = insights.cached(svc.store, run_id, "cards", None,
                            lambda: insights.reason_cards(svc.store, run_id))
    biggest = svc.store.query(run_id, replace(query, sort="gap", descending=True, page=1, per_page=5))
    gaps = [digest.GapLine(t.position, t.url or compact_params(t.params, skip=()), t.expected,
                           t.collected, t.gap, t.done_reason)
            for t in biggest.rows if t.gap is not None and t.gap > 0]
    view_args = query_args(query, page=None)
    permalink = url_for("views.run", run_id=run_id, _external=True, **view_args)
    counts = insights.cached(svc.store, run_id, "classes", None,
                             lambda: insights.class_counts(svc.store, run_id))
    classes = [(label, counts[key]) for key, label in gapclass.CLASSES.items() if counts.get(key)]
    text = digest.render(run_id, permalink, status.summary, context=answer.context, cards=cards,
                         gaps=gaps, filters=_filters_text(query), partial=status.partial,
                         classes=classes)
    if fmt == "txt":
        return Response(text, mimetype="text/plain")
    return render_template("digest.html", run_id=run_id, text=text, permalink=permalink,
                           text_url=url_for("browse.digest_view", run_id=run_id, fmt="txt", **view_args),
                           run_url=url_for("views.run", run_id=run_id, **view_args))


# -- re-queue kit -----------------------------------------------------------------------------

@bp.get("/runs/<run_id>/requeue.<fmt>")
def requeue_kit(run_id: str, fmt: str) -> Any:
    """The params of the tasks that ended short (under the filters): upload CSV or URL list."""
    fmt = _format(fmt, ("csv", "txt")) or ""
    run_id = canonical_run_id(run_id)
    query = requeue_query(parse_task_query(request.args, int(current_app.config["TASKS_PER_PAGE"])))
    query = replace(query, sort="position", descending=False)
    svc = services()
    status = svc.runs.ensure(run_id, float(current_app.config["EXPORT_WAIT_SECONDS"]))

    def rows() -> Iterator[Any]:
        return svc.store.iter_matching(run_id, query)

    if fmt == "csv":
        keys = insights.param_keys(svc.store, run_id, query)
        response = Response(requeue.csv_lines(keys, (r.params for r in rows())), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="run-{run_id}-requeue.csv"'
    else:
        response = Response(requeue.url_lines(r.url for r in rows()), mimetype="text/plain")
    response.headers["X-Run-Complete"] = "false" if status.partial else "true"
    return response
