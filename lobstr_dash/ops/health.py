"""`/healthz`: liveness for containers and load balancers; never calls lobstr."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """The process answers and its store can be read."""
    current_app.extensions["lobstr_dash"].store.probe()
    return jsonify(ok=True, demo=current_app.config["DEMO_MODE"])
