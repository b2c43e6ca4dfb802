"""The squids of the account, searchable by name, and each squid's runs, newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from flask import url_for

from ..domain import reasons
from ..domain.runinfo import RunDetails
from ..domain.squids import SquidRow
from ..render.exports import iso
from ..store import StoredRunFigures
from ..upstream.envelopes import Envelope
from ..upstream.errors import LobstrError
from . import formats
from .htmx import partial_target
from .htmx import vary_on_htmx
from .links import QueryLinks
from .querystring import InvalidInput
from .querystring import is_run_id
from .querystring import whole_number
from .services import services
from .squidhealth import SquidHealth
from .squidhealth import build_health

bp = Blueprint("squids", __name__)

#: Rows per page of the squid and run lists (lobstr serves up to 100).
LIST_PAGE_SIZE = 50
MAX_NAME_LENGTH = 200
SQUID_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

SQUID_COLUMNS = ("id", "name", "crawler_name", "is_active", "last_run_status", "last_run_at",
                 "total_runs", "runs_url")
RUN_COLUMNS = ("id", "status", "done_reason", "done_reason_group", "done_reason_documented",
               "done_reason_desc", "started_at", "ended_at", "duration_seconds", "credit_used",
               "origin", "total_results", "tasks_stored", "expected_stored", "missing_stored",
               "percent_complete", "run_url")


def valid_squid(value: str | None) -> bool:
    """True for a squid id the dashboard links to (letters, digits, - and _, up to 64)."""
    return bool(value and SQUID_ID.match(value))


def _openable(run_id: str | None) -> bool:
    """True for a listed run id that is a canonical run id (lobstr may list malformed ones)."""
    return bool(run_id) and is_run_id(run_id or "")


# -- the squid list -------------------------------------------------------------------------

@dataclass(frozen=True)
class SquidItem:
    """One squid of the list, with the link to its runs (None for an id we will not link)."""

    squid: SquidRow
    runs_url: str | None


@dataclass(frozen=True)
class SquidsPage:
    """What the squid list shows."""

    q: str
    squids: list[SquidItem]
    envelope: Envelope
    links: QueryLinks
    exports: dict[str, str]
    clear: str


def _squid_item(squid: SquidRow) -> SquidItem:
    return SquidItem(squid, url_for("squids.runs", squid_id=squid.id)
                     if valid_squid(squid.id) else None)


def _squid_record(item: SquidItem) -> dict[str, Any]:
    squid = item.squid
    return {"id": squid.id, "name": squid.name, "crawler_name": squid.crawler_name,
            "is_active": squid.is_active, "last_run_status": squid.last_run_status,
            "last_run_at": iso(squid.last_run_at), "total_runs": squid.total_runs,
            "runs_url": item.runs_url}


@formats.route(bp, "/squids", ("json", "csv"))
def index(fmt: str | None) -> Any:
    """The account's squids, searchable by name; each links to its runs."""
    name = (request.args.get("q") or "").strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name search is longer than {MAX_NAME_LENGTH} characters.")
    page = whole_number(request.args.get("page"), "page", 1, 1, 100_000)
    lists = services().lists
    if fmt is not None:
        records = [_squid_record(_squid_item(s)) for s in lists.all_squids(name)]
        return formats.export(fmt, formats.Export(records, "squids", SQUID_COLUMNS, "squids.csv",
                                                  head={"q": name}))
    rows, envelope = lists.squids_page(name, page, LIST_PAGE_SIZE)
    search = {"q": name or None}
    view = SquidsPage(
        q=name, squids=[_squid_item(s) for s in rows], envelope=envelope,
        links=QueryLinks("squids.index", {**search, "page": page if page > 1 else None}),
        exports={f: QueryLinks("squids.index", search).with_format(f) for f in ("csv", "json")},
        clear=url_for("squids.index"))
    template = ("partials/_squid_list.html" if partial_target(request, frozenset({"squid-list"}))
                else "squids.html")
    return vary_on_htmx(Response(render_template(template, page=view)))


# -- the runs of a squid --------------------------------------------------------------------

@dataclass(frozen=True)
class RunItem:
    """One run of a squid's list: lobstr's figures, the stored ones, and its links."""

    run: RunDetails
    reason: reasons.Reason | None
    stored: StoredRunFigures | None
    url: str | None
    compare_url: str | None


