"""The lobstr API client: one requests.Session, timeouts, paced retries, typed errors."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import requests

from .envelopes import RunTaskPage
from .envelopes import parse_runtask_page
from .errors import LobstrAuthError
from .errors import LobstrBadRequest
from .errors import LobstrBadResponse
from .errors import LobstrError
from .errors import LobstrNotFound
from .errors import LobstrRateLimited
from .errors import LobstrUnavailable
from .errors import error_message
from .ratelimit import RateLimitWaitTooLong
from .ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)

USER_AGENT = "lobstr-dash/1.0"
#: 5xx answers worth another try; a 501 or 505 will not change by asking again.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
#: What replaces the token wherever an upstream answer repeats it.
REDACTED = "[redacted]"


@dataclass(frozen=True)
class RawResponse:
    """An upstream answer passed through as is (the JSON proxy)."""

    status: int
    body: bytes
    content_type: str


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
                 max_retry_after: float = 30.0, backoff_base: float = 0.5,
                 limiter: SlidingWindowLimiter | None = None,
                 session: requests.Session | None = None,
                 observer: Callable[[str, int | str, float], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self.retry_budget = retry_budget
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self.limiter = limiter or SlidingWindowLimiter(0)
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}", "User-Agent": USER_AGENT,
                                     "Accept": "application/json"})
        # An upstream (or a proxy before it) may echo the request's headers in what it answers.
        self._token = token
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

    def forward(self, path: str, params: Mapping[str, Any]) -> RawResponse:
        """GET one upstream page and return its bytes unchanged (after checking it is JSON)."""
        return self._request(path, dict(params), validate=None)  # type: ignore[no-any-return]

    def post_json(self, path: str, params: Mapping[str, Any] | None = None,
                  body: Any = None) -> Any:
        """POST a JSON body once and return lobstr's JSON answer (a setting: never retried blind).

        The same pacing, timeouts and typed errors as a GET; a failure is the caller's to retry.
        """
        url = f"{self.base_url}/{path.lstrip('/')}"
        family = endpoint_family(path)
        try:
            self.limiter.acquire(deadline=time.monotonic() + self.retry_budget, key=family)
        except RateLimitWaitTooLong as exc:
            raise LobstrRateLimited("lobstr's request budget is used up for now (rate limit)",
                                    status=None, retry_after=exc.wait) from None
        started = time.monotonic()
        try:
            response = self.session.post(url, params=dict(params or {}), json=body,
                                         timeout=(self.connect_timeout, self.read_timeout))
        except requests.Timeout:
            self._observe(path, "timeout", started)
            raise LobstrUnavailable("lobstr did not answer in time") from None
        except requests.RequestException as exc:
            self._observe(path, "connection_error", started)
            raise LobstrUnavailable(f"could not reach lobstr ({type(exc).__name__})") from None
        self._observe(path, response.status_code, started)
        self.limiter.observe(response.headers.get("X-RateLimit-Remaining"),
                             response.headers.get("X-RateLimit-Reset"), key=family)
        if response.status_code >= 400:
            raise self._error_for(response, family)
        try:
            return response.json()
        except ValueError:
            raise LobstrBadResponse("lobstr answered with a body that is not JSON",
                                    status=response.status_code) from None

    # -- the one choke point ---------------------------------------------------------------

    def _request(self, path: str, params: dict[str, Any],
                 validate: Callable[[Any], Any] | None, patient: bool = False) -> Any:
        """GET with pacing, bounded retries and a time budget; map every failure to a LobstrError."""
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
                 validate: Callable[[Any], Any] | None, deadline: float) -> Any:
        """Send one GET and turn its answer into a value or a LobstrError."""
        remaining = max(0.05, deadline - time.monotonic())
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        started = time.monotonic()
        try:
            response = self.session.get(url, params=params, timeout=timeout)
        except requests.Timeout:
            self._observe(path, "timeout", started)
            raise LobstrUnavailable("lobstr did not answer in time") from None
        except requests.RequestException as exc:
            self._observe(path, "connection_error", started)
            raise LobstrUnavailable(f"could not reach lobstr ({type(exc).__name__})") from None
        self._observe(path, response.status_code, started)
        self.limiter.observe(response.headers.get("X-RateLimit-Remaining"),
                             response.headers.get("X-RateLimit-Reset"), key=endpoint_family(path))
        if response.status_code >= 400:
            raise self._error_for(response, endpoint_family(path))
        try:
            body = response.json()
        except ValueError:
            raise LobstrBadResponse("lobstr answered with a body that is not JSON",
                                    status=response.status_code) from None
        if validate is None:
            content = response.content
            if self._token and self._token.encode() in content:
                content = content.replace(self._token.encode(), REDACTED.encode())
            return RawResponse(response.status_code, content,
                               response.headers.get("Content-Type", "application/json"))
        return validate(body)

    def _error_for(self, response: requests.Response, family: str = "") -> LobstrError:
        """Map an error status and body to the matching LobstrError."""
        status = response.status_code
        # The token out first: a message is shown, logged and stored, maybe cut to a length.
        text = self.redact(response.text or "").strip()
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = None
        message = error_message(body, text[:200] if text and body is None and "<" not in text
                                else f"HTTP {status} {response.reason or ''}".strip())
        if status in (401, 403):
            return LobstrAuthError(message, status=status)
        if status == 404:
            return LobstrNotFound(message, status=status)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                self.limiter.pause(min(retry_after, self.max_retry_after), key=family)
            return LobstrRateLimited(message, status=status, retry_after=retry_after)
        if status >= 500:
            return LobstrUnavailable(message, status=status)
        if status == 400:
            return LobstrBadRequest(message, status=status)
        return LobstrError(message, status=status)

    def redact(self, text: str) -> str:
        """`text` without the server's token (a broken upstream may echo the header back)."""
        return text.replace(self._token, REDACTED) if self._token else text

    def _is_retryable(self, exc: LobstrError) -> bool:
        if isinstance(exc, LobstrRateLimited):
            return exc.retry_after is None or exc.retry_after <= self.max_retry_after
        if isinstance(exc, LobstrUnavailable):
            return exc.status is None or exc.status in RETRYABLE_STATUSES
        return isinstance(exc, LobstrBadResponse)

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

