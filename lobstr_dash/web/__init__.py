"""The web layer: one module per feature; each view parses, asks the layers below, builds a page
object and renders it (or its `.json`/`.csv` twin). Templates only read the page object."""

from __future__ import annotations

from flask import Flask
from flask import g
from flask import request

from ..loading.clients import set_client

from . import actions
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
from .delivery import register_delivery
from .errors import register_error_handlers
from .filters import register_filters

BLUEPRINTS = (home.bp, runpage.bp, exports.bp, passthrough.bp, squids.bp, compare.bp, digest.bp,
              requeue.bp, glossary.bp, actions.bp)


def register_web(app: Flask) -> None:
    """Install every page, the error handlers and the Jinja filters."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config.get("LOBSTR_WEBHOOK_SECRET"):  # no secret, no route
        app.register_blueprint(hooks.bp)
    app.register_blueprint(alerts.bp)
    register_error_handlers(app)
    register_filters(app)
    register_delivery(app)
    # Block tags leave no blank lines or indentation behind: about a tenth of a run page.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.before_request(note_client)


def note_client() -> None:
    """Loads started by this request count against its user (signed in) or else its address."""
    user = g.get("user")
    set_client(f"user:{user}" if user else f"addr:{request.remote_addr or ''}")
