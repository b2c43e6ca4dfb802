"""The home page: the run lookup form, the demo runs and the runs opened recently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from .querystring import InvalidInput
from .querystring import extract_run_id
from .services import services

bp = Blueprint("home", __name__)

#: Runs listed under "Recently opened".
RECENT_RUNS = 10


@dataclass(frozen=True)
class RecentRun:
    """A run opened recently: lobstr's status of it (not how far the dashboard has read it)."""

    run_id: str
    status: str | None
    tasks: int | None
    fetched_at: float | None
    #: True while the dashboard is still reading its tasks.
    reading: bool


@dataclass(frozen=True)
class HomePage:
    """What the home page shows."""

    pasted: str
    error: str | None
    demo_runs: list[Any]
    recent_runs: list[RecentRun]
    #: lobstr's status of the runs shown, when the dashboard has read it.
    statuses: dict[str, str]


@bp.get("/")
def index() -> Any:
    """Show the lookup form; with `?run=` extract the run id from pasted text and go to its page."""
    pasted = request.args.get("run")
    error = None
    if pasted is not None:
        try:
            return redirect(url_for("run.page", run_id=extract_run_id(pasted)), 303)
        except InvalidInput as exc:
            error = str(exc)
    svc = services()
    recent = svc.store.recent_runs(RECENT_RUNS)
    statuses = svc.store.run_statuses([r["run_id"] for r in recent]
                                      + [d.run_id for d in svc.demo_runs])
    page = HomePage(pasted=(pasted or "")[:200], error=error, demo_runs=svc.demo_runs,
                    recent_runs=[RecentRun(r["run_id"], statuses.get(r["run_id"]),
                                           r["total_results"], r["fetched_at"],
                                           r["state"] == "loading") for r in recent],
                    statuses=statuses)
    return render_template("index.html", page=page), 400 if error else 200
