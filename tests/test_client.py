"""LobstrClient: what it sends, how it maps lobstr's answers to errors, and how it retries.

Every test runs against `requests_mock`; no test sleeps for real except the one that checks the
retry budget against the wall clock. Backoff sleeps go to a recorder (`sleep=`), and the limiter
runs on a fake clock, so waits are measured instead of spent.
"""

from __future__ import annotations

import calendar
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from lobstr_dash.upstream.client import (
    USER_AGENT,
    LobstrClient,
    RawResponse,
    parse_retry_after,
)
from lobstr_dash.upstream.envelopes import RunTaskPage, parse_runtask_page
from lobstr_dash.upstream.errors import (
    error_code,
    error_message,
    ERRORS_BY_KIND,
    LobstrAuthError,
    LobstrBadRequest,
    LobstrBadResponse,
    LobstrError,
    LobstrNotFound,
    LobstrRateLimited,
    LobstrUnavailable,
)
from lobstr_dash.upstream.ratelimit import SlidingWindowLimiter

BASE = "https://api.lobstr.test/v1"
RUNTASKS = f"{BASE}/runtasks"
TOKEN = "tok-5ecret-never-show-me-42"
RUN_ID = "300e9c5c127d421c90f431478d9a2cfb"
WALL_START = 1_750_000_000.0

ROW = {
    "object": "runtask", "id": "1262f6f99dac7dffb05a513fff0ded77",
    "task": "d30334cd8d21ab16048c5e2e7136a9f1", "run": RUN_ID, "status": "aborted",
    "params": {"url": "https://www.google.com/maps/search/restaurant/@43.29,5.36,17z"},
    "started_at": "2025-02-10T14:30:58Z", "ended_at": "2025-02-10T14:31:10Z",
    "total_results": 138, "last_result": 6, "total_pages": 1, "last_page": 0,
    "done_reason": "run_aborted", "done_reason_desc": None,
    "last_collection_at": "2025-02-10T14:31:10Z",
}

# The four error body shapes lobstr documents, and the message each one carries.
ERROR_SHAPES = [
    pytest.param({"detail": "Run not found."}, "Run not found.", id="detail"),
    pytest.param({"error": {"message": "Run not found", "type": "not_found_error", "param": "run_hash"}},
                 "Run not found", id="error-object"),
    pytest.param({"errors": {"message": "Squid not ready, please update the settings first.",
                             "type": "SquidNotReady", "code": 400}},
                 "Squid not ready, please update the settings first.", id="errors-object"),
    pytest.param({"error": "Rate limit exceeded. Try again later.", "type": "RateLimitExceeded",
                  "code": 429}, "Rate limit exceeded. Try again later.", id="error-string"),
]


# -- helpers ------------------------------------------------------------------------------------


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        # Start at the real monotonic time: the client computes its deadline with time.monotonic().
        self.start = self.now = time.monotonic()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def wall(self) -> float:
        return WALL_START + (self.now - self.start)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


