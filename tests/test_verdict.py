"""The run page answers first: one meaning of short everywhere, the verdict, and a filter panel
that every htmx answer redraws from the same figures."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from helpers import number
from helpers import soup
from lobstr_dash import create_app
from lobstr_dash.domain import gapclass
from lobstr_dash.domain import verdict as verdicts
from lobstr_dash.domain.runinfo import RunInfo
from lobstr_dash.domain.tasks import RunSummary
from lobstr_dash.domain.verdict import ShortfallRow
from lobstr_dash.fake import DEMO_RUN_IDS
from support import RUN
from support import make_rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The dashboard in demo mode (every demo run, the big one too), read to the end."""
    app = create_app({"LOBSTR_TOKEN": None, "DATA_DIR": str(tmp_path_factory.mktemp("demo")),
                      "DEMO_LATENCY_MS": 0, "LOBSTR_RATE_LIMIT": 0, "LOAD_WAIT_SECONDS": 60.0,
                      "EXPORT_WAIT_SECONDS": 60.0})
    yield app.test_client()
    loader = app.extensions["lobstr_dash"].loader
    for run_id in list(loader._threads):
        loader.join(run_id, 10)


def figure(page: Any, name: str) -> str:
    """The text of one figure of the summary."""
    for div in page.select("#run-status .figures > div"):
        if div.dt.get_text(" ", strip=True).startswith(name):
            return div.dd.get_text(" ", strip=True)
    raise AssertionError(f"no figure {name!r}")


@pytest.mark.slow
@pytest.mark.parametrize("slug", sorted(DEMO_RUN_IDS))
def test_the_same_short_count_in_summary_facet_requeue_and_digest(demo: Any, slug: str) -> None:
    run_id = DEMO_RUN_IDS[slug]
    # The export waits for the whole run (the page would answer a big run's first rows at once).
    exported = list(csv.DictReader(io.StringIO(
        demo.get(f"/runs/{run_id}/tasks.csv").get_data(as_text=True))))
    page = soup(demo.get(f"/runs/{run_id}"))
    truth = sum(1 for row in exported if row["gap_class"] in gapclass.SHORT)
    digest = demo.get(f"/runs/{run_id}/digest.txt").get_data(as_text=True)
    kit = list(csv.reader(io.StringIO(demo.get(f"/runs/{run_id}/requeue.csv").get_data(as_text=True))))
    short_export = demo.get(f"/runs/{run_id}/tasks.csv?short=1").get_data(as_text=True)
    if slug == "empty":
        assert truth == 0 and "No tasks." in digest and page.select_one("#facets") is None
        return
    assert number(figure(page, "Tasks short")) == truth
    facet = page.select_one("#facets input[name=short]")
    if truth:
        assert number(page.select_one(f"label[for={facet['id']}] .facet-count").get_text()) == truth
        requeue_line = page.select_one("#requeue p").get_text(" ", strip=True)
        assert number(requeue_line) == truth
    else:
        assert facet is None
        assert "nothing to re-queue" in page.select_one("#requeue").get_text()
    assert len(kit) - 1 == truth  # one line per short task under the header
    assert len(list(csv.DictReader(io.StringIO(short_export)))) == truth
    assert re.search(rf"\b{truth:,} of [\d,]+ tasks short", digest), digest
    if truth and slug != "live":
        verdict = page.select_one(".verdict").get_text(" ", strip=True)
        assert f"{truth:,} tasks that ended short" in verdict or f"{truth:,} task that" in verdict


@pytest.mark.slow
def test_the_verdict_names_the_missing_results_and_the_share_of_each_cause(demo: Any) -> None:
    mixed = DEMO_RUN_IDS["mixed"]
    page = soup(demo.get(f"/runs/{mixed}"))
    exported = list(csv.DictReader(io.StringIO(
        demo.get(f"/runs/{mixed}/tasks.csv").get_data(as_text=True))))
    lost: dict[str, int] = {}
    for row in exported:
        if row["gap_class"] in gapclass.SHORT and row["gap"] and int(row["gap"]) > 0:
            lost[row["gap_class"]] = lost.get(row["gap_class"], 0) + int(row["gap"])
    missing = sum(lost.values())
    title = page.select_one("#verdict-title").get_text(" ", strip=True)
    assert title == f"{missing:,} results missing"
    assert number(figure(page, "Missing")) == missing
    causes = page.select(".verdict .cause")
    shown = [(c["class"][1].removeprefix("cause-"), c.select_one("a strong").get_text()) for c in causes]
    ranked = sorted(lost, key=lambda key: -lost[key])
    assert [key for key, _share in shown] == ranked
    for key, share in shown:
        assert share == f"{100 * lost[key] / missing:.0f}%"
    # Each cause is a link that applies its filter, and the filter finds that many tasks.
    top = causes[0].select_one("a")["href"]
    assert top == f"/runs/{mixed}?class={ranked[0]}"
    count = soup(demo.get(top)).select_one("#tasks .count").get_text(" ", strip=True)
    assert number(count.split(" of ")[1]) == sum(1 for r in exported if r["gap_class"] == ranked[0])


