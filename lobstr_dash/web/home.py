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
class HomePage:
    """What the home page shows."""

    pasted: str
    error: str | None
    demo_runs: list[Any]
    recent_runs: list[Any]


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
    page = HomePage(pasted=(pasted or "")[:200], error=error, demo_runs=svc.demo_runs,
                    recent_runs=svc.store.recent_runs(RECENT_RUNS))
    return render_template("index.html", page=page), 400 if error else 200
