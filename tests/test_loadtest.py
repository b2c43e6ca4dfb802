"""`make loadtest` itself: the load tools' reports are read right, and RESULTS.md keeps the rest."""

from __future__ import annotations

from pathlib import Path

from loadtest.run import HEADING
from loadtest.run import write_section
from loadtest.tools import parse_hey
from loadtest.tools import parse_wrk

HEY = """
Summary:
  Total:\t30.0412 secs
  Slowest:\t0.4121 secs
  Fastest:\t0.0051 secs
  Average:\t0.0712 secs
  Requests/sec:\t701.2345

Latency distribution:
  10% in 0.0301 secs
  25% in 0.0452 secs
  50% in 0.0630 secs
  75% in 0.0904 secs
  90% in 0.1201 secs
  95% in 0.1402 secs
  99% in 0.2105 secs

Status code distribution:
  [200]\t21060 responses
  [503]\t3 responses

Error distribution:
  [2]\tGet "http://127.0.0.1:1/x": dial tcp: connection refused
"""

HEY_FEW = """
Summary:
  Slowest:\t12.7035 secs
  Requests/sec:\t4.3028

Latency distribution:
  10% in 5.0244 secs
  50% in 7.7519 secs
  95% in 12.2829 secs
  0% in 0.0000 secs

Status code distribution:
  [200]\t55 responses
"""

WRK = """Running 30s test @ http://127.0.0.1:8000/runs/x
  2 threads and 50 connections
  Latency Distribution
     50%   61.20ms
     75%   88.00ms
     90%  120.50ms
     99%    1.21s
  20950 requests in 30.03s, 2.21GB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    697.61
"""


def test_hey_report_is_read() -> None:
    result = parse_hey(HEY, seconds=30, concurrency=50)
    assert (result.served, result.errors, result.failed) == (21060, 2, 5)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (63.0, 120.1, 210.5)
    assert result.requests_per_second == 701.2345


def test_hey_without_a_99th_percentile_falls_back_to_the_slowest() -> None:
    result = parse_hey(HEY_FEW, seconds=5, concurrency=50)
    assert result.p99_ms == 12703.5 and result.p50_ms == 7751.9 and result.failed == 0


def test_wrk_report_is_read() -> None:
    result = parse_wrk(WRK, seconds=30, concurrency=50)
    assert (result.served, result.errors, result.failed) == (20946, 3, 7)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (61.2, 120.5, 1210.0)


def test_results_section_is_replaced_in_place_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    write_section(path, f"{HEADING}\n\nfirst\n")
    assert path.read_text() == f"{HEADING}\n\nfirst\n"
    path.write_text(f"# Bench\n\n## Cold loads\n\nfigures\n\n{HEADING}\n\nfirst\n\n## Notes\n\nkeep\n")
    write_section(path, f"{HEADING}\n\nsecond\n")
    text = path.read_text()
    assert "first" not in text and text.count(HEADING) == 1
    assert text.startswith("# Bench\n\n## Cold loads\n\nfigures\n\n" + HEADING + "\n\nsecond\n")
    assert text.endswith("## Notes\n\nkeep\n")
    other = tmp_path / "OTHER.md"
    other.write_text("# Bench\n\nfigures\n")
    write_section(other, f"{HEADING}\n\nthird\n")
    assert other.read_text() == f"# Bench\n\nfigures\n\n{HEADING}\n\nthird\n"
