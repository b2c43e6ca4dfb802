"""lobstr-dash: see every task of a lobstr.io run, the biggest shortfalls first, and why."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .config import build_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config (defaults, environment, then `config`), services, routes, handlers."""
    from . import api
    from . import browse
    from . import views
    from .auth import register_auth
    from .errorhandlers import register_error_handlers
    from .formatting import register_filters
    from .metrics import Metrics
    from .metrics import register_metrics
    from .proxy import wrap_for_proxy
    from .reqlog import RequestLog
    from .security import register_security
    from .services import build_services

    settings = build_config(config)
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    app.config.update(settings)
    metrics = Metrics()
    app.extensions["lobstr_dash"] = build_services(app.config, observer=metrics.observe_upstream)
    metrics.watch(app.extensions["lobstr_dash"])
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(browse.bp)
    register_error_handlers(app)
    register_filters(app)
    register_security(app)
    register_auth(app)
    observe_request = register_metrics(app, metrics)
    # The request log is outermost so it also sees what the prefix turns away; it reads the
    # address and path that ProxyFix and the prefix settled in the environ, once the answer is sent.
    app.wsgi_app = RequestLog(wrap_for_proxy(app.wsgi_app, app.config),  # type: ignore[method-assign]
                              observe_request)
    htmx_available = (ROOT / "static" / "htmx.min.js").is_file()

    @app.context_processor
    def page_globals() -> dict[str, Any]:
        return {"demo_mode": app.config["DEMO_MODE"], "htmx_available": htmx_available}

    return app
