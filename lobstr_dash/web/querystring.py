"""Parse and check what users send: run ids in pasted text, and the query strings of the task table
and of a comparison; and write a query back into query-string arguments (for links)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qsl
from urllib.parse import urlencode

from ..domain import changes
from ..domain.changes import CompareQuery
from ..domain.gapclass import CLASSES
from ..domain.query import DESCENDING_FIRST
from ..domain.query import SORT_KEYS
from ..domain.query import TaskQuery

RUN_ID = re.compile(r"[0-9a-f]{32}")
_HEX32 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")
# "run" or "runs" then an optional "_id"/" id", quotes and a separator: URLs, query strings,
# pasted JSON ("run": "…") and prose ("Run ID: …").
_RUN_CONTEXT = re.compile(
    r"\bruns?(?:tasks)?(?:[ _-]?id)?\"?[/=:#\s]+\"?([0-9a-fA-F]{32})(?![0-9a-fA-F])", re.I)

MAX_FILTER_VALUES = 50
MAX_VALUE_LENGTH = 128
MAX_TEXT_LENGTH = 200
MAX_PAGE = 1_000_000


class InvalidInput(ValueError):
    """A user-supplied value the dashboard refuses; the message says what is expected."""


class MultiArgs(Protocol):
    """The part of werkzeug's MultiDict the parsers use."""

    def get(self, key: str, default: str | None = None) -> str | None: ...  # noqa: D102

    def getlist(self, key: str) -> list[str]: ...  # noqa: D102


RUN_ID_HELP = ("A run id is 32 hexadecimal characters, e.g. 300e9c5c127d421c90f431478d9a2cfb; "
               "you can also paste a lobstr URL or any text that contains one.")


def is_run_id(value: str) -> bool:
    """Tell whether a value is a canonical run id (32 lower-case hex characters)."""
    return bool(RUN_ID.fullmatch(value))


def canonical_run_id(value: str) -> str:
    """Return a run id in canonical lower case; raises InvalidInput for anything else."""
    lowered = (value or "").strip().lower()
    if not is_run_id(lowered):
        raise InvalidInput("That is not a run id. " + RUN_ID_HELP)
    return lowered


def extract_run_id(text: str) -> str:
    """Find the run id in pasted text or a URL; raises InvalidInput when there is none or several."""
    text = (text or "").strip()[:4000]
    if not text:
        raise InvalidInput("Paste a run id or a lobstr URL that contains one. " + RUN_ID_HELP)
    named = {m.lower() for m in _RUN_CONTEXT.findall(text)}
    if len(named) == 1:
        return named.pop()
    found = list(dict.fromkeys(m.lower() for m in _HEX32.findall(text)))
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidInput("No run id found in what you pasted. " + RUN_ID_HELP)
    raise InvalidInput(f"Found {len(found)} different 32-character ids; paste just the run's. "
                       + RUN_ID_HELP)


def _values(args: MultiArgs, key: str) -> tuple[str, ...]:
    values = [v.strip() for v in args.getlist(key) if v and v.strip()]
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidInput(f"Too many `{key}` values (at most {MAX_FILTER_VALUES}).")
    for value in values:
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidInput(f"A `{key}` value is longer than {MAX_VALUE_LENGTH} characters.")
    return tuple(dict.fromkeys(values))


def _flag(args: MultiArgs, key: str) -> bool:
    value = (args.get(key) or "").strip().lower()
    if value in ("", "0", "false", "off", "no"):
        return False
    if value in ("1", "true", "on", "yes"):
        return True
    raise InvalidInput(f"`{key}` must be 1 or 0.")


def whole_number(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    """Parse a plain ASCII whole number within bounds; raises InvalidInput otherwise."""
    text = (raw or str(default)).strip()
    # isdigit() alone accepts "²" and other digits int() refuses; the length check keeps
    # int() away from 4,300-digit strings.
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or not low <= int(text) <= high:
        raise InvalidInput(f"`{name}` must be a whole number from {low:,} to {high:,}.")
    return int(text)


def _page(args: MultiArgs) -> int:
    return whole_number(args.get("page"), "page", 1, 1, MAX_PAGE)


def parse_task_query(args: MultiArgs, per_page: int) -> TaskQuery:
    """Read the task table's filters, sort and page from a query string; raises InvalidInput."""
    sort = (args.get("sort") or "gap").strip()
    if sort not in SORT_KEYS:
        raise InvalidInput(f"Unknown sort `{sort[:40]}`; use one of: {', '.join(SORT_KEYS)}.")
    direction = (args.get("dir") or "").strip().lower()
    if direction not in ("", "asc", "desc"):
        raise InvalidInput("`dir` must be asc or desc.")
    descending = direction == "desc" if direction else sort in DESCENDING_FIRST
    text = (args.get("q") or "").strip()
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"The search text is longer than {MAX_TEXT_LENGTH} characters.")
    return TaskQuery(statuses=_values(args, "status"), reasons=_values(args, "reason"),
                     short_only=_flag(args, "short"), text=text, sort=sort,
                     descending=descending, page=_page(args), per_page=per_page,
                     classes=_classes(args))