class RecordingLimiter:
    """Stands in for SlidingWindowLimiter and records what the client asks of it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.pauses: list[float] = []
        self.observed: list[tuple[str | None, str | None]] = []
        self.keys: list[str] = []

    def acquire(self, deadline: float | None = None, key: str = "") -> float:
        self.acquired += 1
        self.keys.append(key)
        return 0.0

    def pause(self, seconds: float, key: str = "") -> None:
        self.pauses.append(seconds)

    def observe(self, remaining: str | None, reset: str | None, key: str = "") -> None:
        self.observed.append((remaining, reset))


def fake_limiter(clock: FakeClock, limit: int = 0, window: float = 60.0) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(limit, window, margin=0.5, clock=clock, wall_clock=clock.wall,
                                sleep=clock.sleep)


def make_client(sleeps: list[float] | None = None, **overrides: object) -> LobstrClient:
    """A client that never sleeps for real: tiny backoff, recorded sleeps, fake-clock limiter."""
    options: dict[str, object] = {
        "max_attempts": 3, "retry_budget": 30.0, "backoff_base": 0.001,
        "sleep": (sleeps.append if sleeps is not None else (lambda _s: None)),
    }
    options.update(overrides)
    if "limiter" not in options:
        options["limiter"] = fake_limiter(FakeClock())
    return LobstrClient(BASE, TOKEN, **options)  # type: ignore[arg-type]


def envelope(rows: list[dict], *, page: int = 1, limit: int = 100, total: int | None = None,
             total_pages: int | None = None) -> dict:
    total = len(rows) if total is None else total
    body = {"total_results": total, "limit": limit, "page": page,
            "total_pages": total_pages if total_pages is not None else -(-total // limit),
            "result_from": (page - 1) * limit + 1, "result_to": (page - 1) * limit + len(rows),
            "data": rows, "next": None, "previous": None}
    return body


def query_of(request) -> dict[str, list[str]]:
    """The query string exactly as sent (requests_mock's `.qs` lower-cases values)."""
    return parse_qs(urlsplit(request.url).query)


def raised_by(call) -> LobstrError:
    with pytest.raises(LobstrError) as info:
        call()
    return info.value


# -- what goes over the wire ----------------------------------------------------------------------


def test_runtasks_page_sends_token_header_and_run_page_limit_query(requests_mock) -> None:
    requests_mock.get(RUNTASKS, json=envelope([ROW], page=2, limit=50, total=51))
    make_client().runtasks_page(RUN_ID, 2, 50)

    assert requests_mock.call_count == 1
    sent = requests_mock.request_history[0]
    assert sent.method == "GET"
    assert urlsplit(sent.url).path == "/v1/runtasks"
    assert query_of(sent) == {"run": [RUN_ID], "page": ["2"], "limit": ["50"]}
    assert sent.headers["Authorization"] == f"Token {TOKEN}"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("base", [BASE, BASE + "/", BASE + "//"])
def test_base_url_with_or_without_trailing_slash_builds_the_same_url(requests_mock, base) -> None:
    requests_mock.get(RUNTASKS, json=envelope([]))
    LobstrClient(base, TOKEN, limiter=fake_limiter(FakeClock())).runtasks_page(RUN_ID, 1)
    assert requests_mock.request_history[0].url.startswith(RUNTASKS + "?")


def test_each_request_carries_connect_and_read_timeouts(requests_mock) -> None:
    requests_mock.get(RUNTASKS, json=envelope([]))
    make_client(connect_timeout=2.5, read_timeout=7.0).runtasks_page(RUN_ID, 1)
    connect, read = requests_mock.request_history[0].timeout
    assert connect == 2.5
    assert 0 < read <= 7.0


def test_read_timeout_never_exceeds_the_retry_budget(requests_mock) -> None:
    requests_mock.get(RUNTASKS, json=envelope([]))
    make_client(read_timeout=20.0, retry_budget=2.0).runtasks_page(RUN_ID, 1)
    _, read = requests_mock.request_history[0].timeout
    assert read <= 2.0


def test_get_json_sends_params_below_the_base_url_and_returns_the_body(requests_mock) -> None:
    body = {"id": RUN_ID, "object": "run", "status": "done", "duration": 8.0415}
    requests_mock.get(f"{BASE}/runs/{RUN_ID}", json=body)
    assert make_client().get_json(f"runs/{RUN_ID}", {"verbose": 1}) == body
    assert query_of(requests_mock.request_history[0]) == {"verbose": ["1"]}


def test_get_json_accepts_a_leading_slash_in_the_path(requests_mock) -> None:
    requests_mock.get(f"{BASE}/runs/{RUN_ID}/stats", json={"is_done": True})
    assert make_client().get_json(f"/runs/{RUN_ID}/stats") == {"is_done": True}


# -- the token never leaks ------------------------------------------------------------------------


def test_repr_of_the_client_does_not_contain_the_token() -> None:
    client = make_client()
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert BASE in repr(client)


@pytest.mark.parametrize("mock", [
    pytest.param({"status_code": 401, "json": {"detail": "Invalid token."}}, id="401"),
    pytest.param({"status_code": 403, "json": {"detail": "Forbidden"}}, id="403"),
    pytest.param({"status_code": 404, "text": "not here"}, id="404"),
    pytest.param({"status_code": 429, "headers": {"Retry-After": "999"}}, id="429"),
    pytest.param({"status_code": 500, "text": "<html>boom</html>"}, id="500"),
    pytest.param({"status_code": 200, "text": "not json"}, id="bad-json"),
    pytest.param({"status_code": 200, "json": {"results": []}}, id="bad-shape"),
    pytest.param({"exc": requests.exceptions.ConnectTimeout}, id="connect-timeout"),
    pytest.param({"exc": requests.exceptions.ConnectionError}, id="connection-error"),
])
def test_token_is_absent_from_every_error_and_log_line(requests_mock, caplog, mock) -> None:
    requests_mock.get(RUNTASKS, **mock)
    with caplog.at_level(logging.DEBUG, logger="lobstr_dash"):
        exc = raised_by(lambda: make_client(max_attempts=2).runtasks_page(RUN_ID, 1))
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert TOKEN not in exc.message
    assert TOKEN not in caplog.text


# -- each status to its error class ---------------------------------------------------------------


@pytest.mark.parametrize(("status", "error_class"), [
    (400, LobstrBadRequest),
    (401, LobstrAuthError),
    (403, LobstrAuthError),
    (404, LobstrNotFound),
])
def test_client_errors_map_to_their_class_and_are_never_retried(requests_mock, status, error_class) -> None:
    requests_mock.get(RUNTASKS, status_code=status, json={"detail": "nope"})
    sleeps: list[float] = []
    exc = raised_by(lambda: make_client(sleeps, max_attempts=4).runtasks_page(RUN_ID, 1))
    assert type(exc) is error_class
    assert exc.status == status
    assert exc.message == "nope"
    assert requests_mock.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [402, 405, 409, 410, 422])
