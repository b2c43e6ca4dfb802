"""lobstr-dash: see every task of a lobstr.io run, the biggest shortfalls first, and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config (defaults, environment, then `config`), services, routes, handlers.

    The factory is imported here, not at the top: importing the package must not import
    prometheus_client, which reads PROMETHEUS_MULTIPROC_DIR once, at its import, and gunicorn's
    config (ops/gunicorn_conf.py) sets that variable before any worker builds the app.
    """
    from .factory import build_app

    return build_app(config)
