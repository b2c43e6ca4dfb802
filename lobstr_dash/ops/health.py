"""`/healthz`: liveness for containers and load balancers; never calls lobstr."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import jsonify

from ..store import StoreFault

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """The process answers and its store can be read and written (one tiny transaction).

    A corrupt store is dropped and rebuilt (it is a cache of lobstr), and then it is healthy
    again; a full or read-only disk answers 503 and says which.
    """
    store = current_app.extensions["lobstr_dash"].store
    demo = current_app.config["DEMO_MODE"]
    try:
        store.probe()
    except StoreFault as fault:
        if fault.kind != "corrupt":
            response = jsonify(ok=False, demo=demo, store=fault.kind, error=fault.message)
            response.status_code = 503
            return response
        store.rebuild()
        store.probe()
        return jsonify(ok=True, demo=demo, store="rebuilt", **_footprint(store))
    return jsonify(ok=True, demo=demo, store="ok", **_footprint(store))


def _footprint(store: Any) -> dict[str, int]:
    """The store's size, the runs it holds and the evictions so far (retention at a glance)."""
    held = store.footprint()
    return {"store_bytes": held.file_bytes, "store_used_bytes": held.used_bytes,
            "runs_held": held.runs, "evictions": held.evictions}
