"""Prometheus metrics at /metrics: upstream requests, rate-limit waits, loads, request latency.

Under gunicorn every worker is a process with its own counters. gunicorn.conf.py points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before any worker starts, each worker writes its
values there, and a scrape of any worker adds them all up, so a scrape is the same whichever worker
answers. Without that variable (tests, `flask run`) the counters live in this process only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import disable_created_metrics
from prometheus_client import multiprocess

#: Where the route of a request (its URL rule, not its URL) is left for the request log.
ENVIRON_ROUTE = "lobstr_dash.route"
#: The label of requests that matched no route, so junk URLs cannot grow the series without bound.
UNMATCHED = "(unmatched)"

# Pages answer in milliseconds from the store or wait up to LOAD_WAIT_SECONDS (1.5 s) for a load;
# exports may wait EXPORT_WAIT_SECONDS (30 s) and stream for longer.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0)
# A runtasks page usually takes well under a second; the read timeout is 20 s.
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)

bp = Blueprint("metrics", __name__)

# The `_created` timestamps double the series for no use here (multiprocess mode omits them too).
disable_created_metrics()


def multiprocess_dir() -> str | None:
    """The directory shared by gunicorn's workers, when there is one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The app's metrics, in a registry of its own (tests build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.upstream_requests = Counter(
            "lobstr_dash_upstream_requests", "Requests sent to the lobstr API, by endpoint and "
            "outcome (an HTTP status, timeout or connection_error); retries count one each.",
            ["endpoint", "outcome"], registry=r)
        self.upstream_seconds = Histogram(
            "lobstr_dash_upstream_request_duration_seconds", "Time of one request to the lobstr API.",
            ["endpoint"], buckets=UPSTREAM_BUCKETS, registry=r)
        self.rate_limit_waits = Counter(
            "lobstr_dash_rate_limit_waits", "Upstream requests that waited for the rate limiter.",
            registry=r)
        self.rate_limit_wait_seconds = Counter(
            "lobstr_dash_rate_limit_wait_seconds", "Time spent waiting for the rate limiter.",
            registry=r)
        self.loads_in_flight = Gauge(
            "lobstr_dash_loads_in_flight", "Runs being fetched from lobstr right now (all workers).",
            registry=r, multiprocess_mode="livesum")
        self.actions = Counter(
            "lobstr_dash_actions", "Actions taken in lobstr (resurrect, retry), by outcome "
            "(accepted, refused, failed).", ["action", "outcome"], registry=r)
        self.http_requests = Counter(
            "lobstr_dash_http_requests", "Requests answered, by route (URL rule), method and status.",
            ["route", "method", "status"], registry=r)
        self.http_seconds = Histogram(
            "lobstr_dash_http_request_duration_seconds",
            "Time from receiving a request to sending its last byte, by route (URL rule).",
            ["route", "method"], buckets=HTTP_BUCKETS, registry=r)

    # -- observers -----------------------------------------------------------------------------

    def observe_upstream(self, endpoint: str, outcome: int | str, seconds: float) -> None:
        """The LobstrClient observer: one call per upstream request."""
        self.upstream_requests.labels(endpoint, str(outcome)).inc()
        self.upstream_seconds.labels(endpoint).observe(seconds)

    def observe_request(self, route: str, method: str, status: str, seconds: float) -> None:
        """The request log's observer: one call per answered request."""
        self.http_requests.labels(route, method, status).inc()
        self.http_seconds.labels(route, method).observe(seconds)

    def observe_rate_limit_wait(self, seconds: float) -> None:
        """The rate limiter's observer: a call waited `seconds` for its slot."""
        self.rate_limit_waits.inc()
        self.rate_limit_wait_seconds.inc(seconds)

    def observe_action(self, action: str, outcome: str) -> None:
        """The actions service's observer: one call per action taken in lobstr."""
        self.actions.labels(action, outcome).inc()

    def track_load(self) -> AbstractContextManager[Any]:
        """The loader's observer: counts a load in flight from its start to its end."""
        return self.loads_in_flight.track_inprogress()  # type: ignore[no-any-return]

    # -- exposition ----------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format, summed over workers when there are several."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)  # type: ignore[no-any-return]
        return generate_latest(self.registry)  # type: ignore[no-any-return]


def note_route(response: Response) -> Response:
    """Leave the request's URL rule where the request log finds it (after routing, even on 401)."""
    rule = request.url_rule
    request.environ[ENVIRON_ROUTE] = rule.rule if rule is not None else UNMATCHED
    return response


def store_exposition(store: Any) -> bytes:
    """The store's size, runs held and evictions, read from the file at scrape time (so every
    worker reports the same numbers, and they survive restarts)."""
    held = store.footprint()
    lines = [
        ("lobstr_dash_store_bytes", "gauge", "Size of the SQLite store on disk (file and WAL).",
         held.file_bytes),
        ("lobstr_dash_store_used_bytes", "gauge", "Bytes of the store in use (free pages left "
         "out): what STORE_MAX_MB is held to.", held.used_bytes),
        ("lobstr_dash_store_runs", "gauge", "Runs held in the store.", held.runs),
        ("lobstr_dash_store_evictions_total", "counter", "Runs evicted by retention "
         "(STORE_MAX_MB, STORE_KEEP_DAYS) since the store was made.", held.evictions),
    ]
    text = "".join(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n{name} {value}\n"
                   for name, kind, doc, value in lines)
    return text.encode()


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of this app's metrics."""
    body = current_app.extensions["lobstr_dash_metrics"].exposition()
    services = current_app.extensions.get("lobstr_dash")
    if services is not None:
        body += store_exposition(services.store)
    response = Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def register_metrics(app: Flask, metrics: Metrics) -> Callable[[str, str, str, float], None]:
    """Serve /metrics and note each request's route; return the request observer."""
    app.extensions["lobstr_dash_metrics"] = metrics
    app.register_blueprint(bp)
    app.after_request(note_route)
    return metrics.observe_request