def test_other_4xx_become_a_plain_lobstr_error_sent_once(requests_mock, status) -> None:
    requests_mock.get(RUNTASKS, status_code=status, json={"detail": "refused"})
    exc = raised_by(lambda: make_client(max_attempts=4).runtasks_page(RUN_ID, 1))
    assert type(exc) is LobstrError
    assert exc.status == status
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_up_to_max_attempts_then_unavailable(requests_mock, status) -> None:
    requests_mock.get(RUNTASKS, status_code=status,
                      json={"errors": {"message": "Something went wrong", "type": "SomethingWentWrong",
                                       "code": status}})
    sleeps: list[float] = []
    exc = raised_by(lambda: make_client(sleeps, max_attempts=3).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrUnavailable)
    assert exc.status == status
    assert exc.message == "Something went wrong"
    assert requests_mock.call_count == 3
    assert len(sleeps) == 2  # one backoff between each pair of attempts


def test_429_maps_to_rate_limited_with_the_retry_after_seconds(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=429, headers={"Retry-After": "120"},
                      json={"detail": "Request was throttled. Expected available in 120 seconds."})
    exc = raised_by(lambda: make_client(max_retry_after=30.0).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrRateLimited)
    assert exc.status == 429
    assert exc.retry_after == 120.0
    assert exc.message == "Request was throttled. Expected available in 120 seconds."


@pytest.mark.parametrize(("body", "message"), ERROR_SHAPES)
@pytest.mark.parametrize("status", [400, 404])
def test_every_documented_error_body_gives_its_readable_message(requests_mock, status, body, message) -> None:
    requests_mock.get(RUNTASKS, status_code=status, json=body)
    exc = raised_by(lambda: make_client().runtasks_page(RUN_ID, 1))
    assert exc.message == message
    assert str(exc) == f"[{status}] {message}"


def test_rate_limit_body_shape_gives_its_message_on_a_429(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=429, headers={"Retry-After": "3600"},
                      json={"error": "Rate limit exceeded. Try again later.",
                            "type": "RateLimitExceeded", "code": 429})
    exc = raised_by(lambda: make_client().runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrRateLimited)
    assert exc.message == "Rate limit exceeded. Try again later."


@pytest.mark.parametrize("status", [404, 502])
@pytest.mark.parametrize("html", [
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>",
    "<!DOCTYPE html><html><body>" + "<p>cloudflare says no</p>" * 500 + "</body></html>",
])
def test_html_error_body_gives_a_short_message_without_markup(requests_mock, status, html) -> None:
    requests_mock.get(RUNTASKS, status_code=status, text=html, headers={"Content-Type": "text/html"})
    exc = raised_by(lambda: make_client(max_attempts=1).runtasks_page(RUN_ID, 1))
    assert "<" not in exc.message and ">" not in exc.message
    assert str(status) in exc.message
    assert len(exc.message) <= 200


def test_plain_text_error_body_becomes_the_message_cut_to_200_chars(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=503, text="upstream connect error " + "x" * 1000)
    exc = raised_by(lambda: make_client(max_attempts=1).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrUnavailable)
    assert exc.message.startswith("upstream connect error")
    assert len(exc.message) <= 200


