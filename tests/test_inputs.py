"""The task table's input column: the part that tells tasks apart, wrapped only between numbers."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from lobstr_dash.web.inputs import input_column
from lobstr_dash.web.inputs import readable_url
from lobstr_dash.web.inputs import shared_prefix
from lobstr_dash.web.inputs import wrap


def row(task_id: str, url: str | None = None, **params: Any) -> SimpleNamespace:
    return SimpleNamespace(id=task_id, url=url, params={**({"url": url} if url else {}), **params})


def test_urls_lose_what_every_row_shares_and_read_decoded() -> None:
    rows = [row("a", "https://www.google.com/maps/search/caf%C3%A9+Z%C3%BCrich/@47.37,8.54,14z"),
            row("b", "https://www.google.com/maps/search/dentist/@45.7866430,4.8356590,14z")]
    column = input_column(rows)
    assert column.prefix == "google.com/maps/search/"
    assert column.labels["a"].text == "café+Zürich/@47.37,8.54,14z"
    assert column.labels["a"].full == "google.com/maps/search/café+Zürich/@47.37,8.54,14z"
    assert readable_url("http://example.test/x") == "example.test/x"
    # One row alone, or rows with nothing in common: nothing is taken away.
    assert input_column(rows[:1]).prefix == ""
    assert shared_prefix(["a.test/x", "b.test/y"]) == ""
    assert shared_prefix(["a.test/x/", "a.test/x/"]) == ""  # never the whole of a label


def test_params_without_url_show_the_keys_that_differ() -> None:
    rows = [row("a", keyword="CTO", country="FR", max_results=100),
            row("b", keyword="CFO", country="DE", max_results=100)]
    column = input_column(rows)
    assert column.labels["a"].text == "keyword=CTO · country=FR"
    assert column.labels["a"].full == "keyword=CTO · country=FR · max_results=100"
    alone = input_column(rows[:1])
    assert alone.labels["a"].text == "keyword=CTO · country=FR · max_results=100"


def test_wrapping_never_splits_a_number_and_escapes_everything() -> None:
    html = str(wrap("boulangerie/@48.8792140,-2.3522219,14z"))
    assert html == "boulangerie/<wbr>@<wbr>48.8792140,<wbr>-2.3522219,<wbr>14z"
    for number in re.findall(r"-?\d+\.\d+", "48.8792140 -2.3522219"):
        assert number in html
    assert str(wrap("<b>&x=1")) == "&lt;b&gt;&amp;<wbr>x=<wbr>1"
    long = "x" * 80
    assert "…" in str(wrap(long)) and len(str(wrap(long))) < 40


def test_the_details_view_keeps_every_character_and_still_breaks_between_numbers() -> None:
    url = "https://www.google.com/maps/search/dentist/@44.8603890,-0.5791800,14z?" + "x" * 60
    html = str(wrap(url, cut=False))
    assert html.replace("<wbr>", "").replace("&amp;", "&") == url
    assert "-0.5791800" in html and "…" not in html
