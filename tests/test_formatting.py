"""Jinja filters: safe links, durations, gap highlight levels, params summaries, numbers and times."""

from __future__ import annotations

import calendar

import pytest
from flask import Flask, render_template_string

from lobstr_dash.web.filters import (
    compact_params,
    fmt_duration,
    fmt_int,
    fmt_iso,
    fmt_pct,
    fmt_time,
    gap_level,
    register_filters,
    safe_url,
)

STARTED = float(calendar.timegm((2025, 2, 10, 14, 30, 58, 0, 0, 0)))


# -- safe_url --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("https://www.google.com/maps/search/restaurant/@43.29,5.36,17z",
     "https://www.google.com/maps/search/restaurant/@43.29,5.36,17z"),
    ("http://example.test/a?b=1#c", "http://example.test/a?b=1#c"),
    ("  https://example.test/  ", "https://example.test/"),
    ("HTTPS://EXAMPLE.TEST/", "HTTPS://EXAMPLE.TEST/"),
    ("https://user@example.test:8443/x", "https://user@example.test:8443/x"),
])
def test_safe_url_keeps_http_and_https_links(value, expected) -> None:
    assert safe_url(value) == expected


@pytest.mark.parametrize("value", [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.test/x",
    "mailto:someone@example.test",
    "/relative/path",
    "relative/path",
    "//example.test/protocol-relative",
    "https:///no-host",
    "https:no-host",
    "http:\\\\example.test",
    "http://[::1",  # urlsplit refuses it
    "",
    "   ",
    None,
    42,
    ["https://example.test"],
])
def test_safe_url_refuses_everything_else(value) -> None:
    assert safe_url(value) is None


# -- fmt_duration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"),
    (0, "0.0 s"),
    (0.4, "0.4 s"),
    (3, "3.0 s"),
    (9.94, "9.9 s"),
    (12, "12 s"),
    (12.4, "12 s"),
    (59.4, "59 s"),
    (59.6, "1 min 00 s"),
    (60, "1 min 00 s"),
    (185, "3 min 05 s"),
    (3599, "59 min 59 s"),
    (3600, "1 h 00 min"),
    (7440, "2 h 04 min"),
    (47 * 3600 + 59 * 60, "47 h 59 min"),
    (48 * 3600, "2 d 00 h"),
    (3 * 86400 + 5 * 3600, "3 d 05 h"),
])
def test_fmt_duration(seconds, text) -> None:
    assert fmt_duration(seconds) == text


# -- gap_level -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("share", "level"), [
    (None, 0), (-0.5, 0), (0.0, 0),
    (0.0001, 1), (0.2499, 1),
    (0.25, 2), (0.4999, 2),
    (0.5, 3), (0.8999, 3),
    (0.9, 4), (1.0, 4),
])
def test_gap_level_buckets_the_missing_share(share, level) -> None:
    assert gap_level(share) == level


# -- compact_params --------------------------------------------------------------------------------


def test_compact_params_skips_the_url_and_joins_the_rest() -> None:
    params = {"url": "https://x.test", "max_results": 50, "country": "FR"}
    assert compact_params(params) == "max_results=50 · country=FR"


def test_compact_params_renders_non_text_values_as_json_and_keeps_unicode() -> None:
    params = {"functions": {"emails": True}, "tags": ["café", "東京"], "limit": None}
    assert compact_params(params) == 'functions={"emails": true} · tags=["café", "東京"] · limit=null'


@pytest.mark.parametrize("params", [{}, {"url": "https://x.test"}])
def test_compact_params_of_nothing_but_a_url_is_empty(params) -> None:
    assert compact_params(params) == ""


def test_compact_params_honours_a_custom_skip_list() -> None:
    assert compact_params({"url": "u", "q": "x"}, skip=("q",)) == "url=u"


def test_compact_params_shortens_long_text_to_the_limit_with_an_ellipsis() -> None:
    text = compact_params({"q": "x" * 500})
    assert len(text) == 160
    assert text.endswith("…")
    assert text.startswith("q=xxx")
    assert compact_params({"q": "x" * 10}, limit=12) == "q=xxxxxxxxxx"  # exactly at the limit: kept
    assert compact_params({"q": "x" * 11}, limit=12) == "q=xxxxxxxxx…"


# -- the small ones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [(None, "—"), (0, "0"), (1234567, "1,234,567"), (-5, "-5")])
def test_fmt_int(value, text) -> None:
    assert fmt_int(value) == text


@pytest.mark.parametrize(("value", "text"), [(None, "—"), (0.0, "0.0%"), (87.54, "87.5%"), (100, "100.0%")])
def test_fmt_pct(value, text) -> None:
    assert fmt_pct(value) == text


def test_fmt_time_and_fmt_iso_are_utc() -> None:
    assert fmt_time(STARTED) == "2025-02-10 14:30:58"
    assert fmt_iso(STARTED) == "2025-02-10T14:30:58Z"
    assert fmt_time(None) == "—"
    assert fmt_iso(None) == ""


def test_filters_are_registered_for_templates() -> None:
    app = Flask(__name__)
    register_filters(app)
    with app.app_context():
        html = render_template_string(
            "{{ 1234|thousands }}|{{ 15.0|int }}|{{ 185|duration }}|{{ 0.6|gap_level }}|"
            "{{ 'javascript:x'|safe_url }}|{{ u|safe_url }}|{{ p|compact_params }}|{{ 50.0|pct }}",
            u="https://a.test", p={"url": "https://a.test", "q": "x"})
    # `thousands` groups digits; Jinja's own `int` is left alone (an interval reads "15", not "15.0").
    assert html == "1,234|15|3 min 05 s|3|None|https://a.test|q=x|50.0%"
