"""The app's services as the views reach them (built once by the factory, kept on the app)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:  # the factory builds them; the views only use them
    from ..wiring import Services


def services() -> Services:
    """Return the current app's services."""
    return current_app.extensions["lobstr_dash"]  # type: ignore[no-any-return]
