"""Flask app that imitates the lobstr.io REST API for demo mode, tests and benchmarks."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from lobstr_dash.fake import errors, views
from lobstr_dash.fake.delivery import configure_delivery
from lobstr_dash.fake.config import FakeConfig
from lobstr_dash.fake.envelope import ParamError
from lobstr_dash.fake.hooks import after_request, before_request
from lobstr_dash.fake.request_stats import stats_view
from lobstr_dash.fake.state import FakeState


def _param_error(exc: ParamError) -> Response:
    return errors.validation_error(exc.message, exc.param)


def _http_error(exc: HTTPException) -> Response:
    if exc.code == 404:
        return errors.error_response(404, shape=errors.SHAPE_DETAIL, message="Not found.")
    message = f'Method "{request.method}" not allowed.' if exc.code == 405 else exc.description
    return errors.error_response(exc.code or 500, shape=errors.SHAPE_DETAIL, message=message)


def _crash(exc: Exception) -> Response:
    # Answer like the real API, but keep the traceback visible to whoever runs the fake.
    current_app.logger.exception("fake lobstr API crashed", exc_info=exc)
    return errors.error_response(500)


def create_fake_app(config: FakeConfig | None = None) -> Flask:
    """A Flask app serving the fake lobstr API under /v1; state in app.extensions["fake"]."""
    app = Flask("lobstr_dash.fake")
    app.extensions["fake"] = FakeState(config or FakeConfig())
    app.add_url_rule("/v1/runtasks", "runtasks", views.runtasks)
    app.add_url_rule("/v1/runs", "runs", views.runs)
    app.add_url_rule("/v1/runs/<run_hash>", "run", views.run_detail)
    app.add_url_rule("/v1/runs/<run_hash>/stats", "stats", views.run_stats_view)
    app.add_url_rule("/v1/squids", "squids", views.squids)
    app.add_url_rule("/v1/squids/<squid_hash>", "squid", views.squid_detail)
    app.add_url_rule("/v1/runs/<run_hash>/resurrect", "resurrect", views.resurrect,
                     methods=["POST"])
    app.add_url_rule("/v1/runtasks/<runtask_hash>/retry", "retry", views.retry, methods=["POST"])
    app.add_url_rule("/v1/delivery", "delivery", configure_delivery, methods=["POST"])
    # Outside /v1/: the benchmarks read request counts here; the real API has no such route.
    app.add_url_rule("/_fake/stats", "fake_stats", stats_view)
    app.before_request(before_request)
    app.after_request(after_request)
    app.register_error_handler(ParamError, _param_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)
    return app
