"""Pagination parameters and the list envelope of lobstr list endpoints."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class ParamError(ValueError):
    """A query parameter that fails validation."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def _positive_int(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(name, f"'{name}' must be a positive integer, got {raw!r}.") from None
    if value < 1:
        raise ParamError(name, f"'{name}' must be a positive integer, got {raw!r}.")
    return value


def parse_paging(args: Mapping[str, str], default_limit: int = DEFAULT_LIMIT) -> tuple[int, int]:
    """(page, limit) from the query; limit is capped at 100, bad values raise ParamError."""
    page = _positive_int(args, "page", 1)
    limit = _positive_int(args, "limit", default_limit)
    return page, min(limit, MAX_LIMIT)


def page_url(base: str, query: Sequence[tuple[str, str]], page: int) -> str:
    """`base` with the same query but another `page`."""
    items = [(k, v) for k, v in query if k != "page"]
    items.append(("page", str(page)))
    return f"{base}?{urlencode(items)}"


def envelope(data: list[Any], total: int, page: int, limit: int, base: str,
             query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The documented envelope; next/previous repeat the query, null at the ends."""
    total_pages = max(1, math.ceil(total / limit))
    if data:
        result_from = (page - 1) * limit + 1
        result_to = result_from + len(data) - 1
    else:
        # Empty run or a page past the end: Django's paginator reports 0..0.
        result_from = result_to = 0
    return {
        "total_results": total,
        "limit": limit,
        "page": page,
        "total_pages": total_pages,
        "result_from": result_from,
        "result_to": result_to,
        "data": data,
        "next": page_url(base, query, page + 1) if page < total_pages else None,
        "previous": page_url(base, query, min(page - 1, total_pages)) if page > 1 else None,
    }