def test_a_live_task_is_never_short_nor_missing_nor_red(make_app: Any, upstream: Any) -> None:
    rows = make_rows(RUN, 6, short_every=0)
    rows[0].update(status="running", done_reason=None, total_results=100, last_result=10)
    rows[1].update(status="pending", done_reason=None, total_results=None, last_result=0)
    rows[2].update(status="error", done_reason="request_failed", total_results=100, last_result=40)
    upstream.add_run(RUN, rows)
    page = soup(make_app().test_client().get(f"/runs/{RUN}?sort=position"))
    assert number(figure(page, "Tasks short")) == 1
    assert number(figure(page, "Missing")) == 60
    assert figure(page, "Still running").startswith("2 tasks") and "90 results to go" in \
        figure(page, "Still running")
    rows_html = page.select("table.task-table tbody tr")
    assert "live" in rows_html[0]["class"] and "gap-0" in rows_html[0]["class"]
    assert "90 to go" in rows_html[0].select_one("td.gap").get_text()
    assert rows_html[0].select_one("td.gap meter") is None
    assert "gap-3" in rows_html[2]["class"] and rows_html[2].select_one("td.gap meter") is not None
    outcome = {box["value"]: box for box in page.select("#facets input[name=class]")}
    assert set(outcome) == {"running", "site", "complete"}
    assert "tone-live" in outcome["running"].parent["class"]
    # The completeness chart counts them apart, not in its red low columns.
    running = page.select_one("#chart-completeness-figure rect[data-bucket='12']")
    assert running is not None and running["data-count"] == "2"


def test_every_htmx_answer_redraws_the_filter_panel_with_its_checked_boxes(client: Any,
                                                                          upstream: Any) -> None:
    upstream.add_run(RUN, make_rows(RUN, 30))
    full = soup(client.get(f"/runs/{RUN}?status=aborted&sort=expected"))
    panel = full.select_one("form#filters #facets")
    assert panel is not None and not panel.has_attr("hx-swap-oob")
    for target in ("tasks", "run-status"):
        answer = client.get(f"/runs/{RUN}?status=aborted&reason=run_aborted&sort=expected",
                            headers={"HX-Request": "true", "HX-Target": target})
        html = soup(answer)
        oob = html.select_one("#facets")
        assert oob is not None and oob["hx-swap-oob"] == "true", target
        checked = {(i["name"], i["value"]) for i in oob.select("input[checked]")}
        assert checked == {("status", "aborted"), ("reason", "run_aborted")}, target
        # The sort the table shows rides along, so the next filter change keeps it.
        assert oob.select_one("input[type=hidden][name=sort]")["value"] == "expected"
        counts = {oob.select_one(f"label[for={i['id']}] .facet-label").get_text():
                  number(oob.select_one(f"label[for={i['id']}] .facet-count").get_text())
                  for i in oob.select("input[name=status]")}
        assert counts == {"aborted": 10, "completed": 20}
    # A filter value the run lacks stays in the form, checked, so combining filters keeps it.
    kept = soup(client.get(f"/runs/{RUN}?status=error&reason=run_aborted"))
    boxes = {(i["name"], i["value"]): i for i in kept.select("#facets input")}
    assert boxes[("status", "error")].has_attr("checked")
    assert number(kept.select_one(f"label[for={boxes[('status', 'error')]['id']}] .facet-count")
                  .get_text()) == 0
    # The poll asks with the form's own fields, never a stale query of its own.
    poll = full.select_one("#run-status")
    assert not poll.has_attr("hx-trigger")  # a finished run does not poll
    ids = [i["id"] for i in kept.select("#facets input[type=checkbox]")]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"f-[a-z]+-[0-9a-f]{10}", i) for i in ids)


