"""The digest: a short Markdown summary of a run for a chat message or a ticket."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for

from ..domain import gapclass
from ..domain.query import TaskQuery
from ..render import digest
from . import formats
from .filters import compact_params
from .querystring import canonical_run_id
from .querystring import parse_task_query
from .querystring import query_args
from .services import services

bp = Blueprint("digest", __name__)

#: The biggest gaps the digest lists.
BIGGEST_GAPS = 5


@dataclass(frozen=True)
class DigestPage:
    """What the digest page shows."""

    run_id: str
    text: str
    permalink: str
    text_url: str
    run_url: str


def filters_text(query: TaskQuery) -> str:
    """The query's filters in words ("status error; short tasks only"), empty when none."""
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


@formats.route(bp, "/runs/<run_id>/digest", ("txt",))
def page(run_id: str, fmt: str | None) -> Any:
    """A Markdown summary of the run (totals, top reasons, biggest gaps) with its permalink."""
    run_id = canonical_run_id(run_id)
    query = parse_task_query(request.args, int(current_app.config["TASKS_PER_PAGE"]))
    svc = services()
    wait = float(current_app.config["LOAD_WAIT_SECONDS"])
    run, info = svc.runs.ensure_with_info(run_id, wait)
    biggest = svc.store.query(run_id, replace(query, sort="gap", descending=True, page=1,
                                              per_page=BIGGEST_GAPS))
    gaps = [digest.GapLine(t.position, t.url or compact_params(t.params, skip=()), t.expected,
                           t.collected, t.gap, t.done_reason)
            for t in biggest.rows if t.gap is not None and t.gap > 0]
    view_args = query_args(query, page=None)
    permalink = url_for("run.page", run_id=run_id, _external=True, **view_args)
    counts = run.summary.by_class  # the summary's own counts: the same "short" as the run page
    classes = [(label, counts[key]) for key, label in gapclass.CLASSES.items() if counts.get(key)]
    text = digest.render(run_id, permalink, run.summary, info=info.info,
                         cards=svc.store.reason_cards(run_id), gaps=gaps,
                         filters=filters_text(query), partial=run.incomplete, classes=classes,
                         lobstr_warning=run.record.plan_warning)
    if fmt == "txt":
        return Response(text, mimetype="text/plain")
    return render_template("digest.html", page=DigestPage(
        run_id=run_id, text=text, permalink=permalink,
        text_url=url_for("digest.page", run_id=run_id, fmt="txt", **view_args),
        run_url=url_for("run.page", run_id=run_id, **view_args)))
