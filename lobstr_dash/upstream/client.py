"""The lobstr API client: one requests.Session, timeouts, paced retries, typed errors.

Over 300 lines on purpose: it is the one choke point every upstream call passes, kept whole.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import requests

from .body import parse_json
from .body import read_body
from .deadline import Deadline
from .deadline import deadline_session
from .envelopes import RunTaskPage
from .envelopes import parse_runtask_page
from .errors import LobstrAuthError
from .errors import LobstrBadRequest
from .errors import LobstrBadResponse
from .errors import LobstrBusy
from .errors import LobstrError
from .errors import LobstrNotFound
from .errors import LobstrRateLimited
from .errors import LobstrUnavailable
from .errors import error_code
from .errors import error_message
from .ratelimit import RateLimitWaitTooLong
from .ratelimit import SlidingWindowLimiter
from .redact import Redactor

log = logging.getLogger(__name__)

USER_AGENT = "lobstr-dash/1.0"
#: 5xx answers worth another try; a 501 or 505 will not change by asking again.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RawResponse:
    """An upstream answer passed through as is (the JSON proxy)."""

    status: int
    body: bytes
    content_type: str


def json_content_type(header: str | None) -> str:
    """The pass-through's Content-Type: JSON whatever lobstr says (its UTF-8 charset kept)."""
    media, _, parameters = (header or "").partition(";")
    if (media.strip().lower() == "application/json"
            and parameters.replace(" ", "").lower() == "charset=utf-8"):
        return "application/json; charset=utf-8"
    return "application/json"


