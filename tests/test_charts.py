"""The SVG charts: well-formed, titled, described, free of style, and drawn to the data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lobstr_dash.render import charts
from lobstr_dash.domain.figures import Timeline
from lobstr_dash.domain.figures import TimelineBar
from lobstr_dash.store import Store
from lobstr_dash.domain.query import TaskQuery
from taskrows import save_run
from taskrows import task_row

NS = {"svg": "http://www.w3.org/2000/svg"}
RUN = "c" * 32


def parse(chart: charts.Chart) -> ET.Element:
    """Parse a chart's SVG, checking what every chart must have."""
    root = ET.fromstring(chart.svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("role") == "img"
    title, desc = root.find("svg:title", NS), root.find("svg:desc", NS)
    assert title is not None and title.text == chart.title
    assert desc is not None and desc.text == chart.desc and len(desc.text) > 20
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    for element in root.iter():
        assert "style" not in element.attrib, element.tag
        assert not element.tag.endswith("}style") and not element.tag.endswith("}script")
    return root


def rects(root: ET.Element, klass: str) -> list[ET.Element]:
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect")
            if klass in (r.get("class") or "").split()]


def test_histogram_bars_match_the_counts() -> None:
    counts = {0: 12, 3: 4, 9: 6, charts.BUCKET_COMPLETE: 48, charts.BUCKET_OVER: 3,
              charts.BUCKET_UNKNOWN: 7}
    chart = charts.completeness_histogram(counts)
    root = parse(chart)
    bars = rects(root, "bar")
    assert len(bars) == 13
    by_bucket = {int(b.get("data-bucket")): b for b in bars}
    peak = max(counts.values())
    tallest = float(by_bucket[charts.BUCKET_COMPLETE].get("height"))
    assert tallest > 100
    for bucket, bar in by_bucket.items():
        assert int(bar.get("data-count")) == counts.get(bucket, 0)
        assert float(bar.get("height")) == pytest.approx(tallest * counts.get(bucket, 0) / peak, abs=0.01)
        # Bars stand on the same baseline.
        assert float(bar.get("y")) + float(bar.get("height")) == pytest.approx(
            float(by_bucket[charts.BUCKET_COMPLETE].get("y")) + tallest, abs=0.01)
    assert sum(int(row[1]) for row in chart.rows) == sum(counts.values())
    assert ("exactly 100% collected", "48") in chart.rows


def test_an_empty_histogram_draws_flat_bars_and_says_it_is_empty() -> None:
    chart = charts.completeness_histogram({})
    root = parse(chart)
    assert all(float(b.get("height")) == 0 for b in rects(root, "bar"))
    assert chart.empty


def test_missing_by_reason_bars_are_proportional_and_the_tail_is_summed() -> None:
    items = [(f"reason_{i}", 1000 - i * 50, 10 + i) for i in range(14)] + [("completed", 0, 0)]
    chart = charts.missing_by_reason(items, top=10, hrefs={"reason_0": "/runs/x?reason=reason_0"})
    root = parse(chart)
    bars = rects(root, "bar")
    assert len(bars) == 11  # ten reasons, then the other four summed; no bar for 0 missing
    widths = [float(b.get("width")) for b in bars]
    counts = [int(b.get("data-count")) for b in bars]
    assert counts[:10] == [1000 - i * 50 for i in range(10)]
    assert counts[10] == sum(1000 - i * 50 for i in range(10, 14))
    for width, count in zip(widths, counts, strict=True):
        assert width == pytest.approx(max(widths) * count / max(counts), abs=0.01)
    assert chart.rows[10][0] == "4 other reasons"
    assert chart.links[0] == "/runs/x?reason=reason_0" and chart.links[10] is None
    # Links live in the data table, not inside the image.
    assert not list(root.iter("{http://www.w3.org/2000/svg}a"))


