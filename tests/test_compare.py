"""Comparing two runs: the change of each pair, the pairing (task id, then params, duplicates
one to one) as a store query, its filters, sorts and pages, and the /compare page and twins."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from helpers import soup
from lobstr_dash.domain import changes as cmp
from lobstr_dash.domain import gapclass as gc
from lobstr_dash.domain.changes import CompareQuery
from lobstr_dash.store import Store
from lobstr_dash.domain.query import TaskQuery
from taskrows import save_run
from taskrows import task_row

A = "a0" * 16
B = "b0" * 16


@pytest.mark.parametrize(("a", "b", "kind"), [
    # (gap class, done_reason, status, collected) of A, then of B.
    ((gc.COMPLETE, "completed", "completed", 100), (gc.COMPLETE, "completed", "completed", 100),
     cmp.SAME),
    ((gc.COMPLETE, "completed", "completed", 100), (gc.OTHER, "completed", "completed", 40),
     cmp.DROPPED),
    ((gc.COMPLETE, "completed", "completed", 100), (gc.OTHER, None, "error", 40), cmp.NEW_FAILURE),
    ((gc.COMPLETE, "completed", "completed", 100), (gc.ACCOUNT, "cookies_expired", "error", 0),
     cmp.NEW_FAILURE),
    ((gc.OTHER, "completed", "completed", 80), (gc.OTHER, "completed", "completed", 40), cmp.DROPPED),
    ((gc.OVER, "completed", "completed", 120), (gc.COMPLETE, "completed", "completed", 100),
     cmp.DROPPED),
    ((gc.SITE, "website_inaccessible", "error", 0), (gc.SITE, "request_failed", "error", 0),
     cmp.REASON_CHANGED),
    ((gc.ABORTED, "run_aborted", "aborted", 10), (gc.COMPLETE, "completed", "completed", 100),
     cmp.IMPROVED),
    ((gc.ACCOUNT, "cookies_expired", "error", None), (gc.COMPLETE, "completed", "completed", 50),
     cmp.IMPROVED),
    ((gc.OTHER, "completed", "completed", 10), (gc.OTHER, "completed", "completed", 20), cmp.IMPROVED),
    ((gc.UNKNOWN, "completed", "completed", None), (gc.UNKNOWN, "completed", "completed", None),
     cmp.SAME),
    ((gc.UNKNOWN, None, None, None), (gc.UNKNOWN, "", None, None), cmp.SAME),
    ((gc.RUNNING, None, "running", 5), (gc.ACCOUNT, "no_credits_left", "error", 5), cmp.NEW_FAILURE),
    ((gc.ACCOUNT, "cookies_expired", "error", 0), (gc.RUNNING, None, "running", 0),
     cmp.REASON_CHANGED),
])
def test_change_kind(a: tuple[Any, ...], b: tuple[Any, ...], kind: str) -> None:
    assert cmp.change_kind(True, True, *a, *b) == kind


def test_a_task_in_one_run_only() -> None:
    assert cmp.change_kind(True, False, gc.COMPLETE, "completed", "completed", 1,
                           None, None, None, None) == cmp.ONLY_A
    assert cmp.change_kind(False, True, None, None, None, None,
                           gc.COMPLETE, "completed", "completed", 1) == cmp.ONLY_B
    assert list(cmp.KINDS)[:3] == list(cmp.REGRESSIONS)


def crafted_pair() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two runs of one squid where every kind of change happens once (twice for duplicates)."""
    def url(i: int) -> dict[str, Any]:
        return {"url": f"https://maps.test/{i}"}

    a = [
        task_row(A, 0, params=url(0)),                                              # same
        task_row(A, 1, params=url(1)),                                              # dropped
        task_row(A, 2, params=url(2)),                                              # new failure
        task_row(A, 3, params=url(3), status="error", done_reason="website_inaccessible",
                 last_result=0),                                                    # reason changed
        task_row(A, 4, params=url(4), status="aborted", done_reason="run_aborted",
                 last_result=10),                                                   # improved
        task_row(A, 5, params=url(5)),                                              # only in A
        # No common task id, equal params (keys in another order): paired by params.
        task_row(A, 7, task=None, params={"keyword": "café", "country": "FR"}, last_result=90),
        # The same task id twice in each run: two pairs, not four.
        task_row(A, 8, task="f" * 32, params=url(80), last_result=100),
        task_row(A, 9, task="f" * 32, params=url(81), last_result=100),
    ]
    b = [
        task_row(B, 0, params=url(0)),
        task_row(B, 1, params=url(1), last_result=30),
        task_row(B, 2, params=url(2), status="error", done_reason="cookies_expired", last_result=0),
        task_row(B, 3, params=url(3), status="error", done_reason="request_failed", last_result=0),
        task_row(B, 4, params=url(4)),
        task_row(B, 6, params=url(6)),                                              # only in B
        task_row(B, 17, task="e" * 32, params={"country": "FR", "keyword": "café"}, last_result=50),
        task_row(B, 18, task="f" * 32, params=url(80), last_result=100),
        task_row(B, 19, task="f" * 32, params=url(81), last_result=100),
    ]
    # task_row gives task i the same squid task id in both runs, as lobstr does.
    return a, b


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.sqlite3")
    a, b = crafted_pair()
    save_run(store, A, a)
    save_run(store, B, b)
    return store