def endpoint_family(path: str) -> str:
    """The part of a path lobstr rate-limits by: `runs/<id>/stats` → `runs`."""
    return path.strip("/").split("/", 1)[0]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Parse Retry-After given as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # HTTP dates are GMT (RFC 9110)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class LobstrClient:
    """Calls lobstr's API with the server's token; raises only LobstrError types."""

    def __init__(self, base_url: str, token: str, *, connect_timeout: float = 3.05,
                 read_timeout: float = 20.0, max_attempts: int = 4, retry_budget: float = 45.0,
                 max_retry_after: float = 900.0, backoff_base: float = 0.5,
                 limiter: SlidingWindowLimiter | None = None,
                 session: requests.Session | None = None,
                 observer: Callable[[str, int | str, float], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 max_body_bytes: int = 8 * 1024 * 1024, request_slots: int = 4,
                 slot_wait: float = 0.25) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self.retry_budget = retry_budget
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self.limiter = limiter or SlidingWindowLimiter(0)
        self.session = session or deadline_session()
        self.session.headers.update({"Authorization": f"Token {token}", "User-Agent": USER_AGENT,
                                     "Accept": "application/json"})
        # An upstream (or a proxy before it) may echo the request's headers in what it answers.
        self._redactor = Redactor(token)
        self.max_body_bytes = max_body_bytes
        self.request_slots = request_slots
        # A call waits at most this long for a slot: while it waits it holds a server thread, so
        # 0.25 s keeps /healthz under a quarter second even when every slot is stuck on lobstr.
        self.slot_wait = slot_wait
        self._slots = threading.BoundedSemaphore(request_slots)
        self._observer = observer
        self._sleep = sleep

    def __repr__(self) -> str:
        # Never let the token reach a log line or a traceback through repr().
        return f"LobstrClient(base_url={self.base_url!r})"

    # -- endpoints -------------------------------------------------------------------------

    def runtasks_page(self, run_id: str, page: int, limit: int = 100, *,
                      patient: bool = False) -> RunTaskPage:
        """Fetch one page of a run's tasks (`GET /runtasks?run=&page=&limit=`).

        `patient` (background loads) waits as long as the rate limit needs for each attempt;
        the retry budget counts only the time spent on lobstr itself.
        """
        params = {"run": run_id, "page": page, "limit": limit}
        response = self._request("runtasks", params, patient=patient,
                                 validate=lambda b: parse_runtask_page(b, page, limit))
        return response  # type: ignore[no-any-return]

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET any JSON endpoint below the base URL, e.g. `runs/<id>`."""
        return self._request(path, dict(params or {}), validate=lambda body: body)

    def post_json(self, path: str, params: Mapping[str, Any] | None = None,
                  body: Any = None) -> Any:
        """POST (a JSON `body`, if any) once and return lobstr's JSON answer: an action or a setting
        is never retried, since a second try could act twice. Raises a LobstrError with lobstr's
        refusal; the same pacing, deadline, body ceiling and redaction as every GET."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        deadline = time.monotonic() + self.retry_budget
        try:
            self.limiter.acquire(deadline=deadline, key=endpoint_family(path))
        except RateLimitWaitTooLong as exc:
            raise LobstrRateLimited(
                "lobstr's request budget is used up for now (rate limit); try again shortly",
                status=None, retry_after=exc.wait) from None
        return self._attempt(url, path, dict(params or {}), lambda answer: answer, deadline,
                             method="POST", payload=body)

    def forward(self, path: str, params: Mapping[str, Any]) -> RawResponse:
        """GET one upstream page and return its bytes unchanged (after checking it is JSON)."""
        return self._request(path, dict(params), validate=None)  # type: ignore[no-any-return]

    # -- the one choke point ---------------------------------------------------------------

    def _request(self, path: str, params: dict[str, Any],
                 validate: Callable[[Any], Any] | None, patient: bool = False) -> Any:
        """GET with pacing, bounded retries and a time budget; map every failure to a LobstrError.

        Calls made while a visitor waits (`patient` is False: pages, the pass-through, run info,
        lists) share `request_slots`: past that many at once, a call fails fast as LobstrBusy
        rather than holding one more of the server's threads on a slow lobstr.
        """
        if patient:
            return self._attempts(path, params, validate, patient)
        if not self._slots.acquire(timeout=self.slot_wait):
            raise LobstrBusy(f"the dashboard is already waiting on lobstr for "
                             f"{self.request_slots} requests; try again in a moment")
        try:
            return self._attempts(path, params, validate, patient)
        finally:
            self._slots.release()

    def _attempts(self, path: str, params: dict[str, Any],
                  validate: Callable[[Any], Any] | None, patient: bool) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}"
        deadline = time.monotonic() + self.retry_budget
        last_error: LobstrError | None = None
        for attempt in range(1, self.max_attempts + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                break
            try:
                if patient:
                    # A queued page must not fail for waiting its turn: the wait for a slot
                    # (under a minute at lobstr's 90/min) is not charged to the budget.
                    deadline += self.limiter.acquire(deadline=None, key=endpoint_family(path))
                else:
                    self.limiter.acquire(deadline=deadline, key=endpoint_family(path))
            except RateLimitWaitTooLong as exc:
                if isinstance(last_error, LobstrRateLimited):
                    last_error.retry_after = exc.wait
                    raise last_error from None
                raise LobstrRateLimited(
                    "lobstr's request budget is used up for now (rate limit); try again shortly",
                    status=None, retry_after=exc.wait) from None
            try:
                return self._attempt(url, path, params, validate, deadline)
            except LobstrError as exc:
                last_error = exc
                if not self._is_retryable(exc) or attempt == self.max_attempts:
                    raise
                delay = self._retry_delay(exc, attempt)
                if time.monotonic() + delay >= deadline:
                    raise
                log.info("upstream %s failed (%s); retry %d in %.2fs", path, exc, attempt, delay)
                self._sleep(delay)
        raise last_error or LobstrUnavailable("no attempt could be made within the time budget")

    def _attempt(self, url: str, path: str, params: dict[str, Any],
                 validate: Callable[[Any], Any] | None, deadline: float,
                 method: str = "GET", payload: Any = None) -> Any:
        """Send one request and turn its answer into a value or a LobstrError.

        The attempt ends by `deadline` whatever the server does: its sockets are cut then
        (`Deadline`), and the body is read in chunks up to `max_body_bytes`.
        """
        remaining = max(0.05, deadline - time.monotonic())
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        started = time.monotonic()
        with Deadline(remaining) as cutoff:
            try:
                response = self.session.request(method, url, params=params or None, json=payload,
                                                timeout=timeout, stream=True,
                                                allow_redirects=False)
            except requests.Timeout:
                self._observe(path, "timeout", started)
                raise LobstrUnavailable("lobstr did not answer in time") from None
            except requests.RequestException as exc:
                self._observe(path, "timeout" if cutoff.passed else "connection_error", started)
                if cutoff.passed:
                    raise LobstrUnavailable("lobstr did not answer within the time budget") from None
                log.debug("upstream %s: %r", path, exc)
                raise LobstrUnavailable(f"could not reach lobstr ({type(exc).__name__})") from None
            try:
                status = response.status_code
                self.limiter.observe(response.headers.get("X-RateLimit-Remaining"),
                                     response.headers.get("X-RateLimit-Reset"),
                                     key=endpoint_family(path))
                if 300 <= status < 400:
                    raise LobstrBadResponse(
                        f"lobstr answered a redirect (HTTP {status}), which the dashboard does "
                        "not follow", status=status, retryable=False)
                body = self._redactor.bytes(read_body(response, self.max_body_bytes, cutoff))
            except LobstrError as exc:
                self._observe(path, "timeout" if cutoff.passed else response.status_code, started)
                raise exc from None
            finally:
                response.close()
        self._observe(path, status, started)
        if status >= 400:
            raise self._error_for(response, body, endpoint_family(path))
        parsed = parse_json(body, status)
        if validate is None:
            return RawResponse(status, body, json_content_type(response.headers.get("Content-Type")))
        return validate(parsed)

    def _error_for(self, response: requests.Response, raw: bytes,
                   family: str = "") -> LobstrError:
        """Map an error status and its (already redacted) body to the matching LobstrError."""
        status = response.status_code
        text = raw.decode("utf-8", errors="replace").strip()
        try:
            body: Any = parse_json(raw, status) if text else None
        except LobstrError:
            body = None
        message = error_message(body, text[:200] if text and body is None and "<" not in text
                                else f"HTTP {status} {response.reason or ''}".strip())
        code = error_code(body)
        if status in (401, 403):
            return LobstrAuthError(message, status=status, code=code)
        if status == 404:
            return LobstrNotFound(message, status=status, code=code)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                # lobstr warns that retrying before Retry-After may get the address blocked: no
                # call of this family goes before it. Past the sanity ceiling it is a fault.
                if retry_after > self.max_retry_after:
                    log.error("lobstr asked to wait %.0f s on %s, past the %.0f s ceiling "
                              "(LOBSTR_MAX_RETRY_AFTER): failing instead", retry_after, family,
                              self.max_retry_after)
                self.limiter.pause(min(retry_after, self.max_retry_after), key=family)
            return LobstrRateLimited(message, status=status, retry_after=retry_after, code=code)
        if status >= 500:
            return LobstrUnavailable(message, status=status, code=code)
        if status == 400:
            return LobstrBadRequest(message, status=status, code=code)
        return LobstrError(message, status=status, code=code)

    def redact(self, text: str) -> str:
        """`text` without the server's token, however it is spelled (an upstream may echo it)."""
        return self._redactor.text(text)

    def _is_retryable(self, exc: LobstrError) -> bool:
        if isinstance(exc, LobstrRateLimited):
            return exc.retry_after is None or exc.retry_after <= self.max_retry_after
        if isinstance(exc, LobstrUnavailable):
            return exc.status is None or exc.status in RETRYABLE_STATUSES
        return isinstance(exc, LobstrBadResponse) and exc.retryable

    def _retry_delay(self, exc: LobstrError, attempt: int) -> float:
        """Seconds to wait before the next attempt: Retry-After when given, else jittered backoff."""
        if isinstance(exc, LobstrRateLimited) and exc.retry_after is not None:
            # The limiter was paused for Retry-After (for every caller); acquire() does the wait.
            return 0.0
        backoff = min(8.0, self.backoff_base * 2 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)

    def _observe(self, path: str, outcome: int | str, started: float) -> None:
        endpoint = path.split("/", 1)[0] or path
        log.debug("GET %s -> %s in %.3fs", endpoint, outcome, time.monotonic() - started)
        if self._observer is not None:
            self._observer(endpoint, outcome, time.monotonic() - started)