def test_hostile_labels_are_escaped_and_the_svg_stays_well_formed() -> None:
    chart = charts.missing_by_reason([('<script>alert(1)</script>"&', 5, 1)])
    root = parse(chart)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert '<script>alert(1)</script>"&' in texts
    assert "<script>" not in chart.svg


def test_timeline_concurrency_bars_and_stalls() -> None:
    active = [2, 2, 1, 0, 0, 3, 1, 0]
    data = Timeline(start=1000.0, end=1080.0, bucket_seconds=10.0, active=active,
                    starts=[2, 0, 0, 0, 0, 3, 0, 0], ends=[0, 0, 1, 1, 0, 0, 2, 1],
                    bars=[TimelineBar(1, 1000.0, 1030.0, "complete", "https://a.test/1"),
                          TimelineBar(2, 1001.0, 1025.0, "site", "https://a.test/2"),
                          TimelineBar(5, 1050.0, None, "running", "<b>odd</b>")],
                    tasks_timed=5, tasks_untimed=2, tasks_open=1)
    chart = charts.timeline(data)
    root = parse(chart)
    columns = rects(root, "active")
    assert [int(c.get("data-count")) for c in columns] == active
    tallest = max(float(c.get("height")) for c in columns)
    for column, count in zip(columns, active, strict=True):
        assert float(column.get("height")) == pytest.approx(tallest * count / max(active), abs=0.01)
    tasks = rects(root, "task")
    assert [int(t.get("data-position")) for t in tasks] == [1, 2, 5]
    assert "task-open" in tasks[2].get("class") and "task-site" in tasks[1].get("class")
    # Bars start and end where the tasks do.
    x0, width = float(tasks[0].get("x")), float(tasks[0].get("width"))
    assert width / (float(tasks[2].get("x")) - x0) == pytest.approx(30 / 50, abs=0.01)
    assert len(rects(root, "idle")) == 2  # 1030–1050 and 1070–1080
    assert data.idle_stretches() == [(1030.0, 1050.0), (1070.0, 1080.0)]
    assert any("Stalls" in note for note in chart.notes)
    assert any("2 tasks never started" in note for note in chart.notes)
    assert [row[1] for row in chart.rows] == [str(n) for n in active]
    assert "3 of 5 tasks, sampled evenly" in chart.caption


def test_no_timeline_without_start_times() -> None:
    chart = charts.timeline(None)
    assert chart.empty and chart.svg == ""


def stored_run(tmp_path: Path, rows: list[dict[str, Any]]) -> Store:
    store = Store(tmp_path / "s.sqlite3")
    save_run(store, RUN, rows)
    return store


def ts(seconds: int) -> str:
    return f"2025-02-10T14:{seconds // 60:02d}:{seconds % 60:02d}Z"


def test_the_store_aggregates_feed_the_charts(tmp_path: Path) -> None:
    rows = [task_row(RUN, 0, last_result=100),                                    # 100 %
            task_row(RUN, 1, last_result=5, status="error", done_reason="cookies_expired"),  # 0–10
            task_row(RUN, 2, last_result=55, status="aborted", done_reason="run_aborted"),   # 50–60
            task_row(RUN, 3, last_result=99, done_reason="completed"),            # 90–99
            task_row(RUN, 4, last_result=120),                                    # over
            task_row(RUN, 5, total_results=None, last_result=3),                  # unknown
            task_row(RUN, 6, total_results=0, last_result=0)]                     # 100 %
    store = stored_run(tmp_path, rows)
    buckets = store.completeness_buckets(RUN, TaskQuery().filter)
    assert buckets == {charts.BUCKET_COMPLETE: 2, 0: 1, 5: 1, 9: 1, charts.BUCKET_OVER: 1,
                       charts.BUCKET_UNKNOWN: 1}
    root = parse(charts.completeness_histogram(buckets))
    assert {int(b.get("data-bucket")): int(b.get("data-count")) for b in rects(root, "bar")
            if int(b.get("data-count"))} == buckets
    # The charts follow the table's filters.
    assert store.completeness_buckets(RUN, TaskQuery(short_only=True).filter) == {0: 1, 5: 1, 9: 1}
    missing = store.missing_by_reason(RUN, TaskQuery().filter)
    assert missing[0] == ("cookies_expired", 95, 1) and ("run_aborted", 45, 1) in missing
    assert store.missing_by_reason(RUN, TaskQuery(classes=("account",)).filter) == [
        ("cookies_expired", 95, 1)]