def _classes(args: MultiArgs) -> tuple[str, ...]:
    """The gap classes asked for with `class=`; raises InvalidInput for an unknown one."""
    values = _values(args, "class")
    for value in values:
        if value not in CLASSES:
            raise InvalidInput(f"Unknown gap class `{value[:40]}`; use one of: {', '.join(CLASSES)}.")
    return values


def query_args(query: TaskQuery, **changes: object) -> dict[str, object]:
    """Return the query-string arguments that reproduce a query, with some values changed."""
    args: dict[str, object] = {
        "status": list(query.statuses), "reason": list(query.reasons), "class": list(query.classes),
        "short": 1 if query.short_only else None, "q": query.text or None,
        "sort": query.sort if query.sort != "gap" else None,
        "dir": None if query.descending == (query.sort in DESCENDING_FIRST)
        else ("desc" if query.descending else "asc"),
        "page": query.page if query.page > 1 else None,
    }
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, [], "")}


def upstream_paging(args: Mapping[str, str]) -> tuple[str, int, int]:
    """Check the JSON proxy's run, page and limit; raises InvalidInput before any upstream call."""
    run = (args.get("run") or "").strip()
    if not is_run_id(run):
        raise InvalidInput("`run` must be a run id. " + RUN_ID_HELP)
    page = whole_number(args.get("page"), "page", 1, 1, MAX_PAGE)
    limit = whole_number(args.get("limit"), "limit", 50, 1, 100)
    return run, page, limit


def same_page_target(target: str, page: str) -> str:
    """Where a form on `page` may send the browser back: `page` or `page?query`, else `page`.

    Never an open redirect, and the query is decoded and encoded again, so no control character
    (a newline would split the Location header) or raw quote from the form reaches the answer.
    """
    if not target.startswith(page + "?"):
        return page
    pairs = parse_qsl(target[len(page) + 1:], keep_blank_values=True)
    return f"{page}?{urlencode(pairs)}" if pairs else page


class _FiltersOnly:
    """Query-string args with the compare page's own sort, dir and page hidden from the task parser."""

    def __init__(self, args: MultiArgs) -> None:
        self.args = args

    def get(self, key: str, default: str | None = None) -> str | None:
        return default if key in ("sort", "dir", "page") else self.args.get(key, default)

    def getlist(self, key: str) -> list[str]:
        return [] if key in ("sort", "dir", "page") else self.args.getlist(key)


def parse_compare_query(args: MultiArgs, per_page: int) -> CompareQuery:
    """Read a comparison's filters, kinds, sort and page; raises InvalidInput."""
    filters = parse_task_query(_FiltersOnly(args), per_page)
    kinds = tuple(dict.fromkeys(k.strip() for k in args.getlist("kind") if k.strip()))
    if len(kinds) > MAX_FILTER_VALUES:
        raise InvalidInput("Too many `kind` values.")
    for kind in kinds:
        if kind not in changes.KINDS:
            raise InvalidInput(f"Unknown change `{kind[:40]}`; use one of: {', '.join(changes.KINDS)}.")
    sort = (args.get("sort") or "change").strip()
    if sort not in changes.SORT_KEYS:
        raise InvalidInput(f"Unknown sort `{sort[:40]}`; use one of: {', '.join(changes.SORT_KEYS)}.")
    direction = (args.get("dir") or "").strip().lower()
    if direction not in ("", "asc", "desc"):
        raise InvalidInput("`dir` must be asc or desc.")
    descending = direction == "desc" if direction else sort in changes.DESCENDING_FIRST
    page = whole_number(args.get("page"), "page", 1, 1, MAX_PAGE)
    return CompareQuery(filters=filters, kinds=kinds, sort=sort, descending=descending,
                        page=page, per_page=per_page)


def compare_args(query: CompareQuery, **changed: object) -> dict[str, object]:
    """Query-string arguments that reproduce a comparison (without a and b)."""
    args = query_args(query.filters, sort=None, dir=None, page=None)
    args.update({
        "kind": list(query.kinds), "sort": query.sort if query.sort != "change" else None,
        "dir": None if query.descending == (query.sort in changes.DESCENDING_FIRST)
        else ("desc" if query.descending else "asc"),
        "page": query.page if query.page > 1 else None,
    })
    args.update(changed)
    return {k: v for k, v in args.items() if v not in (None, [], "")}