def test_pairs_by_task_id_then_params_one_to_one(store: Store) -> None:
    page = store.compare_page(A, B, CompareQuery())
    assert page.counts == {cmp.NEW_FAILURE: 1, cmp.DROPPED: 2, cmp.REASON_CHANGED: 1,
                           cmp.IMPROVED: 1, cmp.ONLY_A: 1, cmp.ONLY_B: 1, cmp.SAME: 3}
    assert page.total == page.matching == 10
    by_url = {p.url: p for p in page.pairs}
    assert by_url["https://maps.test/1"].delta == -70
    assert by_url["https://maps.test/5"].b is None and by_url["https://maps.test/5"].kind == cmp.ONLY_A
    assert by_url["https://maps.test/6"].a is None
    params_pair = next(p for p in page.pairs if p.via == "params")
    assert params_pair.kind == cmp.DROPPED and params_pair.delta == -40
    assert params_pair.a.id == f"{8:032x}" and params_pair.b.id == f"{18:032x}"
    dupes = [p for p in page.pairs if p.a and p.a.id in (f"{9:032x}", f"{10:032x}")]
    assert len(dupes) == 2 and {p.b.id for p in dupes} == {f"{19:032x}", f"{20:032x}"}


def test_default_order_puts_regressions_first_biggest_drop_first(store: Store) -> None:
    kinds = [p.kind for p in store.compare_page(A, B, CompareQuery()).pairs]
    assert kinds[:4] == [cmp.NEW_FAILURE, cmp.DROPPED, cmp.DROPPED, cmp.REASON_CHANGED]
    drops = [p.delta for p in store.compare_page(A, B, CompareQuery(kinds=(cmp.DROPPED,))).pairs]
    assert drops == [-70, -40]
    by_delta = store.compare_page(A, B, CompareQuery(sort="delta", descending=True)).pairs
    deltas = [p.delta for p in by_delta if p.delta is not None]
    assert deltas == sorted(deltas, reverse=True) and by_delta[-1].delta is None


def test_filters_apply_to_either_run_and_counts_follow_them(store: Store) -> None:
    errors = store.compare_page(A, B, CompareQuery(filters=TaskQuery(statuses=("error",))))
    assert errors.counts[cmp.NEW_FAILURE] == 1 and errors.counts[cmp.REASON_CHANGED] == 1
    assert errors.total == 2
    site = store.compare_page(A, B, CompareQuery(filters=TaskQuery(classes=("site",))))
    assert [p.url for p in site.pairs] == ["https://maps.test/3"]
    text = store.compare_page(A, B, CompareQuery(filters=TaskQuery(text="café")))
    assert text.total == 1 and text.pairs[0].via == "params"
    kinds = store.compare_page(A, B, CompareQuery(kinds=cmp.REGRESSIONS))
    assert kinds.matching == 4 and kinds.total == 10
    assert {p.kind for p in kinds.pairs} == set(cmp.REGRESSIONS)


