"""The run-debugging model: timestamps, counts, one run task, its gap, and a run's summary."""

from __future__ import annotations

import calendar

import pytest

from lobstr_dash.domain.values import as_count, parse_timestamp
from lobstr_dash.domain.tasks import (
    RunSummary,
    RunTask,
    completeness,
    is_live_status,
    missing_share,
    position_range,
    task_gap,
)

RUN_ID = "300e9c5c127d421c90f431478d9a2cfb"
DOC_ROW = {  # the example row of docs get-run-tasks.mdx
    "object": "runtask", "id": "1262f6f99dac7dffb05a513fff0ded77",
    "task": "d30334cd8d21ab16048c5e2e7136a9f1", "run": RUN_ID, "status": "aborted",
    "params": {"url": "https://www.google.com/maps/search/restaurant/@43.29,5.36,17z"},
    "started_at": "2025-02-10T14:30:58Z", "ended_at": "2025-02-10T14:31:10Z",
    "total_results": 138, "last_result": 6, "total_pages": 1, "last_page": 0,
    "done_reason": "run_aborted", "done_reason_desc": None,
    "last_collection_at": "2025-02-10T14:31:10Z",
}


def utc(*parts: int) -> float:
    """Epoch seconds of a UTC wall time (year, month, day, hour, minute, second)."""
    return float(calendar.timegm((*parts, 0, 0, 0)))


# -- parse_timestamp --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "epoch"), [
    ("2025-02-10T14:30:58Z", utc(2025, 2, 10, 14, 30, 58)),
    ("2025-02-10T14:30:58z", utc(2025, 2, 10, 14, 30, 58)),
    ("2025-02-10T14:30:58", utc(2025, 2, 10, 14, 30, 58)),            # no zone means UTC
    ("2025-02-10 14:30:58", utc(2025, 2, 10, 14, 30, 58)),            # space separator
    ("  2025-02-10T14:30:58Z  ", utc(2025, 2, 10, 14, 30, 58)),
    ("2025-02-04T10:26:50.847633", utc(2025, 2, 4, 10, 26, 50) + 0.847633),
    ("2025-02-10T14:31:05.487Z", utc(2025, 2, 10, 14, 31, 5) + 0.487),
    ("2025-02-10T16:30:58+02:00", utc(2025, 2, 10, 14, 30, 58)),      # explicit offset respected
    ("2025-02-10T14:30:58+00:00", utc(2025, 2, 10, 14, 30, 58)),
])
def test_parse_timestamp_reads_lobstr_iso_forms_as_utc(text, epoch) -> None:
    assert parse_timestamp(text) == pytest.approx(epoch, abs=1e-6)


@pytest.mark.parametrize("value", [
    None, "", "   ", "yesterday", "2025-13-40T00:00:00Z", "2025-02-10T25:00:00", "0:00:50.183300",
    1739197858, 1739197858.0, ["2025-02-10T14:30:58Z"], {"at": "2025-02-10T14:30:58Z"},
])
def test_parse_timestamp_gives_none_for_anything_else(value) -> None:
    assert parse_timestamp(value) is None


# -- as_count -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "count"), [
    (0, 0), (138, 138), (138.0, 138), ("138", 138), (" 7 ", 7), (10**12, 10**12),
])
def test_as_count_accepts_whole_non_negative_numbers(value, count) -> None:
    assert as_count(value) == count


@pytest.mark.parametrize("value", [
    None, True, False, -1, -1.0, 1.5, float("nan"), float("inf"), "", "abc", "-3", "1.5", "12a",
    [], {}, {"n": 1},
])
def test_as_count_gives_none_for_anything_unusable(value) -> None:
    assert as_count(value) is None


# Regression: str.isdigit() accepts these but int() refuses them; as_count used to raise ValueError.
@pytest.mark.parametrize("value", ["²", "12³", "①"])
def test_as_count_gives_none_for_digit_like_text(value) -> None:
    assert as_count(value) is None


# -- gap arithmetic ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("expected", "collected", "gap", "share", "ratio"), [
    (138, 6, 132, 132 / 138, 6 / 138),
    (100, 100, 0, 0.0, 1.0),
    (100, 0, 100, 1.0, 0.0),
    (10, 15, -5, 0.0, 1.5),            # over-collected: negative gap, nothing missing
    (0, 0, 0, 0.0, 1.0),               # nothing expected, nothing collected: complete
    (0, 5, -5, 0.0, None),             # ratio left to the next assertion
])
def test_gap_share_and_completeness(expected, collected, gap, share, ratio) -> None:
    assert task_gap(expected, collected) == gap
    assert missing_share(expected, collected) == pytest.approx(share)
    if ratio is not None:
        assert completeness(expected, collected) == pytest.approx(ratio)


