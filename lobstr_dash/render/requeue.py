"""The re-queue kit: short tasks' params as a CSV for lobstr's task upload, or a list of URLs. Pure.

One column per param key (the union of the tasks' keys, `url` first, then in order of first
appearance). A cell holds a string param as is, and anything else (numbers, booleans, null, nested
objects and lists) as JSON; a string that would read back as JSON (e.g. "42", "true", "") is
written as a JSON string, so `read_csv` gives back exactly the params that were written. An empty
cell means the task has no such key. Cells that a spreadsheet would run as a formula get a leading
quote (as in every export of the dashboard); so does a cell that starts with a quote, so
`read_csv` can always take exactly one back off.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .exports import FORMULA_PREFIXES
from .exports import csv_stream

DEDUP_WARNING = ("lobstr de-duplicates identical params on the same squid: uploading these tasks "
                 "again to the squid they came from may add nothing. Upload them to a new "
                 "\"retry\" squid (same crawler and settings) instead.")


def _is_json_literal(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def encode_value(value: Any) -> str:
    """The CSV cell of one param value (before formula neutralising)."""
    if isinstance(value, str) and value and not _is_json_literal(value):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode_value(cell: str) -> Any:
    """The param value of a (non-empty, de-neutralised) cell."""
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def neutralise_cell(text: str) -> str:
    """Prefix a quote to formula-like text, and to text that already starts with one."""
    if text.lstrip(" ").startswith(FORMULA_PREFIXES) or text.startswith("'"):
        return "'" + text
    return text


def restore_cell(text: str) -> str:
    """Undo `neutralise_cell`."""
    return text[1:] if text.startswith("'") else text


def columns(params_list: Iterable[Mapping[str, Any]]) -> list[str]:
    """The param keys of all tasks: `url` first, then by first appearance."""
    keys: dict[str, None] = {}
    for params in params_list:
        for key in params:
            keys.setdefault(str(key), None)
    return (["url"] if "url" in keys else []) + [k for k in keys if k != "url"]


def csv_lines(keys: list[str], params_list: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Yield the upload CSV: a header of the param keys, then one line per task (streamed)."""
    rows = ([neutralise_cell(encode_value(params[k])) if k in params else "" for k in keys]
            for params in params_list)
    return csv_stream([neutralise_cell(k) for k in keys], rows)


def read_csv(text: str) -> list[dict[str, Any]]:
    """Read an upload CSV written by `csv_lines` back into params (the round trip of the tests)."""
    reader = csv.reader(io.StringIO(text))
    header = [restore_cell(k) for k in next(reader, [])]
    return [{key: decode_value(restore_cell(cell)) for key, cell in zip(header, row, strict=True)
             if cell != ""} for row in reader]


def url_lines(urls: Iterable[str | None]) -> Iterator[str]:
    """Yield one URL per line, each once, skipping tasks without one; a line that a spreadsheet
    would run as a formula gets a leading quote, as every CSV cell does."""
    seen: set[str] = set()
    for url in urls:
        if url and url not in seen and "\n" not in url and "\r" not in url:
            seen.add(url)
            yield neutralise_cell(url) + "\n"
