"""One resource, several representations: a page and its `.json`/`.csv`/`.txt` twins.

`route` registers a view at `rule` (the HTML page, `fmt=None`) and at `rule.<fmt>` for each
format it offers; any other suffix is a 404 before the view runs. `export` turns records into the
streamed JSON or CSV answer every list and export of the dashboard gives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort

from ..render.exports import csv_records
from ..render.exports import json_records


def route(bp: Blueprint, rule: str, formats: tuple[str, ...], *, html: bool = True,
          **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a GET view at `rule` (when `html`) and at `rule.<fmt>` for `fmt` in `formats`."""
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def dispatch(*args: Any, fmt: str | None = None, **kwargs: Any) -> Any:
            if fmt is not None and fmt not in formats:
                abort(404)
            return view(*args, fmt=fmt, **kwargs)

        if html:
            bp.add_url_rule(rule, view_func=dispatch, defaults={"fmt": None}, methods=["GET"],
                            **options)
        bp.add_url_rule(f"{rule}.<fmt>", view_func=dispatch, methods=["GET"], **options)
        return dispatch

    return decorator


#: Characters an export gathers before it writes: one write per ~64 KB instead of one per row
#: (a 100,000-task CSV was 100,000 writes through the WSGI server).
WRITE_CHARS = 65536


def gathered(chunks: Iterable[str], size: int = WRITE_CHARS) -> Iterator[str]:
    """Yield the first chunk at once (the answer starts before any row is read), then the rest
    joined into pieces of at least `size` characters; the text is unchanged."""
    parts: list[str] = []
    length = 0
    for index, chunk in enumerate(chunks):
        if index == 0:
            yield chunk
            continue
        parts.append(chunk)
        length += len(chunk)
        if length >= size:
            yield "".join(parts)
            parts, length = [], 0
    if parts:
        yield "".join(parts)


@dataclass
class Export:
    """Records to export: a JSON head, the array's key, CSV columns and the download's name."""

    records: Iterable[dict[str, Any]]
    key: str
    columns: tuple[str, ...]
    filename: str
    head: dict[str, Any] = field(default_factory=dict)
    #: Whether the records cover the whole run(s); sent as X-Run-Complete when known.
    complete: bool | None = None


def export(fmt: str, data: Export) -> Response:
    """Stream records as JSON (`{"ok": true, …head, key: [...]}`) or CSV (formula-safe cells).

    No stream_with_context: callers build everything that needs the request before streaming,
    so an export that is never read to its end leaves no request context pushed.
    """
    if fmt == "json":
        response = Response(gathered(json_records({"ok": True, **data.head}, data.key,
                                                     data.records)),
                            mimetype="application/json")
    else:
        response = Response(gathered(csv_records(data.columns, data.records)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{data.filename}"'
    if data.complete is not None:
        response.headers["X-Run-Complete"] = "true" if data.complete else "false"
    return response