def test_json_error_body_of_an_unknown_shape_falls_back_to_the_status_line(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=404, json={"oops": True}, reason="Not Found")
    exc = raised_by(lambda: make_client().runtasks_page(RUN_ID, 1))
    assert exc.message == "HTTP 404 Not Found"


def test_empty_error_body_falls_back_to_the_status_line(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=401, text="", reason="Unauthorized")
    exc = raised_by(lambda: make_client().runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrAuthError)
    assert exc.message == "HTTP 401 Unauthorized"


# -- bodies that are not what lobstr documents ----------------------------------------------------


@pytest.mark.parametrize("text", ["<html><body>Maintenance</body></html>", "", "{truncated", "OK"])
def test_non_json_200_is_a_bad_response(requests_mock, text) -> None:
    requests_mock.get(RUNTASKS, status_code=200, text=text)
    exc = raised_by(lambda: make_client(max_attempts=2).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrBadResponse)
    assert exc.status == 200
    assert "<" not in exc.message
    assert 1 <= requests_mock.call_count <= 2


@pytest.mark.parametrize("body", [
    pytest.param([ROW], id="bare-list"),
    pytest.param({"results": []}, id="no-data-key"),
    pytest.param({"data": None}, id="data-null"),
    pytest.param({"data": {"id": "x"}}, id="data-object"),
    pytest.param({"data": [1, 2, 3]}, id="rows-are-numbers"),
    pytest.param({"data": [ROW, "oops"]}, id="one-row-is-a-string"),
    pytest.param({"data": [ROW, None]}, id="one-row-is-null"),
    pytest.param("just a string", id="json-string"),
])
def test_runtasks_body_of_the_wrong_shape_is_a_bad_response(requests_mock, body) -> None:
    requests_mock.get(RUNTASKS, json=body)
    exc = raised_by(lambda: make_client(max_attempts=2).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrBadResponse)


def test_runtasks_page_returns_rows_and_counters(requests_mock) -> None:
    requests_mock.get(RUNTASKS, json=envelope([ROW], page=3, limit=100, total=201, total_pages=3))
    page = make_client().runtasks_page(RUN_ID, 3, 100)
    assert page == RunTaskPage(page=3, limit=100, total_results=201, total_pages=3, rows=[ROW])


# -- transport failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(("exc_class", "message"), [
    (requests.exceptions.ConnectTimeout, "lobstr did not answer in time"),
    (requests.exceptions.ReadTimeout, "lobstr did not answer in time"),
    (requests.exceptions.ConnectionError, "could not reach lobstr (ConnectionError)"),
    (requests.exceptions.ChunkedEncodingError, "could not reach lobstr (ChunkedEncodingError)"),
])
def test_timeouts_and_connection_errors_are_retried_then_unavailable(requests_mock, exc_class,
                                                                     message) -> None:
    requests_mock.get(RUNTASKS, exc=exc_class)
    sleeps: list[float] = []
    exc = raised_by(lambda: make_client(sleeps, max_attempts=3).runtasks_page(RUN_ID, 1))
    assert type(exc) is LobstrUnavailable
    assert exc.status is None
    assert exc.message == message
    assert exc.__cause__ is None and exc.__suppress_context__  # the requests traceback is not chained
    assert requests_mock.call_count == 3
    assert len(sleeps) == 2


def test_a_timeout_then_success_returns_the_page(requests_mock) -> None:
    requests_mock.get(RUNTASKS, [{"exc": requests.exceptions.ReadTimeout}, {"json": envelope([ROW])}])
    page = make_client().runtasks_page(RUN_ID, 1)
    assert page.rows == [ROW]
    assert requests_mock.call_count == 2


# -- retries, backoff, budget ---------------------------------------------------------------------


def test_a_500_once_then_200_succeeds_with_exactly_two_requests(requests_mock) -> None:
    requests_mock.get(RUNTASKS, [{"status_code": 500, "json": {"detail": "hiccup"}},
                                 {"json": envelope([ROW])}])
    sleeps: list[float] = []
    page = make_client(sleeps, backoff_base=0.2).runtasks_page(RUN_ID, 1)
    assert page.rows == [ROW]
    assert requests_mock.call_count == 2
    assert len(sleeps) == 1
    assert 0.1 <= sleeps[0] <= 0.2  # first backoff: base with jitter between half and full


