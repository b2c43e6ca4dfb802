"""CSV and JSON renderings of task rows; pure functions, streamed line by line."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, UTC
from typing import Any

from .model import completeness
from .store import TaskRow

CSV_COLUMNS = ("position", "id", "task", "status", "done_reason", "done_reason_desc",
               "expected", "collected", "gap", "completeness", "gap_class", "started_at", "ended_at",
               "duration_seconds", "url", "params")

#: A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "|")


def iso(epoch: float | None) -> str | None:
    """Format epoch seconds as ISO 8601 UTC with `Z`."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def task_record(row: TaskRow) -> dict[str, Any]:
    """The exported fields of one task, with the computed gap and completeness."""
    ratio = completeness(row.expected, row.collected)
    return {
        "position": row.position, "id": row.id, "task": row.task, "status": row.status,
        "done_reason": row.done_reason, "done_reason_desc": row.done_reason_desc,
        "expected": row.expected, "collected": row.collected, "gap": row.gap,
        "completeness": None if ratio is None else round(ratio, 6), "gap_class": row.gap_class,
        "started_at": iso(row.started_at), "ended_at": iso(row.ended_at),
        "duration_seconds": None if row.duration is None else round(row.duration, 3),
        "url": row.url, "params": row.params,
    }


def neutralise(value: Any) -> Any:
    """Make a text cell inert in spreadsheets by prefixing a quote to formula-like text."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_stream(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Yield CSV text a line at a time: the header, then each row (cells already made safe)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for cells in itertools.chain([header], rows):
        writer.writerow(cells)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_lines(rows: Iterable[TaskRow]) -> Iterator[str]:
    """Yield the CSV header and one line per task."""
    def cells(row: TaskRow) -> list[Any]:
        record = task_record(row)
        record["params"] = json.dumps(record["params"], ensure_ascii=False, sort_keys=True)
        return [neutralise(record[c]) if record[c] is not None else "" for c in CSV_COLUMNS]

    return csv_stream(CSV_COLUMNS, (cells(row) for row in rows))


def json_chunks(head: dict[str, Any], rows: Iterable[TaskRow]) -> Iterator[str]:
    """Yield a JSON object made of `head` plus a `tasks` array, one task at a time."""
    opening = json.dumps(head, ensure_ascii=False)
    yield opening[:-1] + (', "tasks": [' if head else '"tasks": [')
    first = True
    for row in rows:
        yield ("" if first else ",") + "\n" + json.dumps(task_record(row), ensure_ascii=False)
        first = False
    yield "\n]}\n"
