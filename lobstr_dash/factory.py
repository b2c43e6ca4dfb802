"""The app factory: config, services, pages, operations middleware — everything built here, once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .config import build_config
from .ops import health
from .ops.alerts import connect_demo_webhooks
from .ops.alerts import exempt_from_csrf
from .ops.auth import register_auth
from .ops.metrics import Metrics
from .ops.metrics import register_metrics
from .ops.proxy import wrap_for_proxy
from .ops.reqlog import RequestLog
from .ops.secret import ensure_secret_key
from .ops.security import register_security
from .web import register_web
from .wiring import Observers
from .wiring import build_services

#: Where templates and static files live: beside the package in a checkout (the project's
#: layout keeps them at the top level), inside it when installed from a wheel.
_CHECKOUT = Path(__file__).resolve().parent.parent
_INSTALLED = Path(__file__).resolve().parent


def _asset_dir(name: str) -> Path:
    """The `templates` or `static` folder of this installation."""
    return _CHECKOUT / name if (_CHECKOUT / name).is_dir() else _INSTALLED / name


def build_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config (defaults, environment, then `config`), services, routes, handlers."""
    settings = build_config(config)
    static = _asset_dir("static")
    app = Flask(__name__, template_folder=str(_asset_dir("templates")), static_folder=str(static))
    app.config.update(settings)
    if app.config["LOBSTR_ACTIONS"]:
        # The actions' CSRF token lives in the signed session cookie (the only cookie the app sets).
        ensure_secret_key(app)
    metrics = Metrics()
    app.extensions["lobstr_dash"] = build_services(app.config, Observers(
        upstream=metrics.observe_upstream, rate_limit_wait=metrics.observe_rate_limit_wait,
        track_load=metrics.track_load, action=metrics.observe_action))
    register_web(app)
    app.register_blueprint(health.bp)
    register_security(app)
    register_auth(app)
    observe_request = register_metrics(app, metrics)
    # The request log is outermost so it also sees what the prefix turns away; it reads the
    # address and path that ProxyFix and the prefix settled in the environ, once the answer is sent.
    app.wsgi_app = RequestLog(wrap_for_proxy(app.wsgi_app, app.config),  # type: ignore[method-assign]
                              observe_request)
    htmx_available = (static / "htmx.min.js").is_file()
    services = app.extensions["lobstr_dash"]
    if services.alerting is not None:
        ensure_secret_key(app)  # the alerts page's test button carries a CSRF token
        exempt_from_csrf(app)  # lobstr's webhook is a machine's POST: its secret is its proof
        connect_demo_webhooks(app, services)

    @app.context_processor
    def page_globals() -> dict[str, Any]:
        return {"demo_mode": app.config["DEMO_MODE"], "htmx_available": htmx_available}

    return app