def test_backoff_doubles_between_attempts_with_jitter(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=503)
    sleeps: list[float] = []
    with pytest.raises(LobstrUnavailable):
        make_client(sleeps, max_attempts=4, backoff_base=0.01).runtasks_page(RUN_ID, 1)
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        full = 0.01 * 2 ** (attempt - 1)
        assert full / 2 <= delay <= full


@pytest.mark.parametrize("max_attempts", [1, 2, 5])
def test_max_attempts_bounds_the_number_of_requests(requests_mock, max_attempts) -> None:
    requests_mock.get(RUNTASKS, status_code=500)
    with pytest.raises(LobstrUnavailable):
        make_client(max_attempts=max_attempts).runtasks_page(RUN_ID, 1)
    assert requests_mock.call_count == max_attempts


def test_retry_budget_bounds_the_total_time_of_a_call(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=500)
    client = LobstrClient(BASE, TOKEN, max_attempts=1000, retry_budget=0.5, backoff_base=0.05,
                          limiter=fake_limiter(FakeClock()))  # real time.sleep for the backoff
    started = time.monotonic()
    with pytest.raises(LobstrUnavailable):
        client.runtasks_page(RUN_ID, 1)
    assert time.monotonic() - started < 2.0
    assert 2 <= requests_mock.call_count < 1000
    for sent in requests_mock.request_history:
        assert sent.timeout[1] <= 0.5  # no single read may outlast the budget either


def test_a_budget_too_small_for_any_attempt_raises_unavailable_not_assertion(requests_mock) -> None:
    requests_mock.get(RUNTASKS, json=envelope([]))
    with pytest.raises(LobstrUnavailable):
        make_client(retry_budget=0.01).runtasks_page(RUN_ID, 1)
    assert requests_mock.call_count == 0


# -- 429, Retry-After and the limiter -------------------------------------------------------------


def test_429_with_retry_after_then_200_succeeds_after_pausing_the_limiter(requests_mock) -> None:
    requests_mock.get(RUNTASKS, [{"status_code": 429, "headers": {"Retry-After": "1"},
                                  "json": {"detail": "Request was throttled."}},
                                 {"json": envelope([ROW])}])
    limiter = RecordingLimiter()
    sleeps: list[float] = []
    page = make_client(sleeps, limiter=limiter).runtasks_page(RUN_ID, 1)
    assert page.rows == [ROW]
    assert requests_mock.call_count == 2
    assert limiter.pauses == [1.0]
    assert limiter.acquired == 2  # the retry went through the limiter, which does the waiting
    assert sum(sleeps) == 0  # no backoff on top of Retry-After


def test_429_retry_after_makes_the_next_request_wait_that_long_on_a_real_limiter(requests_mock) -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def ok(request, context):
        sent_at.append(clock())
        return envelope([ROW])

    requests_mock.get(RUNTASKS, [{"status_code": 429, "headers": {"Retry-After": "1"}}, {"json": ok}])
    limiter = fake_limiter(clock)
    page = make_client(limiter=limiter).runtasks_page(RUN_ID, 1)
    assert page.rows == [ROW]
    assert sent_at == [pytest.approx(clock.start + 1.0)]
    assert clock.slept == pytest.approx(1.0)
    assert limiter.waits == 1 and limiter.waited_seconds == pytest.approx(1.0)


def test_429_without_retry_after_is_retried_with_backoff(requests_mock) -> None:
    requests_mock.get(RUNTASKS, [{"status_code": 429}, {"json": envelope([])}])
    sleeps: list[float] = []
    limiter = RecordingLimiter()
    make_client(sleeps, limiter=limiter).runtasks_page(RUN_ID, 1)
    assert requests_mock.call_count == 2
    assert limiter.pauses == []
    assert len(sleeps) == 1 and sleeps[0] > 0


def test_retry_after_beyond_max_retry_after_fails_fast_without_a_second_request(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=429, headers={"Retry-After": "120"})
    limiter = RecordingLimiter()
    sleeps: list[float] = []
    exc = raised_by(lambda: make_client(sleeps, limiter=limiter, max_retry_after=30.0,
                                        max_attempts=4).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrRateLimited)
    assert exc.retry_after == 120.0
    assert requests_mock.call_count == 1
    assert sleeps == []
    assert limiter.pauses == [30.0]  # other callers hold off, but at most max_retry_after


