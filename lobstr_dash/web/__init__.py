"""The web layer: one module per feature; each view parses, asks the layers below, builds a page
object and renders it (or its `.json`/`.csv` twin). Templates only read the page object."""

from __future__ import annotations

from flask import Flask

from . import compare
from . import digest
from . import exports
from . import glossary
from . import home
from . import hooks
from . import alerts
from . import passthrough
from . import requeue
from . import runpage
from . import squids
from .errors import register_error_handlers
from .filters import register_filters

BLUEPRINTS = (home.bp, runpage.bp, exports.bp, passthrough.bp, squids.bp, compare.bp, digest.bp,
              requeue.bp, glossary.bp)


def register_web(app: Flask) -> None:
    """Install every page, the error handlers and the Jinja filters."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config.get("LOBSTR_WEBHOOK_SECRET"):  # no secret, no route
        app.register_blueprint(hooks.bp)
    app.register_blueprint(alerts.bp)
    register_error_handlers(app)
    register_filters(app)
