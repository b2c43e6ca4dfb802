"""What users send: run ids in pasted text, the task table's query string, the JSON proxy's paging."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from werkzeug.datastructures import MultiDict

from lobstr_dash.web.querystring import (
    DESCENDING_FIRST,
    MAX_FILTER_VALUES,
    MAX_PAGE,
    MAX_TEXT_LENGTH,
    MAX_VALUE_LENGTH,
    RUN_ID_HELP,
    InvalidInput,
    extract_run_id,
    is_run_id,
    parse_task_query,
    query_args,
    upstream_paging,
)
from lobstr_dash.domain.query import NO_REASON, TaskQuery
from lobstr_dash.store import SORT_COLUMNS

RUN = "300e9c5c127d421c90f431478d9a2cfb"
SQUID = "381cfbb47e474782857ddc035298b6f3"
TASK = "d30334cd8d21ab16048c5e2e7136a9f1"
PER_PAGE = 25


def parse(pairs: list[tuple[str, str]] | dict[str, str] | None = None) -> TaskQuery:
    return parse_task_query(MultiDict(pairs or {}), PER_PAGE)


# -- extract_run_id ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    RUN,
    f"  {RUN}\n",
    RUN.upper(),
    f"https://app.lobstr.io/dashboard/runs/{RUN}",
    f"https://app.lobstr.io/dashboard/runs/{RUN.upper()}/",
    f"https://app.lobstr.io/dashboard?run={RUN}",
    f"https://app.lobstr.io/dashboard/squids/{SQUID}/runs/{RUN}",
    f"https://app.lobstr.io/dashboard/squids/{SQUID}?run={RUN}&tab=tasks",
    f"https://api.lobstr.io/v1/runtasks?run={RUN}&page=2&limit=50",
    f"https://api.lobstr.io/v1/runs/{RUN}/stats",
    f"squid {SQUID} run {RUN}",
    f"run: {RUN} (squid {SQUID})",
    f"Run {RUN} of squid {SQUID} stopped early",
    f"squid={SQUID}&run={RUN}",
    f"task {TASK} in run #{RUN}",
    f"{RUN} and again {RUN}",                      # the same id twice is still one id
    f"curl -H 'Authorization: Token x' 'https://api.lobstr.io/v1/runtasks?run={RUN}'",
])
def test_extract_run_id_finds_the_run_in_ids_urls_and_text(text) -> None:
    assert extract_run_id(text) == RUN


@pytest.mark.parametrize("text", [
    f"{SQUID} {RUN}",                              # two ids, neither introduced as the run
    f"squid {SQUID} task {TASK}",
    f"run {RUN} and run {SQUID}",                  # two ids both called the run
    f"https://app.lobstr.io/dashboard/squids/{SQUID}/tasks/{TASK}",
])
def test_extract_run_id_refuses_two_unrelated_ids(text) -> None:
    with pytest.raises(InvalidInput, match="different 32-character ids"):
        extract_run_id(text)


@pytest.mark.parametrize("text", [
    "", "   ", None, "hello", "run", "runs/", RUN[:31], RUN + "a", f"runs/{RUN}a", f"run={RUN[:31]}",
    "a" * 64, f"sha256 {'0' * 64}", RUN.replace("0", "g"),
])
def test_extract_run_id_refuses_text_without_exactly_32_hex_characters(text) -> None:
    with pytest.raises(InvalidInput) as info:
        extract_run_id(text)
    assert RUN_ID_HELP in str(info.value)


def test_invalid_input_is_a_value_error() -> None:
    assert issubclass(InvalidInput, ValueError)


@pytest.mark.parametrize("text", [
    f'{{"id": "1262f6f99dac7dffb05a513fff0ded77", "task": "{TASK}", "run": "{RUN}", "status": "aborted"}}',
    f'{{"run_id": "{RUN}", "squid": "{SQUID}"}}',
    f"squid_id={SQUID}&run_id={RUN}",
    f"Squid ID: {SQUID}\nRun ID: {RUN}",
])
def test_extract_run_id_recognises_common_run_labels(text) -> None:
    assert extract_run_id(text) == RUN


def test_is_run_id_only_accepts_the_canonical_lower_case_form() -> None:
    assert is_run_id(RUN)
    assert not is_run_id(RUN.upper())
    assert not is_run_id(" " + RUN)
    assert not is_run_id(RUN[:31])
    assert not is_run_id(RUN + "0")


def test_is_run_id_refuses_a_trailing_newline() -> None:
    assert not is_run_id(RUN + "\n")


# -- parse_task_query -------------------------------------------------------------------------------


def test_an_empty_query_sorts_by_gap_largest_first() -> None:
    assert parse() == TaskQuery(statuses=(), reasons=(), short_only=False, text="", sort="gap",
                                descending=True, page=1, per_page=PER_PAGE)


@pytest.mark.parametrize("sort", sorted(SORT_COLUMNS))
def test_each_sort_has_its_natural_first_direction(sort) -> None:
    query = parse({"sort": sort})
    assert query.sort == sort
    assert query.descending is (sort in DESCENDING_FIRST)


@pytest.mark.parametrize(("sort", "direction", "descending"), [
    ("gap", "asc", False), ("gap", "desc", True), ("status", "desc", True), ("status", "asc", False),
    ("position", "DESC", True), ("expected", " Asc ", False), ("gap", "", True),
])
def test_dir_overrides_the_natural_direction(sort, direction, descending) -> None:
    assert parse({"sort": sort, "dir": direction}).descending is descending


def test_filters_are_read_stripped_and_deduplicated_in_order() -> None:
    query = parse([("status", "aborted"), ("status", " error "), ("status", "aborted"), ("status", ""),
                   ("reason", "run_aborted"), ("reason", NO_REASON), ("q", "  google maps  "),
                   ("page", " 3 ")])
    assert query.statuses == ("aborted", "error")
    assert query.reasons == ("run_aborted", NO_REASON)
    assert query.text == "google maps"
    assert query.page == 3


@pytest.mark.parametrize("value", ["1", "true", "on", "yes", "TRUE", " Yes "])
def test_short_flag_on(value) -> None:
    assert parse({"short": value}).short_only is True


@pytest.mark.parametrize("value", ["", "0", "false", "off", "no", "NO"])
def test_short_flag_off(value) -> None:
    assert parse({"short": value}).short_only is False


@pytest.mark.parametrize("args", [
    pytest.param({"sort": "bogus"}, id="unknown-sort"),
    pytest.param({"sort": "gap; DROP TABLE tasks"}, id="sort-injection"),
    pytest.param({"sort": "GAP"}, id="sort-is-case-sensitive"),
    pytest.param({"dir": "up"}, id="bad-dir"),
    pytest.param({"dir": "descending"}, id="long-dir"),
    pytest.param({"page": "0"}, id="page-0"),
    pytest.param({"page": "-1"}, id="page-negative"),
    pytest.param({"page": "abc"}, id="page-text"),
    pytest.param({"page": "1.5"}, id="page-fraction"),
    pytest.param({"page": "1e3"}, id="page-exponent"),
    pytest.param({"page": str(MAX_PAGE + 1)}, id="page-huge"),
    pytest.param({"page": "9" * 100}, id="page-100-digits"),
    pytest.param({"q": "x" * (MAX_TEXT_LENGTH + 1)}, id="q-too-long"),
    pytest.param({"short": "maybe"}, id="bad-short"),
    pytest.param([("status", f"s{i}") for i in range(MAX_FILTER_VALUES + 1)], id="too-many-statuses"),
    pytest.param([("reason", f"r{i}") for i in range(MAX_FILTER_VALUES + 1)], id="too-many-reasons"),
    pytest.param({"status": "s" * (MAX_VALUE_LENGTH + 1)}, id="status-too-long"),
    pytest.param({"reason": "r" * (MAX_VALUE_LENGTH + 1)}, id="reason-too-long"),
])
def test_every_invalid_value_is_refused_with_invalid_input(args) -> None:
    with pytest.raises(InvalidInput):
        parse(args)


def test_an_unknown_sort_message_lists_the_valid_sorts_and_quotes_at_most_40_chars() -> None:
    with pytest.raises(InvalidInput) as info:
        parse({"sort": "z" * 500})
    message = str(info.value)
    assert "z" * 41 not in message
    assert all(sort in message for sort in SORT_COLUMNS)


def test_values_at_the_limits_are_accepted() -> None:
    query = parse([("status", "s" * MAX_VALUE_LENGTH)]
                  + [("reason", f"r{i}") for i in range(MAX_FILTER_VALUES)]
                  + [("q", "x" * MAX_TEXT_LENGTH), ("page", str(MAX_PAGE))])
    assert query.statuses == ("s" * MAX_VALUE_LENGTH,)
    assert len(query.reasons) == MAX_FILTER_VALUES
    assert len(query.text) == MAX_TEXT_LENGTH
    assert query.page == MAX_PAGE


# Regression: these used to pass isdigit() and make int() raise a plain ValueError (HTTP 500).
@pytest.mark.parametrize("page", ["²", "1²", "9" * 5000], ids=["superscript", "mixed", "5000-digits"])
def test_pages_that_look_like_digits_are_refused_with_invalid_input(page) -> None:
    with pytest.raises(InvalidInput):
        parse({"page": page})


# -- query_args round trip ---------------------------------------------------------------------------


def roundtrip(query: TaskQuery) -> TaskQuery:
    """Through a real query string, as url_for and the browser would carry it."""
    encoded = urlencode(query_args(query), doseq=True)
    return parse_task_query(MultiDict(parse_qsl(encoded, keep_blank_values=True)), query.per_page)


@pytest.mark.parametrize("query", [
    TaskQuery(per_page=PER_PAGE),
    TaskQuery(sort="gap", descending=False, per_page=PER_PAGE),
    TaskQuery(sort="status", descending=False, per_page=PER_PAGE),
    TaskQuery(sort="status", descending=True, per_page=PER_PAGE),
    TaskQuery(sort="position", descending=False, page=7, per_page=PER_PAGE),
    TaskQuery(sort="duration", descending=True, per_page=PER_PAGE),
    TaskQuery(statuses=("aborted", "error"), reasons=("run_aborted", NO_REASON), short_only=True,
              text="café & crème = 100%", sort="missing", descending=False, page=2, per_page=PER_PAGE),
    TaskQuery(text="0", per_page=PER_PAGE),
])
def test_query_args_round_trips_through_parse(query) -> None:
    assert roundtrip(query) == query


def test_query_args_of_the_default_query_is_empty() -> None:
    assert query_args(TaskQuery()) == {}


def test_query_args_applies_changes_and_drops_empty_values() -> None:
    query = TaskQuery(statuses=("aborted",), text="maps", page=4)
    assert query_args(query, page=5) == {"status": ["aborted"], "q": "maps", "page": 5}
    assert query_args(query, q=None, page=None) == {"status": ["aborted"]}
    assert query_args(query, sort="status") == {"status": ["aborted"], "q": "maps", "page": 4,
                                                "sort": "status"}


# -- upstream_paging ---------------------------------------------------------------------------------


def test_upstream_paging_reads_run_page_and_limit() -> None:
    assert upstream_paging({"run": RUN, "page": "3", "limit": "100"}) == (RUN, 3, 100)


def test_upstream_paging_defaults_to_page_1_and_lobstrs_default_limit() -> None:
    assert upstream_paging({"run": f" {RUN} "}) == (RUN, 1, 50)
    assert upstream_paging({"run": RUN, "page": "", "limit": ""}) == (RUN, 1, 50)


@pytest.mark.parametrize("args", [
    pytest.param({}, id="no-run"),
    pytest.param({"run": "abc"}, id="short-run"),
    pytest.param({"run": f"https://app.lobstr.io/dashboard/runs/{RUN}"}, id="url-not-id"),
    pytest.param({"run": RUN, "page": "0"}, id="page-0"),
    pytest.param({"run": RUN, "page": "-2"}, id="page-negative"),
    pytest.param({"run": RUN, "page": str(MAX_PAGE + 1)}, id="page-huge"),
    pytest.param({"run": RUN, "limit": "0"}, id="limit-0"),
    pytest.param({"run": RUN, "limit": "101"}, id="limit-above-lobstr-max"),
    pytest.param({"run": RUN, "limit": "ten"}, id="limit-text"),
])
def test_upstream_paging_refuses_bad_values_before_any_upstream_call(args) -> None:
    with pytest.raises(InvalidInput):
        upstream_paging(args)


# Regression: these used to pass isdigit() and make int() raise a plain ValueError (HTTP 500).
@pytest.mark.parametrize("key", ["page", "limit"])
@pytest.mark.parametrize("value", ["³", "9" * 5000], ids=["superscript", "5000-digits"])
def test_upstream_paging_refuses_digit_lookalikes_with_invalid_input(key, value) -> None:
    with pytest.raises(InvalidInput):
        upstream_paging({"run": RUN, key: value})