def test_retry_after_longer_than_the_remaining_budget_fails_fast_with_the_wait(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=429, headers={"Retry-After": "10"})
    clock = FakeClock()
    exc = raised_by(lambda: make_client(limiter=fake_limiter(clock), max_retry_after=30.0,
                                        retry_budget=5.0).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrRateLimited)
    assert exc.status == 429
    assert exc.retry_after == pytest.approx(10.0, abs=0.1)
    assert requests_mock.call_count == 1
    assert clock.slept == 0


def test_retry_after_as_an_http_date_in_the_near_future_is_honoured(requests_mock) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    requests_mock.get(RUNTASKS, [{"status_code": 429, "headers": {"Retry-After": when}},
                                 {"json": envelope([])}])
    limiter = RecordingLimiter()
    make_client(limiter=limiter, max_retry_after=30.0).runtasks_page(RUN_ID, 1)
    assert requests_mock.call_count == 2
    assert len(limiter.pauses) == 1
    assert 8.0 < limiter.pauses[0] <= 10.0  # HTTP dates have whole seconds


def test_retry_after_as_a_distant_http_date_fails_fast(requests_mock) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    requests_mock.get(RUNTASKS, status_code=429, headers={"Retry-After": when})
    exc = raised_by(lambda: make_client(limiter=RecordingLimiter()).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrRateLimited)
    assert exc.retry_after == pytest.approx(3600, abs=5)
    assert requests_mock.call_count == 1


def test_429_every_time_ends_rate_limited_after_max_attempts(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=429, headers={"Retry-After": "0"})
    exc = raised_by(lambda: make_client(limiter=RecordingLimiter(), max_attempts=3).runtasks_page(RUN_ID, 1))
    assert isinstance(exc, LobstrRateLimited)
    assert exc.status == 429
    assert requests_mock.call_count == 3