@pytest.mark.parametrize(("expected", "collected"), [(None, 5), (5, None), (None, None)])
def test_unknown_sides_give_unknown_results_never_zero(expected, collected) -> None:
    assert task_gap(expected, collected) is None
    assert missing_share(expected, collected) is None
    assert completeness(expected, collected) is None


# -- RunTask.from_api -------------------------------------------------------------------------------


def test_from_api_reads_the_documented_row() -> None:
    task = RunTask.from_api(DOC_ROW)
    assert task.id == "1262f6f99dac7dffb05a513fff0ded77"
    assert task.run == RUN_ID
    assert task.task == "d30334cd8d21ab16048c5e2e7136a9f1"
    assert task.status == "aborted"
    assert task.done_reason == "run_aborted"
    assert task.done_reason_desc is None
    assert task.params == DOC_ROW["params"]
    assert task.url == DOC_ROW["params"]["url"]
    assert task.started_at == utc(2025, 2, 10, 14, 30, 58)
    assert task.ended_at == utc(2025, 2, 10, 14, 31, 10)
    assert task.last_collection_at == utc(2025, 2, 10, 14, 31, 10)
    assert (task.expected, task.collected, task.total_pages, task.last_page) == (138, 6, 1, 0)
    assert task.gap == 132
    assert task.missing_share == pytest.approx(132 / 138)
    assert task.completeness == pytest.approx(6 / 138)
    assert task.duration == 12.0
    assert task.is_live is False


def test_from_api_with_only_an_id_leaves_everything_unknown() -> None:
    task = RunTask.from_api({"id": "abc"})
    assert task == RunTask(id="abc")
    assert task.params == {}
    assert (task.gap, task.missing_share, task.completeness, task.duration, task.url) == (None,) * 5


def test_from_api_with_explicit_nulls_leaves_everything_unknown() -> None:
    row = {key: None for key in DOC_ROW} | {"id": "abc"}
    assert RunTask.from_api(row) == RunTask(id="abc")


def test_null_expected_stays_unknown_and_is_never_counted_as_zero() -> None:
    task = RunTask.from_api(DOC_ROW | {"total_results": None, "last_result": 40})
    assert task.expected is None
    assert task.collected == 40
    assert task.gap is None
    assert task.missing_share is None
    assert task.completeness is None


def test_over_collection_gives_a_negative_gap_and_nothing_missing() -> None:
    task = RunTask.from_api(DOC_ROW | {"total_results": 10, "last_result": 12})
    assert task.gap == -2
    assert task.missing_share == 0.0
    assert task.completeness == pytest.approx(1.2)


def test_zero_expected_and_zero_collected_is_complete() -> None:
    task = RunTask.from_api(DOC_ROW | {"total_results": 0, "last_result": 0})
    assert task.gap == 0
    assert task.missing_share == 0.0
    assert task.completeness == 1.0


def test_counts_given_as_numeric_text_or_whole_floats_are_read() -> None:
    task = RunTask.from_api(DOC_ROW | {"total_results": "138", "last_result": 6.0})
    assert (task.expected, task.collected) == (138, 6)


@pytest.mark.parametrize("bad", [-1, "n/a", 1.5, True])
def test_unusable_counts_become_unknown(bad) -> None:
    task = RunTask.from_api(DOC_ROW | {"total_results": bad})
    assert task.expected is None
    assert task.gap is None


def test_a_row_with_a_digit_like_count_is_kept_with_the_count_unknown() -> None:
    # Regression: as_count used to raise here, and Store.save_page dropped the row as if it had no id.
    task = RunTask.from_api(DOC_ROW | {"total_results": "¹³⁸"})
    assert task.id == DOC_ROW["id"]
    assert task.expected is None


@pytest.mark.parametrize(("params", "stored"), [
    ({"url": "https://x.test", "max_results": 5}, {"url": "https://x.test", "max_results": 5}),
    ({}, {}),
    (None, {}),
    (["https://a.test", "https://b.test"], {"value": ["https://a.test", "https://b.test"]}),
    ("https://a.test", {"value": "https://a.test"}),
    (42, {"value": 42}),
])
def test_params_are_always_a_mapping(params, stored) -> None:
    task = RunTask.from_api(DOC_ROW | {"params": params})
    assert dict(task.params) == stored


