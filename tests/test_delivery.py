"""Light pages: compressed answers, static files under content-hashed names kept for a year, and a
timeline chart under 25 KB."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import threading
from collections.abc import Iterator
from typing import Any

import brotli
import pytest

from helpers import soup
from lobstr_dash import create_app
from lobstr_dash.fake import DEMO_RUN_IDS

GZIP = {"Accept-Encoding": "gzip"}
#: The issue's targets.
RUN_PAGE_GZIPPED_MAX = 60_000
TIMELINE_MAX = 25_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app = create_app({"LOBSTR_TOKEN": None, "DATA_DIR": str(tmp_path_factory.mktemp("light")),
                      "DEMO_LATENCY_MS": 0, "LOBSTR_RATE_LIMIT": 0, "LOAD_WAIT_SECONDS": 60.0,
                      "EXPORT_WAIT_SECONDS": 60.0})
    client = app.test_client()
    for slug in ("big", "mixed"):  # read to the end before measuring
        client.get(f"/runs/{DEMO_RUN_IDS[slug]}/tasks.json")
    yield client
    loader = app.extensions["lobstr_dash"].loader
    for run_id in list(loader._threads):
        loader.join(run_id, 10)


@pytest.mark.slow
@pytest.mark.parametrize("slug", ["big", "mixed", "aborted"])
def test_a_run_page_travels_gzipped_under_60_kb(demo: Any, slug: str) -> None:
    url = f"/runs/{DEMO_RUN_IDS[slug]}"
    demo.get(url)  # starts the background search for the run before, which the page links to
    for thread in threading.enumerate():
        if thread.name.startswith("previous-"):
            thread.join(10)  # so both answers below show the same page
    plain = demo.get(url)
    packed = demo.get(url, headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "HX-Request" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) <= RUN_PAGE_GZIPPED_MAX, f"{slug}: {len(packed.data):,} bytes gzipped"
    assert len(packed.data) * 4 < len(plain.data)
    assert "Content-Encoding" not in plain.headers  # a client that asks for nothing gets text
    # Brotli when the browser offers it (every browser does over https).
    packed_br = demo.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert packed_br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed_br.data) == plain.data


@pytest.mark.slow
def test_the_timeline_stays_under_25_kb(demo: Any) -> None:
    for slug in ("big", "mixed"):
        page = soup(demo.get(f"/runs/{DEMO_RUN_IDS[slug]}"))
        svg = str(page.select_one("#chart-timeline-figure svg"))
        assert 1_000 < len(svg.encode()) <= TIMELINE_MAX, f"{slug}: {len(svg.encode()):,} bytes"
        assert svg.count('class="task ') == 64  # the sample the page draws


@pytest.mark.slow
def test_exports_stream_compressed_and_whole(demo: Any) -> None:
    url = f"/runs/{DEMO_RUN_IDS['big']}/tasks.csv"
    plain = demo.get(url)
    packed = demo.get(url, headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(list(csv.DictReader(io.StringIO(plain.get_data(as_text=True))))) == 5000
    as_json = demo.get(url.replace(".csv", ".json"), headers=GZIP)
    assert as_json.headers["Content-Encoding"] == "gzip" and gzip.decompress(as_json.data)


def test_static_files_are_linked_by_content_hash_and_kept_for_a_year(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    links = dict(re.findall(r'/static/([0-9a-f]{10})/([\w.]+)"', page))
    by_name = {name: digest for digest, name in links.items()}
    assert {"app.css", "app.js", "favicon.svg"} <= set(by_name)
    css = client.get(f"/static/{by_name['app.css']}/app.css", headers=GZIP)
    assert css.status_code == 200 and css.headers["Cache-Control"] == \
        "public, max-age=31536000, immutable"
    assert css.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(css.data) == client.get("/static/app.css").data
    # The hash is the content's: a changed file gets a new path, and an old path is never kept.
    assert hashlib.sha256(client.get("/static/app.css").data).hexdigest()[:10] == by_name["app.css"]
    stale = client.get("/static/0123456789/app.css")
    assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]
    # The plain path still answers, revalidated; nothing outside the folder is reachable.
    plain = client.get("/static/app.css")
    assert plain.status_code == 200 and "no-cache" in plain.headers["Cache-Control"]
    for bad in ("/static/0123456789/../../README.md", "/static/0123456789/nothere.css",
                "/static/../README.md"):
        assert client.get(bad).status_code == 404, bad