def test_rate_limit_headers_are_passed_to_the_limiter(requests_mock) -> None:
    requests_mock.get(RUNTASKS, json=envelope([]),
                      headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1750000100"})
    limiter = RecordingLimiter()
    make_client(limiter=limiter).runtasks_page(RUN_ID, 1)
    assert limiter.observed == [("0", "1750000100")]
    assert limiter.keys == ["runtasks"]  # paced in runtasks' own window


def test_exhausted_rate_limit_headers_make_the_next_call_wait_for_the_reset(requests_mock) -> None:
    clock = FakeClock()
    reset = str(int(WALL_START + 5))
    requests_mock.get(RUNTASKS, json=envelope([]),
                      headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    client = make_client(limiter=fake_limiter(clock))
    client.runtasks_page(RUN_ID, 1)
    assert clock.slept == 0
    client.runtasks_page(RUN_ID, 2)
    assert clock.slept == pytest.approx(5.0)
    assert requests_mock.call_count == 2


def test_no_request_is_sent_when_the_local_limiter_has_no_slot_within_the_budget(requests_mock) -> None:
    requests_mock.get(RUNTASKS, json=envelope([]))
    clock = FakeClock()
    client = make_client(limiter=fake_limiter(clock, limit=1, window=60.0), retry_budget=5.0)
    client.runtasks_page(RUN_ID, 1)
    exc = raised_by(lambda: client.runtasks_page(RUN_ID, 2))
    assert isinstance(exc, LobstrRateLimited)
    assert exc.status is None
    assert exc.retry_after == pytest.approx(60.5)
    assert requests_mock.call_count == 1
    assert clock.slept == 0


def test_observer_sees_each_attempt_with_its_endpoint_and_outcome(requests_mock) -> None:
    requests_mock.get(RUNTASKS, [{"status_code": 502}, {"exc": requests.exceptions.ReadTimeout},
                                 {"exc": requests.exceptions.ConnectionError}, {"json": envelope([])}])
    seen: list[tuple[str, int | str, float]] = []
    make_client(max_attempts=4, observer=lambda *event: seen.append(event)).runtasks_page(RUN_ID, 1)
    assert [(endpoint, outcome) for endpoint, outcome, _ in seen] == [
        ("runtasks", 502), ("runtasks", "timeout"), ("runtasks", "connection_error"), ("runtasks", 200)]
    assert all(seconds >= 0 for _, _, seconds in seen)


# -- forward: the JSON proxy ------------------------------------------------------------------------


def test_forward_returns_the_upstream_bytes_unchanged(requests_mock) -> None:
    raw = b'{"total_results": 1,  "data": [{"id": "caf\\u00e9", "n": 1.50}], "next": null}'
    requests_mock.get(RUNTASKS, content=raw, headers={"Content-Type": "application/json; charset=utf-8"})
    answer = make_client().forward("runtasks", {"run": RUN_ID, "page": 2, "limit": 10})
    assert answer == RawResponse(200, raw, "application/json; charset=utf-8")
    assert query_of(requests_mock.request_history[0]) == {"run": [RUN_ID], "page": ["2"], "limit": ["10"]}


def test_forward_defaults_the_content_type_to_json(requests_mock) -> None:
    requests_mock.get(RUNTASKS, content=b"[]")  # no Content-Type header at all
    answer = make_client().forward("runtasks", {})
    assert answer == RawResponse(200, b"[]", "application/json")


def test_forward_refuses_a_non_json_body(requests_mock) -> None:
    requests_mock.get(RUNTASKS, text="<html>login</html>")
    with pytest.raises(LobstrBadResponse):
        make_client(max_attempts=1).forward("runtasks", {"run": RUN_ID})


def test_forward_maps_errors_like_any_call(requests_mock) -> None:
    requests_mock.get(RUNTASKS, status_code=404, json={"detail": "Run not found."})
    exc = raised_by(lambda: make_client().forward("runtasks", {"run": RUN_ID}))
    assert isinstance(exc, LobstrNotFound)
    assert exc.message == "Run not found."


# -- pure helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), ERROR_SHAPES)
def test_error_message_reads_every_documented_shape(body, message) -> None:
    assert error_message(body, "fallback") == message


@pytest.mark.parametrize(("body", "message"), [
    ({"detail": "  padded  "}, "padded"),
    ({"detail": "first", "error": {"message": "second"}}, "first"),
    ({"detail": "   ", "error": {"message": "used instead"}}, "used instead"),
    ({"detail": ["a", "list"], "errors": {"message": "from errors"}}, "from errors"),
    ({"message": "top-level message"}, "top-level message"),
    ({"error": {"type": "no_message"}}, "fallback"),
    ({"errors": {"message": ""}}, "fallback"),
    ({}, "fallback"),
    (None, "fallback"),
    ("a string", "fallback"),
    ([{"detail": "in a list"}], "fallback"),
])
def test_error_message_edge_cases(body, message) -> None:
    assert error_message(body, "fallback") == message


@pytest.mark.parametrize(("body", "message", "code"), [
    # The current errors page: one envelope for every error, 429 included.
    ({"errors": {"message": "Request was throttled. Expected available in 2 seconds.",
                 "type": "Throttled", "code": 429}},
     "Request was throttled. Expected available in 2 seconds.", "Throttled"),
    ({"errors": {"message": "A required parameter squid is missing from the route.",
                 "type": "ParamsNeeded", "code": 400}},
     "A required parameter squid is missing from the route.", "ParamsNeeded"),
    # The action endpoints (resurrect, retry): the code in `error`, the sentence in `message`.
    ({"error": "RunInProgress", "message": "Cannot retry a task while the run is still active."},
     "Cannot retry a task while the run is still active.", "RunInProgress"),
    ({"error": "RetryCooldown", "message": "This task was retried too recently, please wait a few "
      "minutes."}, "This task was retried too recently, please wait a few minutes.", "RetryCooldown"),
    # Older pages.
    ({"error": {"message": "Run not found", "type": "not_found_error", "param": "run_hash"}},
     "Run not found", "not_found_error"),
    ({"error": "Request was throttled.", "type": "RateLimitExceeded", "code": 429},
     "Request was throttled.", "RateLimitExceeded"),
    ({"detail": "Invalid token."}, "Invalid token.", None),
    # A sentence in `error` is never taken for a code.
    ({"error": "Something broke badly", "message": "details"}, "details", None),
])
def test_every_documented_error_shape_gives_its_sentence_and_keeps_its_code(body, message,
                                                                            code) -> None:
    assert error_message(body, "fallback") == message
    assert error_code(body) == code


@pytest.mark.parametrize(("value", "seconds"), [
    (None, None), ("", None), ("soon", None), ("1", 1.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0),
])
def test_parse_retry_after_seconds(value, seconds) -> None:
    assert parse_retry_after(value) == seconds


def test_parse_retry_after_http_date_is_seconds_from_now() -> None:
    now = calendar.timegm((2015, 10, 21, 7, 27, 30, 0, 0, 0))
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 30.0


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    now = calendar.timegm((2015, 10, 21, 8, 0, 0, 0, 0, 0))
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0


@pytest.fixture()
def local_time_is_not_utc():
    """Switch the process's local zone to UTC+5:30 (POSIX TZ string, no tzdata needed)."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.parametrize("value", ["Sun Nov  6 08:49:37 2094", "Sun, 06 Nov 2094 08:49:37 -0000"])
def test_parse_retry_after_reads_every_http_date_form_as_gmt(local_time_is_not_utc, value) -> None:
    now = calendar.timegm((2094, 11, 6, 8, 49, 27, 0, 0, 0))
    assert parse_retry_after(value, now=now) == 10.0


@pytest.mark.parametrize(("total", "limit", "pages"),
                         [(250, 100, 3), (200, 100, 2), (1, 100, 1), (0, 100, 0)])
def test_parse_runtask_page_computes_total_pages_when_missing(total, limit, pages) -> None:
    body = {"total_results": total, "limit": limit, "data": [ROW]}
    assert parse_runtask_page(body, 1, limit).total_pages == pages


def test_parse_runtask_page_uses_the_servers_page_size_over_the_requested_one() -> None:
    page = parse_runtask_page({"total_results": 120, "limit": 50, "data": [ROW]}, 1, 100)
    assert (page.limit, page.total_pages) == (50, 3)


def test_parse_runtask_page_reads_the_pages_total_results_fills_when_total_pages_says_more() -> None:
    # Issue 10: pages to fetch = min(declared total_pages, ceil(total_results / limit)); the
    # declared count is kept as claimed. (This test used to expect the declared 7.)
    page = parse_runtask_page({"total_results": 250, "limit": 100, "total_pages": 7, "data": []}, 2, 100)
    assert page.total_pages == 3
    assert page.claimed_pages == 7
    assert page.total_results == 250
    fewer = parse_runtask_page({"total_results": 250, "limit": 100, "total_pages": 2, "data": []}, 2, 100)
    assert fewer.total_pages == 2


def test_parse_runtask_page_without_counters_treats_a_full_page_as_not_the_last() -> None:
    assert parse_runtask_page({"data": [ROW] * 3}, 4, 3).total_pages == 5
    assert parse_runtask_page({"data": [ROW] * 2}, 4, 3).total_pages == 4
    assert parse_runtask_page({"data": []}, 1, 3).total_pages == 1


@pytest.mark.parametrize("bad", [True, -1, 2.5, "250", None])
def test_parse_runtask_page_ignores_counters_that_are_not_whole_counts(bad) -> None:
    page = parse_runtask_page({"total_results": bad, "data": [ROW]}, 1, 100)
    assert page.total_results is None
    assert page.total_pages == 1


def test_parse_runtask_page_copies_rows() -> None:
    row = dict(ROW)
    page = parse_runtask_page({"data": [row]}, 1, 100)
    page.rows[0]["status"] = "changed"
    assert row["status"] == "aborted"


# -- the error family -------------------------------------------------------------------------------


@pytest.mark.parametrize(("error_class", "kind", "response_status"), [
    (LobstrError, "error", 502),
    (LobstrAuthError, "auth", 502),
    (LobstrNotFound, "not_found", 404),
    (LobstrBadRequest, "bad_request", 400),
    (LobstrRateLimited, "rate_limited", 503),
    (LobstrUnavailable, "unavailable", 503),
    (LobstrBadResponse, "bad_response", 502),
])
def test_each_error_has_its_kind_and_dashboard_status_and_can_be_rebuilt_by_kind(
        error_class, kind, response_status) -> None:
    assert issubclass(error_class, LobstrError)
    assert error_class.kind == kind
    assert error_class.response_status == response_status
    assert ERRORS_BY_KIND[kind] is error_class


def test_error_str_prefixes_the_upstream_status_when_there_is_one() -> None:
    assert str(LobstrNotFound("Run not found.", status=404)) == "[404] Run not found."
    assert str(LobstrUnavailable("lobstr did not answer in time")) == "lobstr did not answer in time"


def test_rate_limited_defaults_to_status_429_and_no_retry_after() -> None:
    exc = LobstrRateLimited("slow down")
    assert (exc.status, exc.retry_after) == (429, None)
