"""One visual system across pages: the home page says lobstr's status of each run, /reasons has a
contents list, and a squid's runs explain a count that differs and compare only where they can."""

from __future__ import annotations

from typing import Any

from helpers import soup
from lobstr_dash.fake import DEMO_RUN_IDS
from lobstr_dash.fake import DEMO_RUNS
from lobstr_dash.fake import FaultRule

ABORTED, LIVE = DEMO_RUN_IDS["aborted"], DEMO_RUN_IDS["live"]
MAPS = DEMO_RUNS[0].squid_id


def test_home_shows_each_runs_status_at_lobstr_not_how_far_it_was_read(client: Any) -> None:
    for run_id in (ABORTED, LIVE):
        client.get(f"/runs/{run_id}")
    client.application.extensions["lobstr_dash"].runs.info_fetcher.join(LIVE, 10)
    home = soup(client.get("/"))
    recent = {li.select_one("code").get_text(): li for li in home.select(".recent li")}
    assert recent[ABORTED].select_one(".chip").get_text() == "aborted"
    live = client.application.extensions["lobstr_dash"].runs.known_info(LIVE).info.run.status
    assert live in ("pending", "running") and recent[LIVE].select_one(".chip").get_text() == live
    for li in recent.values():
        assert " done " not in f" {li.get_text(' ', strip=True)} "  # the load state is not shown
    # The titles and headings follow one pattern.
    assert home.title.get_text().endswith(" · lobstr-dash")
    for url in ("/squids", f"/squids/{MAPS}/runs", "/reasons", "/compare",
                f"/runs/{ABORTED}", f"/runs/{ABORTED}/digest"):
        page = soup(client.get(url))
        assert page.title.get_text().endswith(" · lobstr-dash"), url
        assert len(page.select("h1")) == 1, url


def test_reasons_open_with_a_contents_list_whose_links_all_land(client: Any) -> None:
    page = soup(client.get("/reasons"))
    links = [a["href"] for a in page.select("nav.toc a")]
    assert len(links) >= 7 and links[-1] == "#gap-classes"
    for href in links:
        assert page.select_one(href) is not None, href


def test_a_squids_runs_compare_only_where_there_is_a_run_before(client: Any) -> None:
    page = soup(client.get(f"/squids/{MAPS}/runs"))
    rows = page.select("table.run-list tbody tr")
    assert len(rows) >= 2
    assert rows[0].select_one("td:last-child a") is not None
    assert rows[-1].select_one("td:last-child a") is None  # the oldest run lobstr lists
    assert page.select_one(".total-note") is None  # lobstr's count matches the list


def test_a_squid_count_that_differs_from_the_list_is_explained(client: Any, upstream: Any) -> None:
    upstream.state.faults.append(FaultRule(endpoint="squid", times=None, payload={
        "id": MAPS, "name": "Maps", "total_runs": 9}))
    page = soup(client.get(f"/squids/{MAPS}/runs"))
    note = page.select_one(".total-note").get_text(" ", strip=True)
    assert "counts 9 runs" in note and "lists 4" in note and "deleted" in note


def test_compare_with_the_run_before_only_when_lobstr_lists_one(client: Any) -> None:
    def compare_link(run_id: str) -> Any:
        client.get(f"/runs/{run_id}")
        svc = client.application.extensions["lobstr_dash"]
        svc.runs.info_fetcher.join(run_id, 10)
        squid = svc.runs.known_info(run_id).info.squid
        svc.lists.previous_known(squid, run_id, 10)  # let the background search end
        page = soup(client.get(f"/runs/{run_id}"))
        return page.select_one(f".page-actions a[href='/runs/{run_id}/previous']")

    assert compare_link(ABORTED) is not None  # the clean run came before it on the same squid
    assert compare_link(DEMO_RUN_IDS["clean"]) is None  # the oldest run of its squid
    assert compare_link(DEMO_RUN_IDS["empty"]) is None  # the only run of its squid