def test_missing_params_give_an_empty_mapping() -> None:
    row = {k: v for k, v in DOC_ROW.items() if k != "params"}
    task = RunTask.from_api(row)
    assert task.params == {}
    assert task.url is None


@pytest.mark.parametrize("row", [
    {}, {"id": None}, {"id": ""}, {"id": "   "}, {"id": 123}, {"id": ["a"]},
    {k: v for k, v in DOC_ROW.items() if k != "id"},
])
def test_a_row_without_a_usable_id_is_refused(row) -> None:
    with pytest.raises(ValueError, match="id"):
        RunTask.from_api(row)


def test_id_is_stripped() -> None:
    assert RunTask.from_api({"id": "  abc \n"}).id == "abc"


def test_text_fields_are_stripped_shortened_and_non_text_is_json() -> None:
    task = RunTask.from_api({
        "id": "abc", "status": {"status": "completed"}, "done_reason": "  x" + "y" * 500,
        "done_reason_desc": "   ", "run": "r" * 100,
    })
    assert task.status == '{"status": "completed"}'
    assert task.done_reason == ("x" + "y" * 500)[:128]
    assert task.done_reason_desc is None
    assert task.run == "r" * 64


@pytest.mark.parametrize(("started", "ended", "duration"), [
    ("2025-02-10T14:30:58Z", "2025-02-10T14:31:10Z", 12.0),
    ("2025-02-10T14:30:58Z", "2025-02-10T14:30:58Z", 0.0),
    ("2025-02-10T14:30:58.250Z", "2025-02-10T14:30:59Z", 0.75),
    ("2025-02-10T14:31:10Z", "2025-02-10T14:30:58Z", None),    # ended before it started
    ("2025-02-10T14:30:58Z", None, None),                      # still running
    (None, "2025-02-10T14:31:10Z", None),
    ("garbage", "2025-02-10T14:31:10Z", None),
])
def test_duration_needs_both_ends_in_order(started, ended, duration) -> None:
    task = RunTask.from_api(DOC_ROW | {"started_at": started, "ended_at": ended})
    assert task.duration == duration


@pytest.mark.parametrize(("url", "expected"), [
    ("  https://a.test/x  ", "https://a.test/x"), ("", None), ("   ", None), (None, None), (5, None),
])
def test_url_is_the_stripped_params_url_when_it_is_text(url, expected) -> None:
    assert RunTask.from_api({"id": "a", "params": {"url": url}}).url == expected


@pytest.mark.parametrize(("status", "live"), [
    ("running", True), ("RUNNING", True), ("pending", True), ("uploading", True), ("paused", True),
    ("completed", False), ("aborted", False), ("error", False), (None, False), ("", False),
])
def test_live_statuses(status, live) -> None:
    assert is_live_status(status) is live
    assert RunTask(id="a", status=status).is_live is live


# -- RunSummary, position_range ---------------------------------------------------------------------


@pytest.mark.parametrize(("summary", "percent"), [
    (RunSummary(expected=200, missing=50), 75.0),
    (RunSummary(expected=200, missing=0), 100.0),
    (RunSummary(expected=100, missing=0, over_collected=40), 100.0),  # over-collection not counted
    (RunSummary(expected=100, missing=100), 0.0),
    (RunSummary(expected=0), None),
    (RunSummary(expected=0, expected_unknown=3, collected=12), None),  # nothing known: no percentage
])
def test_percent_complete(summary, percent) -> None:
    assert summary.percent_complete == percent


def test_summary_is_live_while_a_task_is_live() -> None:
    assert RunSummary(tasks_live=1).is_live is True
    assert RunSummary(tasks_live=0).is_live is False


@pytest.mark.parametrize(("page", "size", "total", "expected"), [
    (1, 100, 250, (1, 100)),
    (2, 100, 250, (101, 200)),
    (3, 100, 250, (201, 250)),
    (1, 100, None, (1, 100)),
    (4, 50, None, (151, 200)),
    (1, 100, 1, (1, 1)),
])
def test_position_range(page, size, total, expected) -> None:
    assert position_range(page, size, total) == expected


@pytest.mark.parametrize(("page", "total"), [(1, 0), (5, 250)])
def test_position_range_never_ends_before_it_starts(page, total) -> None:
    first, last = position_range(page, 100, total)
    assert first == (page - 1) * 100 + 1
    assert last >= first
