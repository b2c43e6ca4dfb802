"""The one URL builder for links that keep a page's query string and change part of it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import url_for


def clean(args: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the arguments a URL should not carry: None, empty lists and empty strings."""
    return {k: v for k, v in args.items() if v is not None and v != [] and v != ""}


class QueryLinks:
    """Links to one endpoint: fixed path arguments, a base query, and changes per link.

    `links(page=2)` keeps the base query and sets `page`; `links(page=None)` drops it.
    """

    def __init__(self, endpoint: str, query: Mapping[str, Any] | None = None,
                 **path_args: Any) -> None:
        self.endpoint = endpoint
        self.query = dict(query or {})
        self.path_args = path_args

    def __call__(self, **changes: Any) -> str:
        """The URL with the base query, changed by `changes`."""
        return url_for(self.endpoint, **self.path_args, **clean({**self.query, **changes}))

    def with_format(self, fmt: str, **changes: Any) -> str:
        """The same view's `.fmt` twin (`.csv`, `.json`…) with the query, changed by `changes`."""
        return url_for(self.endpoint, fmt=fmt, **self.path_args,
                       **clean({**self.query, **changes}))