def test_store_timeline_counts_every_task_and_samples_the_bars(tmp_path: Path) -> None:
    rows = [task_row(RUN, i, started_at=ts(i % 40), ended_at=ts(i % 40 + 10)) for i in range(1000)]
    rows += [task_row(RUN, 1000 + i, started_at=ts(300 + i), ended_at=ts(305 + i)) for i in range(5)]
    rows.append(task_row(RUN, 2000, started_at=None, ended_at=None, status="pending"))
    rows.append(task_row(RUN, 2001, started_at=ts(310), ended_at=None, status="running"))
    store = stored_run(tmp_path, rows)
    line = store.timeline(RUN, TaskQuery().filter, buckets=60, sample=300)
    assert line is not None
    assert (line.tasks_timed, line.tasks_untimed, line.tasks_open) == (1006, 1, 1)
    assert len(line.bars) == 300 and line.sampled
    starts = [b.started_at for b in line.bars]
    assert starts == sorted(starts)
    assert sum(line.starts) == 1006 and sum(line.ends) == 1005
    # Running counts are exact: a task counts in every time step from its start to its end.
    from lobstr_dash.domain.values import parse_timestamp

    def step(value: str) -> int:
        return min(59, int((parse_timestamp(value) - line.start) / line.bucket_seconds))

    spans = [(step(r["started_at"]), step(r["ended_at"]) if r["ended_at"] else 59)
             for r in rows if r["started_at"]]
    assert line.active == [sum(1 for a, b in spans if a <= i <= b) for i in range(60)]
    assert line.peak == 400
    assert line.idle_stretches(), "the gap between the two waves is a stall"
    small = store.timeline(RUN, TaskQuery(statuses=("running",)).filter)
    assert small is not None and len(small.bars) == 1 and not small.sampled
    assert store.timeline(RUN, TaskQuery(statuses=("pending",)).filter) is None


def test_the_run_page_draws_the_charts_of_the_filtered_tasks(client: Any, upstream: Any) -> None:
    from helpers import soup

    rows = [task_row(RUN, i, last_result=i % 3 * 50, status="completed" if i % 3 == 2 else "error",
                     done_reason="completed" if i % 3 == 2 else "website_inaccessible")
            for i in range(30)]
    upstream.add_run(RUN, rows)
    for qs, tasks in (("", 30), ("?class=site", 20)):
        page = soup(client.get(f"/runs/{RUN}{qs}"))
        figure = page.select_one("#chart-completeness-figure")
        root = ET.fromstring(str(figure.select_one("svg")))
        counts = {int(b.get("data-bucket")): int(b.get("data-count")) for b in rects(root, "bar")}
        assert sum(counts.values()) == tasks
        assert counts[charts.BUCKET_COMPLETE] == (10 if not qs else 0)
        table = figure.select_one("table.data-table")
        assert sum(int(td.get_text()) for td in table.select("tbody td")) == tasks
        assert page.select_one("#chart-timeline-figure svg title").get_text().startswith("Timeline")
        assert not page.select("[style]") and not page.select("style")


def test_tasks_still_running_have_a_neutral_column_of_their_own() -> None:
    counts = {0: 2, charts.BUCKET_COMPLETE: 5, charts.BUCKET_RUNNING: 9}
    bars = {int(b.get("data-bucket")): b for b in rects(parse(charts.completeness_histogram(counts)),
                                                         "bar")}
    assert len(bars) == 14 and "bar-running" in bars[charts.BUCKET_RUNNING].get("class")
    assert int(bars[0].get("data-count")) == 2  # not counted in the red low buckets