def test_a_polling_page_includes_the_form_and_carries_no_query_of_its_own(
        make_app: Any, upstream: Any) -> None:
    rows = make_rows(RUN, 20)
    rows[0].update(status="running", done_reason=None)
    upstream.add_run(RUN, rows)
    page = soup(make_app().test_client().get(f"/runs/{RUN}?status=aborted"))
    poll = page.select_one("#run-status")
    assert poll["hx-include"] == "#filters"
    assert poll["hx-get"].startswith(f"/runs/{RUN}?seen=") and "status=" not in poll["hx-get"]


def summary(**values: Any) -> RunSummary:
    return RunSummary(**{"tasks": 10, "expected": 1000, "collected": 700, "missing": 300,
                         "tasks_short": 4, **values})


def test_verdict_states() -> None:
    rows = [ShortfallRow("site", "request_failed", 3, 200, 0),
            ShortfallRow("site", "website_inaccessible", 1, 10, 0),
            ShortfallRow("aborted", "run_aborted", 1, 90, 1)]
    short = verdicts.build(summary(), rows, partial=False)
    assert short.state == verdicts.SHORT and [c.key for c in short.causes] == ["site", "aborted"]
    assert short.causes[0].share == pytest.approx(210 / 300)
    assert short.causes[0].reasons[0] == ("request_failed", 3, 200)
    assert short.causes[1].uncounted == 1
    assert verdicts.build(RunSummary(), [], partial=False).state == verdicts.EMPTY
    assert verdicts.build(RunSummary(), [], partial=True).state == verdicts.WAITING
    assert verdicts.build(summary(tasks_short=0, missing=0), [], partial=False).state == \
        verdicts.COMPLETE
    running = verdicts.build(summary(tasks_live=2), rows, partial=False, info=RunInfo.from_api(
        {"status": "running"}, {"eta": "0:21:50"}))
    assert running.state == verdicts.RUNNING and running.eta_seconds == 21 * 60 + 50
    # No counted loss: the shares are of the short tasks.
    uncounted = verdicts.build(summary(missing=0, tasks_short=4),
                               [ShortfallRow("account", "cookies_expired", 4, 0, 4)], partial=False)
    assert uncounted.share_of == "tasks" and uncounted.causes[0].share == 1.0


def test_a_cold_run_is_estimated_from_lobstrs_stats_until_its_tasks_are_in() -> None:
    info = RunInfo.from_api({"status": "done"}, {"results_total": 5000, "results_done": 4200,
                                                 "total_tasks": 50})
    cold = verdicts.build(summary(tasks=3), [], partial=True, info=info)
    assert cold.estimate is not None and cold.estimate.missing == 800
    assert verdicts.build(summary(), [], partial=False, info=info).estimate is None
    # A run still going has nothing missing yet: no estimate of a loss.
    live = RunInfo.from_api({"status": "running"}, {"results_total": 5000, "results_done": 10})
    assert verdicts.build(summary(tasks=3), [], partial=True, info=live).estimate is None


def test_the_cold_page_shows_the_estimate_labelled_then_the_exact_figures(make_app: Any,
                                                                         upstream: Any) -> None:
    run_id = DEMO_RUN_IDS["aborted"]  # 300 tasks: three upstream pages
    held = threading.Event()
    upstream.before_page = lambda run, page: held.wait(10) if page and page > 1 else None
    app: Flask = make_app(LOAD_WAIT_SECONDS=0.3)
    client = app.test_client()
    client.get(f"/runs/{run_id}")
    app.extensions["lobstr_dash"].runs.info_fetcher.join(run_id, 10)
    cold = soup(client.get(f"/runs/{run_id}"))
    stats = client.application.extensions["lobstr_dash"].runs.known_info(run_id).info.stats
    held.set()
    title = cold.select_one("#verdict-title").get_text(" ", strip=True)
    assert title == f"≈ {stats.results_total - stats.results_done:,} results missing estimate"
    assert "so far" in cold.select_one(".verdict").get_text()
    assert "(so far)" in cold.select_one("#facets legend").get_text()
    app.extensions["lobstr_dash"].loader.join(run_id, 10)
    done = soup(client.get(f"/runs/{run_id}"))
    title = done.select_one("#verdict-title").get_text(" ", strip=True)
    assert title == f"{number(figure(done, 'Missing')):,} results missing"
    assert done.select_one(".badge-partial") is None
