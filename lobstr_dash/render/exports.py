"""CSV and JSON renderings of records (tasks, squids, runs, pairs); pure functions, streamed line by line."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from ..domain.tasks import completeness
from ..domain.query import TaskRow

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


def csv_records(columns: Sequence[str], records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Yield CSV of records: objects and lists as JSON, formula-like cells neutralised, None empty."""
    def cells(record: dict[str, Any]) -> list[Any]:
        row = []
        for column in columns:
            value = record.get(column)
            if value is None:
                row.append("")
            elif value.__class__ is int:  # most cells: nothing to neutralise (a 100k export's hot loop)
                row.append(value)
            else:
                if isinstance(value, dict | list):
                    value = json.dumps(value, ensure_ascii=False, sort_keys=True)
                row.append(neutralise(value))
        return row

    return csv_stream(columns, (cells(record) for record in records))


def json_records(head: dict[str, Any], key: str, records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Yield a JSON object made of `head` plus an array of records under `key`, one at a time."""
    opening = json.dumps(head, ensure_ascii=False)
    yield opening[:-1] + (f', "{key}": [' if head else f'"{key}": [')
    first = True
    for record in records:
        yield ("" if first else ",") + "\n" + json.dumps(record, ensure_ascii=False)
        first = False
    yield "\n]}\n"


def csv_lines(rows: Iterable[TaskRow]) -> Iterator[str]:
    """Yield the task CSV: the header and one line per task."""
    return csv_records(CSV_COLUMNS, (task_record(row) for row in rows))


def json_chunks(head: dict[str, Any], rows: Iterable[TaskRow]) -> Iterator[str]:
    """Yield a JSON object made of `head` plus a `tasks` array, one task at a time."""
    return json_records(head, "tasks", (task_record(row) for row in rows))