@dataclass(frozen=True)
class SquidRunsPage:
    """What a squid's run list shows."""

    squid_id: str
    squid: SquidRow | None
    squid_error: str | None
    runs: list[RunItem]
    envelope: Envelope
    links: QueryLinks
    exports: dict[str, str]
    squids_url: str
    #: The trend of the last runs (first page only), with the runs an alert fired for.
    health: SquidHealth | None = None

    @property
    def title_name(self) -> str:
        """The squid's name, or its id when lobstr gave none."""
        return self.squid.name if self.squid and self.squid.name else self.squid_id

    @property
    def total_note(self) -> str | None:
        """Why lobstr's count of the squid's runs differs from the runs it lists, when it does."""
        counted = self.squid.total_runs if self.squid else None
        listed = self.envelope.total
        if counted is None or listed is None or counted == listed:
            return None
        if counted > listed:
            return (f"lobstr counts {counted:,} runs for this squid but lists {listed:,}: runs "
                    "that were deleted, or are still being set up, are counted but not listed.")
        return (f"lobstr lists {listed:,} runs but the squid's own counter says {counted:,}: the "
                "counter is updated later than the list (a run started moments ago).")


def _run_items(runs: list[RunDetails], stored: dict[str, StoredRunFigures], *,
               more_after: bool = False) -> list[RunItem]:
    """The list's rows; each compares with the run after it in the list (the one before in time).

    The oldest run listed gets no comparison unless `more_after` says older runs are on a later
    page: "with the run before" shows only when there is one.
    """
    items = []
    for index, run in enumerate(runs):
        older = runs[index + 1] if index + 1 < len(runs) else None
        compare_url = None
        if _openable(run.id):
            if older is not None and _openable(older.id):
                compare_url = url_for("compare.page", a=older.id, b=run.id)
            elif older is not None or more_after:
                compare_url = url_for("compare.previous", run_id=run.id)
        items.append(RunItem(
            run=run, reason=reasons.explain(run.done_reason) if run.done_reason else None,
            stored=stored.get(run.id or ""),
            url=url_for("run.page", run_id=run.id) if _openable(run.id) else None,
            compare_url=compare_url))
    return items


def _run_record(item: RunItem) -> dict[str, Any]:
    run, entry, stored = item.run, item.reason, item.stored
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
        "run_url": item.url,
    }


@formats.route(bp, "/squids/<squid_id>/runs", ("json", "csv"))
def runs(squid_id: str, fmt: str | None) -> Any:
    """A squid's runs, newest first: status, reason, results, credits, and completeness if stored."""
    if not valid_squid(squid_id):
        raise InvalidInput("That is not a squid id (letters, digits, - and _, up to 64).")
    page = whole_number(request.args.get("page"), "page", 1, 1, 100_000)
    svc = services()
    if fmt is not None:
        listed = svc.lists.all_runs(squid_id)
        stored = svc.store.stored_runs([r.id for r in listed if r.id])
        records = [_run_record(item) for item in _run_items(listed, stored)]
        return formats.export(fmt, formats.Export(records, "runs", RUN_COLUMNS,
                                                  f"squid-{squid_id}-runs.csv",
                                                  head={"squid": squid_id}))
    squid, squid_error = None, None
    try:
        squid = svc.lists.squid(squid_id)
    except LobstrError as exc:
        if exc.kind == "not_found":
            raise
        squid_error = exc.message  # the runs can still be listed
    listed_page = svc.lists.runs_page(squid_id, page, LIST_PAGE_SIZE)
    stored = svc.store.stored_runs([r.id for r in listed_page.runs if r.id])
    return render_template("squid_runs.html", page=SquidRunsPage(
        squid_id=squid_id, squid=squid, squid_error=squid_error,
        runs=_run_items(listed_page.runs, stored, more_after=listed_page.envelope.has_next),
        envelope=listed_page.envelope,
        links=QueryLinks("squids.runs", {"page": page if page > 1 else None}, squid_id=squid_id),
        exports={f: url_for("squids.runs", squid_id=squid_id, fmt=f) for f in ("csv", "json")},
        squids_url=url_for("squids.index"),
        health=build_health(squid_id, listed_page.runs, stored) if page == 1 else None))