def test_pages_and_the_export_iterator_agree(store: Store) -> None:
    seen = []
    for number in (1, 2, 3, 4):
        page = store.compare_page(A, B, CompareQuery(per_page=3, page=number))
        assert page.pages == 4 and page.page == number
        seen += [(p.a.id if p.a else None, p.b.id if p.b else None) for p in page.pairs]
    everything = [(p.a.id if p.a else None, p.b.id if p.b else None)
                  for p in store.iter_pairs(A, B, CompareQuery())]
    assert seen == everything and len(set(everything)) == 10
    assert store.compare_page(A, B, CompareQuery(per_page=3, page=99)).page == 4


def test_the_compare_page_and_its_twins(make_app: Any, upstream: Any) -> None:
    client = make_app().test_client()
    a, b = crafted_pair()
    upstream.add_run(A, a)
    upstream.add_run(B, b)
    page = client.get(f"/compare?a={A}&b={B}")
    assert page.status_code == 200
    html = soup(page)
    facets = html.select_one("#compare .facets").get_text(" ", strip=True)
    assert "new failure 1" in facets and "collected dropped 2" in facets and "only in run B 1" in facets
    rows = html.select("table.compare-table tbody tr")
    assert len(rows) == 10 and "kind-new_failure" in rows[0]["class"]
    form = html.select_one("form#compare-filters")
    assert form["action"] == form["hx-get"] == "/compare"
    for link in html.select("table.compare-table thead a"):
        assert link["href"].startswith(f"/compare?a={A}&b={B}")
    # The same query string, all pairs, as CSV and JSON.
    as_csv = list(csv.DictReader(io.StringIO(
        client.get(f"/compare.csv?a={A}&b={B}&kind=dropped").get_data(as_text=True))))
    assert [r["delta"] for r in as_csv] == ["-70", "-40"] and as_csv[1]["via"] == "params"
    as_json = client.get(f"/compare.json?a={A}&b={B}&sort=delta&dir=asc")
    assert as_json.json["ok"] and as_json.json["complete"] is True
    assert len(as_json.json["pairs"]) == 10 and as_json.json["pairs"][0]["delta"] == -100
    # An htmx swap gets the section only and pushes the canonical URL.
    partial = client.get(f"/compare?a={A}&b={B}&kind=improved&sort=change",
                         headers={"HX-Request": "true", "HX-Target": "compare"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and body.count('id="compare"') == 1
    assert partial.headers["HX-Push-Url"] == f"/compare?a={A}&b={B}&kind=improved"


def test_compare_refuses_what_it_cannot_read(make_app: Any, upstream: Any) -> None:
    client = make_app().test_client()
    form = client.get("/compare")
    assert form.status_code == 200 and soup(form).select_one("#cmp-a") is not None
    assert client.get(f"/compare?a={A}&b={A}").status_code == 400
    assert client.get("/compare?a=nope&b=nope2").status_code == 400
    missing = client.get(f"/compare.json?a={A}")
    assert missing.status_code == 400 and missing.json["ok"] is False
    assert client.get(f"/compare.csv?a={A}&b={B}&kind=worse").json["kind"] == "invalid_input"
    assert client.get(f"/compare.json?a={A}&b={B}&sort=nope").status_code == 400
    upper = client.get(f"/compare?a={A.upper()}&b=https://app.lobstr.io/runs/{B}")
    assert upper.status_code == 301 and upper.headers["Location"] == f"/compare?a={A}&b={B}"
    assert upstream.count() == 0
