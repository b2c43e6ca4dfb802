"""Every new page through the fake lobstr over real HTTP: squids, a squid's runs, the run page's
context, reason cards, gap classes and charts, compare, digest, re-queue kit and glossary."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from helpers import number
from helpers import soup
from lobstr_dash import create_app
from lobstr_dash.render import requeue
from lobstr_dash.fake import DEMO_RUN_IDS
from lobstr_dash.fake import DEMO_RUNS
from lobstr_dash.fake import HISTORY_RUN_IDS
from lobstr_dash.fake import FaultRule

TOKEN = "browse-token-5c1e"
CLEAN, ABORTED, MIXED = DEMO_RUN_IDS["clean"], DEMO_RUN_IDS["aborted"], DEMO_RUN_IDS["mixed"]
LIVE, EMPTY = DEMO_RUN_IDS["live"], DEMO_RUN_IDS["empty"]
MIXED_BEFORE = HISTORY_RUN_IDS["mixed-previous"]
MAPS = DEMO_RUNS[0].squid_id
LEADS = DEMO_RUNS[2].squid_id


@pytest.fixture
def fake(served_fake: Any) -> tuple[Flask, str]:
    """The fake lobstr API on a loopback port."""
    fake, base_url = served_fake(tokens={TOKEN})
    return fake.app, base_url


@pytest.fixture
def dash(fake: tuple[Flask, str], tmp_path: Any) -> Iterator[Any]:
    """A test client of the dashboard pointed at the fake."""
    _app, base_url = fake
    app = create_app({"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url, "DATA_DIR": str(tmp_path),
                      "LOAD_WAIT_SECONDS": 30.0, "EXPORT_WAIT_SECONDS": 30.0,
                      "LOBSTR_BACKOFF_BASE": 0.01, "LOBSTR_MAX_ATTEMPTS": 2})
    yield app.test_client()
    for run_id in list(app.extensions["lobstr_dash"].loader._threads):
        app.extensions["lobstr_dash"].loader.join(run_id, 10)


def fake_rows(fake_app: Flask, run_id: str) -> list[dict[str, Any]]:
    return list(fake_app.extensions["fake"].catalog.iter_rows(run_id))


def csv_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def assert_strict_page(response: Any) -> None:
    """No inline script or style, and every hx-get repeats a real link or form."""
    page = soup(response)
    assert all(s.has_attr("src") for s in page.select("script"))
    assert not page.select("style") and not page.select("[style]")
    for element in page.select("[hx-get]"):
        path = element["hx-get"].split("?")[0]
        form = element.find_parent("form")
        plain = element.get("href") or element.get("action") or (form.get("action") if form else None)
        assert plain is None or plain.split("?")[0] == path, element.name
        assert plain is not None or element.name == "section", element.name


def test_squids_are_listed_searchable_with_json_and_csv_twins(dash: Any) -> None:
    page = dash.get("/squids")
    assert page.status_code == 200
    assert_strict_page(page)
    rows = soup(page).select("table.squid-table tbody tr")
    assert len(rows) == 3
    links = {a.get_text(strip=True): a["href"] for a in soup(page).select("table.squid-table a")}
    assert links["Sales Navigator – leads by keyword"] == f"/squids/{LEADS}/runs"
    found = soup(dash.get("/squids?q=SALES")).select("table.squid-table tbody tr")
    assert len(found) == 1 and "Sales Navigator" in found[0].get_text()
    as_json = dash.get("/squids.json?q=sales").json
    assert as_json["ok"] and [s["id"] for s in as_json["squids"]] == [LEADS]
    assert as_json["squids"][0]["runs_url"] == f"/squids/{LEADS}/runs"
    assert as_json["squids"][0]["last_run_status"] == "error" and as_json["squids"][0]["total_runs"] == 2
    assert {r["id"] for r in csv_of(dash.get("/squids.csv"))} == {r.squid_id for r in DEMO_RUNS}
    partial = dash.get("/squids?q=maps", headers={"HX-Request": "true", "HX-Target": "squid-list"})
    assert "<html" not in partial.get_data(as_text=True) and "Google Maps" in partial.get_data(as_text=True)
    assert dash.get("/squids?page=0").status_code == 400
    assert dash.get("/squids.json?q=" + "x" * 300).json["kind"] == "invalid_input"


def test_a_squids_runs_newest_first_with_completeness_once_read(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    page = dash.get(f"/squids/{MAPS}/runs")
    assert page.status_code == 200
    assert_strict_page(page)
    rows = soup(page).select("table.run-list tbody tr")
    ids = [tr["data-run"] for tr in rows]
    assert set(ids) == {CLEAN, ABORTED, LIVE, DEMO_RUN_IDS["big"]}
    started = [tr.select_one("time")["datetime"] for tr in rows]
    assert started == sorted(started, reverse=True)
    by_id = {tr["data-run"]: tr for tr in rows}
    assert "aborted" in by_id[ABORTED].get_text() and "Stopped by the user" in by_id[ABORTED].get_text()
    assert "not read" in by_id[ABORTED].get_text()
    assert by_id[ABORTED].select_one("a")["href"] == f"/runs/{ABORTED}"
    compare_link = by_id[ABORTED].select("a")[-1]["href"]
    assert compare_link == f"/compare?a={CLEAN}&b={ABORTED}"
    # Once its tasks are read, the run shows how complete it is.
    assert dash.get(f"/runs/{ABORTED}").status_code == 200
    truth = fake_rows(fake_app, ABORTED)
    expected = sum(r["total_results"] or 0 for r in truth)
    missing = sum(max(0, (r["total_results"] or 0) - r["last_result"]) for r in truth
                  if r["total_results"] is not None)
    again = {tr["data-run"]: tr for tr in soup(dash.get(f"/squids/{MAPS}/runs")).select(
        "table.run-list tbody tr")}
    assert f"{100 * (expected - missing) / expected:.1f}%" in again[ABORTED].get_text()
    assert f"{missing:,} missing" in again[ABORTED].get_text()
    records = {r["id"]: r for r in dash.get(f"/squids/{MAPS}/runs.json").json["runs"]}
    assert records[ABORTED]["missing_stored"] == missing and records[CLEAN]["tasks_stored"] is None
    assert records[ABORTED]["done_reason_group"] == "user" and records[ABORTED]["credit_used"] > 0
    assert isinstance(records[ABORTED]["duration_seconds"], float)
    assert {r["id"] for r in csv_of(dash.get(f"/squids/{MAPS}/runs.csv"))} == set(ids)
    assert dash.get("/squids/bad id!/runs").status_code in (400, 404)
    assert dash.get(f"/squids/{'0' * 32}/runs").status_code == 404


def test_the_run_page_shows_the_run_context_above_the_tasks(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    page = dash.get(f"/runs/{ABORTED}")
    html = soup(page)
    context = html.select_one("#run-status #run-context").get_text(" ", strip=True)
    run = fake_app.test_client().get(f"/v1/runs/{ABORTED}", headers={"Authorization": f"Token {TOKEN}"}).json
    assert "Run status aborted" in context and "aborted" in context
    assert "Someone pressed Abort" in context  # the run's done_reason explained
    assert f"{run['credit_used']:,.2f}" in context and "Origin user" in context
    total = run["duration"]  # seconds, as the current get-run page gives it
    assert f"{int(total // 60)} min {round(total) % 60:02d} s" in context
    assert html.select_one("#run-context a")["href"] == f"/squids/{MAPS}/runs"
    # The context sits above the table, and the table is all there.
    text = page.get_data(as_text=True)
    assert text.index('id="run-context"') < text.index('class="task-table"')
    assert len(html.select("table.task-table tbody tr")) == 100
    assert_strict_page(page)


def test_a_failing_run_context_never_hides_the_tasks(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    fake_app.extensions["fake"].faults.append(FaultRule(endpoint="run", status=500, times=None))
    fake_app.extensions["fake"].faults.append(FaultRule(endpoint="stats", status=503, times=None))
    page = dash.get(f"/runs/{MIXED}")
    assert page.status_code == 200
    html = soup(page)
    notice = html.select_one("#run-context .context-error").get_text(" ", strip=True)
    assert "could not be read" in notice and "not affected" in notice
    assert len(html.select("table.task-table tbody tr")) == 100
    assert html.select_one(".reason-cards") is not None


def test_reason_cards_and_gap_classes_match_the_tasks(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    truth = fake_rows(fake_app, MIXED)
    html = soup(dash.get(f"/runs/{MIXED}"))
    cards = {card["data-reason"]: card for card in html.select(".reason-card")}
    reasons = Counter(r["done_reason"] or "" for r in truth)
    assert set(cards) == set(reasons)
    all_missing = sum(max(0, r["total_results"] - r["last_result"]) for r in truth
                      if r["total_results"] is not None)
    for code, card in cards.items():
        figures = {d.dt.get_text(strip=True): d.dd.get_text(strip=True)
                   for d in card.select(".card-figures > div")}
        missing = sum(max(0, r["total_results"] - r["last_result"]) for r in truth
                      if (r["done_reason"] or "") == code and r["total_results"] is not None)
        assert number(figures["Tasks"]) == reasons[code]
        assert number(figures["Missing results"]) == missing
        if missing:
            assert figures["Share of all missing"] == f"{100 * missing / all_missing:.0f}%"
        assert card.select_one(".action").get_text().startswith("What to do:")
    # Undocumented values are shown raw and marked, never renamed.
    assert cards["proxy_timeout"].select_one(".badge-undocumented") is not None
    assert cards["proxy_timeout"].select_one("h3 code").get_text() == "proxy_timeout"
    assert cards["cookies_expired"].select_one(".badge-undocumented") is None
    assert "Account problem" in cards["cookies_expired"].get_text()
    # The cards lead with the costliest reason.
    order = [number(c.select(".card-figures dd")[1].get_text()) for c in html.select(".reason-card")]
    assert order == sorted(order, reverse=True)
    # Gap classes: facet checkboxes whose counts add up, each a filter of exactly that many tasks.
    boxes = html.select("#facets input[name=class]")
    counts = {box["value"]: number(html.select_one(f"label[for={box['id']}] .facet-count").get_text())
              for box in boxes}
    labels = {box["value"]: html.select_one(f"label[for={box['id']}] .facet-label").get_text()
              for box in boxes}
    assert sum(counts.values()) == len(truth)
    assert labels["account"] == "short — account, credits or billing"
    filtered = soup(dash.get(f"/runs/{MIXED}?class=account"))
    line = filtered.select_one("#tasks .count").get_text(" ", strip=True)
    assert number(line.split(" of ")[1]) == counts["account"]
    checked = filtered.select("form#filters input[name=class][checked]")
    assert [i["value"] for i in checked] == ["account"]
    exported = csv_of(dash.get(f"/runs/{MIXED}/tasks.csv?class=account"))
    assert len(exported) == counts["account"]
    assert {r["gap_class"] for r in exported} == {"account"}


def test_charts_follow_the_filters_and_carry_text_alternatives(dash: Any) -> None:
    for qs, total in (("", 300), ("?status=completed", None)):
        html = soup(dash.get(f"/runs/{ABORTED}{qs}"))
        matching = number(html.select_one("#tasks .count").get_text(" ", strip=True).split(" of ")[1])
        assert total is None or matching == total
        svgs = html.select("#charts svg")
        figures = html.select("#charts figure")
        assert len(figures) == 3
        assert len(svgs) + len([f for f in figures if "Nothing to draw" in f.get_text()]) == 3
        for svg in svgs:
            root = ET.fromstring(str(svg))
            assert root.find("{http://www.w3.org/2000/svg}title").text
            assert root.find("{http://www.w3.org/2000/svg}desc").text
        bars = [r for r in ET.fromstring(str(svgs[0])).iter("{http://www.w3.org/2000/svg}rect")]
        assert sum(int(b.get("data-count")) for b in bars) == matching
        assert len(html.select("#charts details.chart-data table")) == len(svgs)
        caption = html.select_one("#chart-timeline-figure figcaption").get_text(" ", strip=True)
        assert "Running counts use every task" in caption


def test_compare_with_the_previous_run_of_the_squid(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    jump = dash.get(f"/runs/{MIXED}/previous")
    assert jump.status_code == 303
    assert jump.headers["Location"] == f"/compare?a={MIXED_BEFORE}&b={MIXED}"
    page = dash.get(jump.headers["Location"])
    assert page.status_code == 200
    assert_strict_page(page)
    html = soup(page)
    facets = html.select_one("#compare .facets")
    counts = {a.get_text(strip=True): int(a.next_sibling.strip().replace(",", ""))
              for a in facets.select("a")}
    assert counts["only in run B"] == 20 and counts["only in run A"] == 0
    assert sum(counts.values()) == 400
    assert counts["new failure"] > 0 and counts["improved"] > 0
    as_json = dash.get(f"/compare.json?a={MIXED_BEFORE}&b={MIXED}&kind=new_failure").json
    assert len(as_json["pairs"]) == counts["new failure"]
    assert all(p["a_gap_class"] in ("complete", "over", "unknown", "other") for p in as_json["pairs"])
    every = csv_of(dash.get(f"/compare.csv?a={MIXED_BEFORE}&b={MIXED}"))
    assert len(every) == 400 and Counter(r["kind"] for r in every)["only_b"] == 20
    # Pairs really are the same input in both runs.
    before = {r["task"]: r for r in fake_rows(fake_app, MIXED_BEFORE)}
    for row in every[:50]:
        if row["a_id"] and row["b_id"]:
            assert row["via"] == "task"
    assert len(before) == 380
    # The oldest run has no previous run: the comparison form says so.
    oldest = dash.get(f"/runs/{CLEAN}/previous")
    assert oldest.status_code == 200 and "oldest run" in oldest.get_data(as_text=True)
    assert soup(oldest).select_one("#cmp-b")["value"] == CLEAN


def test_the_digest_as_a_page_and_as_plain_text(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    page = dash.get(f"/runs/{MIXED}/digest")
    assert page.status_code == 200
    assert_strict_page(page)
    text = soup(page).select_one("textarea#digest-text").get_text()
    plain = dash.get(f"/runs/{MIXED}/digest.txt")
    assert plain.mimetype == "text/plain" and plain.get_data(as_text=True) == text
    truth = fake_rows(fake_app, MIXED)
    expected = sum(r["total_results"] for r in truth if r["total_results"] is not None)
    assert f"of {expected:,}** expected results" in text
    assert text.startswith(f"**lobstr run `{MIXED}`** — error (`no_credits_left`)")
    assert "Top reasons: `completed`" in text and "Biggest gaps:" in text
    assert re.search(rf"Details: http://localhost/runs/{MIXED}\n$", text)
    assert "<img" not in text  # the hostile description never reaches the digest raw
    filtered = dash.get(f"/runs/{MIXED}/digest.txt?class=site").get_data(as_text=True)
    assert "Biggest gaps (class short — site or platform error):" in filtered
    assert f"/runs/{MIXED}?class=site" in filtered


def test_the_requeue_kit_over_http(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    html = soup(dash.get(f"/runs/{ABORTED}"))
    kit = html.select_one("#requeue")
    truth = fake_rows(fake_app, ABORTED)
    short = [r for r in truth if r["status"] == "aborted"]
    assert f"{len(short)} tasks of these ended short" in kit.get_text(" ", strip=True)
    params = requeue.read_csv(dash.get(kit.select_one("a[href*='requeue.csv']")["href"]).get_data(
        as_text=True))
    assert params == [r["params"] for r in short]
    urls = dash.get(kit.select_one("a[href*='requeue.txt']")["href"]).get_data(as_text=True)
    assert urls.splitlines() == [r["params"]["url"] for r in short]


def test_the_glossary_and_its_twins(dash: Any) -> None:
    page = dash.get("/reasons")
    assert page.status_code == 200
    assert_strict_page(page)
    html = soup(page)
    groups = [h.get_text(strip=True) for h in html.select(".glossary-group h2")]
    assert groups[:3] == ["Finished normally", "Stopped by the user", "Account problem"]
    assert html.select_one("#reason-cookies_expired") is not None
    as_json = dash.get("/reasons.json").json
    assert len(as_json["reasons"]) == len(csv_of(dash.get("/reasons.csv"))) >= 35
    assert dash.get("/reasons.xml").status_code == 404


def test_live_run_context_is_refreshed_and_empty_run_has_no_cards(dash: Any) -> None:
    live = soup(dash.get(f"/runs/{LIVE}"))
    assert live.select_one("#run-context") is not None
    empty = soup(dash.get(f"/runs/{EMPTY}"))
    assert empty.select_one(".reason-card") is None
    # A run without tasks says so once; no empty charts, kit or filter panel (issue 11).
    assert "This run has no tasks" in empty.select_one("#run-status .verdict").get_text()
    assert empty.select_one("#charts") is None and empty.select_one("#requeue") is None
    assert empty.select_one("form#filters") is None


def test_the_status_poll_never_waits_for_the_context(dash: Any, fake: Any) -> None:
    fake_app, _ = fake
    fake_app.extensions["fake"].faults.append(FaultRule(endpoint="run", delay_ms=1500, times=None))
    poll = dash.get(f"/runs/{CLEAN}", headers={"HX-Request": "true", "HX-Target": "run-status"})
    assert poll.status_code == 200
    assert "Reading the run's own details" in poll.get_data(as_text=True)
    again = soup(poll).select_one(".context-note a")
    assert again["href"].startswith(f"/runs/{CLEAN}") and again["hx-trigger"] == "load delay:2s"
    assert again["hx-get"].split("?")[0] == f"/runs/{CLEAN}" and again["hx-target"] == "#run-status"
    context_service_of(dash).join(CLEAN, 10)
    later = dash.get(f"/runs/{CLEAN}", headers={"HX-Request": "true", "HX-Target": "run-status"})
    assert "Run status" in later.get_data(as_text=True)


def context_service_of(client: Any) -> Any:
    return client.application.extensions["lobstr_dash"].runs.info_fetcher
