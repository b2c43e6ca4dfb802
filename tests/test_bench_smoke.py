"""The bench's own arithmetic and parsing (fast; the bench itself runs with `make bench`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.cold import ColdLoad, ColdSeries
from bench.figures import cold_figures, sdk_figures
from bench.procs import Dashboard
from bench.profile import FULL
from bench.report import Figure, markdown, text_table
from bench.sdkloop import SdkRead
from bench.timing import median, paged_bound, percentile, window_bound


def test_bounds_of_the_issue() -> None:
    assert paged_bound(90, 4, 0.2) == pytest.approx(4.6)
    assert paged_bound(90, 8, 0.2) == pytest.approx(2.4)
    # 90 per sliding 60 s: pages 1-90 at once, 91-180 at 60 s, 181-200 at 120 s.
    assert window_bound(200, 90, 60.0, 0.05) == pytest.approx(120.05)
    assert window_bound(90, 90, 60.0, 0.0) == 0.0


def test_median_and_nearest_rank_percentile() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    samples = [float(i) for i in range(1, 41)]
    assert percentile(samples, 0.5) == 20.0
    assert percentile(samples, 0.95) == 38.0
    with pytest.raises(ValueError):
        percentile([], 0.5)


def _series(concurrency: int, seconds: float) -> ColdSeries:
    load = ColdLoad(first_rows=0.2, page_answer=1.5, finished=seconds, upstream_requests=90,
                    total_pages=90, rows_stored=9000, state="done")
    return ColdSeries(concurrency, [load, load, load])


def test_cold_and_sdk_verdicts() -> None:
    series = {4: _series(4, 5.2), 8: _series(8, 3.1)}
    cold = cold_figures(FULL, series)
    assert [f.met for f in cold] == [True, False, None]
    assert "5.20 s = 1.13 × bound" in cold[0].measured and "5.75 s" in cold[0].target
    reads = {50: SdkRead(50, 37.0, 181, 9000), 100: SdkRead(100, 19.0, 91, 9000)}
    assert [f.met for f in sdk_figures(FULL, series, reads)] == [True, False]


def test_tables_show_every_figure_and_verdict() -> None:
    figures = [Figure("a | b", "1 s", "≤ 2 s", True), Figure("c", "3 s", "≤ 2 s", False),
               Figure("info", "4 s")]
    text = text_table(figures)
    assert text.splitlines()[0].split() == ["figure", "measured", "target", "met?"]
    assert "yes" in text and "NO" in text
    page = markdown("T", {"date": "today", "cores": "2"}, figures, ["how"], ["note"])
    assert "| a \\| b | 1 s | ≤ 2 s | yes |" in page and "| info | 4 s |  |  |" in page
    assert "- cores: 2" in page and "## Notes" in page


def test_request_lines_are_read_from_either_log_format(tmp_path: Path) -> None:
    log = tmp_path / "dashboard.log"
    log.write_text(
        '<101> "GET /runs/abc" 200 5120 12ms\n'
        "2026-11-28T21:49:30+0000 [102] [INFO] lobstr_dash.request: GET /runs/abc 200 25B 2.2ms\n"
        "2026-11-28T21:49:30+0000 [100] [INFO] gunicorn.error: Booting worker with pid: 102\n"
        '<999> "GET /runs/abc" 200 1 1ms\n')
    dashboard = Dashboard(subprocess.Popen(["true"]), 0, tmp_path, log, workers=[101, 102])
    dashboard.proc.wait()
    assert dashboard.access_log() == [(101, "GET", "/runs/abc", 200), (102, "GET", "/runs/abc", 200)]


def test_page_weight_section_replaces_itself_and_keeps_the_rest(tmp_path: Path) -> None:
    from bench.sizes import HEADING, Size, section, write_section

    machine = {"date": "today", "commit": "abc", "cores": "2", "cpu": "X", "python": "3.11"}
    text = section([Size("run page", 200_000, 30_000, 25_000, 60_000),
                    Size("huge page", 900_000, 70_000, 60_000, 60_000)],
                   {"timeline SVG": 21_000}, machine)
    assert "| run page | 200.0 KB | 30.0 KB | 25.0 KB | 60.0 KB | yes |" in text
    assert "| huge page | 900.0 KB | 70.0 KB | 60.0 KB | 60.0 KB | NO |" in text
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Figures\n\nkept\n\n## Load test\n\nalso kept\n")
    write_section(results, HEADING, text)
    write_section(results, HEADING, text.replace("30.0 KB", "31.0 KB"))
    body = results.read_text()
    assert body.count(HEADING) == 1 and "31.0 KB" in body and "30.0 KB | 25.0" not in body
    assert "kept" in body and "also kept" in body
