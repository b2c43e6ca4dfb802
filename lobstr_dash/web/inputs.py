"""The task table's input column: what tells one task from the others on the page.

For URLs, the decoded URL without its scheme, `www.` and the part every row of the page shares
(shown once, in the column header); for other params, the params whose values differ between the
rows. Line breaks are offered only after separators (`/`, `,`, `&`…), never inside a number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from markupsafe import Markup
from markupsafe import escape

#: Characters after which a long input may wrap to the next line.
_BREAK_AFTER = re.compile(r"([/,&?=@;|·_+])")
#: A run of characters this long with no separator is cut in the middle (the full value is on hover).
LONGEST_WORD = 36
#: Longest label shown; the full value is on hover, on focus and in the row's details.
LONGEST_LABEL = 110
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://(www\d?\.)?", re.I)


@dataclass(frozen=True)
class InputLabel:
    """How one task's input reads in the table."""

    text: str
    #: The full decoded value (the link's title and the details view).
    full: str

    @property
    def wrapped(self) -> Markup:
        """The label, escaped, with a line-break chance after each separator."""
        return wrap(self.text)


def wrap(text: str, *, cut: bool = True) -> Markup:
    """Escape text and let it wrap only after separators (`<wbr>`), never inside a number.

    With `cut`, a run of more than LONGEST_WORD characters without a separator is shortened in
    the middle (the table's labels); without it, everything is kept (the details view).
    """
    pieces = []
    for part in _BREAK_AFTER.split(text):
        if _BREAK_AFTER.fullmatch(part):
            pieces.append(f"{escape(part)}<wbr>")
            continue
        if cut and len(part) > LONGEST_WORD:
            part = part[: LONGEST_WORD // 2] + "…" + part[-(LONGEST_WORD // 2 - 1):]
        pieces.append(str(escape(part)))
    return Markup("".join(pieces))  # noqa: S704 (every piece was escaped above)


def readable_url(url: str) -> str:
    """A URL as people read it: percent-escapes decoded, no scheme, no `www.`."""
    try:
        decoded = unquote(url, errors="replace")
    except (TypeError, ValueError):
        decoded = url
    return _SCHEME.sub("", decoded.strip())


def shared_prefix(texts: Sequence[str]) -> str:
    """The start every text shares, cut after its last `/` (empty for fewer than two texts)."""
    if len(texts) < 2:
        return ""
    first, last = min(texts), max(texts)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    common = first[:size]
    cut = common.rfind("/")
    prefix = common[: cut + 1] if cut >= 0 else ""
    # Keep something to show on every row: never the whole of a text.
    return prefix if all(len(t) > len(prefix) for t in texts) else ""


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _shorten(text: str) -> str:
    return text if len(text) <= LONGEST_LABEL else text[: LONGEST_LABEL - 1] + "…"


def key_params(params: Mapping[str, Any], varying: set[str] | None) -> str:
    """The params other than `url` as 'key=value · key=value', only the varying keys when known."""
    parts = [f"{key}={_value_text(value)}" for key, value in params.items()
             if key != "url" and (varying is None or key in varying)]
    return " · ".join(parts)


def _varying_keys(rows: Sequence[Mapping[str, Any]]) -> set[str] | None:
    """Param keys whose value is not the same on every row (None: too few rows to tell)."""
    if len(rows) < 2:
        return None
    keys = {k for params in rows for k in params}
    varying = {k for k in keys if len({_value_text(p.get(k)) for p in rows}) > 1}
    return varying or None


@dataclass(frozen=True)
class InputColumn:
    """The labels of one page of tasks, and what they all share (shown in the header)."""

    prefix: str
    labels: dict[str, InputLabel]
    #: Params other than the URL shown under it, by task id.
    extras: dict[str, str]


def input_column(rows: Sequence[Any]) -> InputColumn:
    """Labels for a page of task rows (objects with `id`, `url` and `params`)."""
    readable = {r.id: readable_url(r.url) for r in rows if r.url}
    prefix = shared_prefix(list(readable.values()))
    varying = _varying_keys([r.params for r in rows if isinstance(r.params, Mapping)])
    labels, extras = {}, {}
    for row in rows:
        params = row.params if isinstance(row.params, Mapping) else {"value": row.params}
        others = key_params(params, varying)
        if row.id in readable:
            full = readable[row.id]
            labels[row.id] = InputLabel(_shorten(full[len(prefix):]), full)
            if others:
                extras[row.id] = _shorten(others)
        else:
            everything = key_params(params, None)
            labels[row.id] = InputLabel(_shorten(others or everything), everything)
    return InputColumn(prefix, labels, extras)
