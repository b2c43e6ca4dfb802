"""Fault-injection rules that make chosen fake endpoints misbehave."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

ANY_ENDPOINT = "*"
ENDPOINTS = ("runtasks", "runs", "run", "stats", "squids", "squid", "resurrect", "retry",
             ANY_ENDPOINT)
STATUSES = (400, 401, 403, 404, 429, 500, 502, 503)
#: `reset` drops the connection before any byte of the answer; `cut` sends the headers (with the
#: full Content-Length) and half the body, then drops it. Both only over a real socket.
BODIES = ("garbage", "truncated", "wrong_shape", "bare_list", "empty_page", "duplicate_rows",
          "overlap_rows", "reset", "cut")


@dataclass
class FaultRule:
    """Misbehave on requests to `endpoint` (optionally one run/page), `times` times or forever."""

    endpoint: str = "runtasks"
    run: str | None = None
    page: int | None = None
    times: int | None = None
    status: int | None = None
    retry_after: int | None = None
    delay_ms: int = 0
    body: str | None = None
    #: A JSON body to answer with instead of the documented one (with `status`, default 200).
    payload: Any = None
    #: Extra response headers (e.g. Retry-After, X-RateLimit-*), with `status` or `payload`.
    headers: dict[str, str] | None = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; expected one of {ENDPOINTS}")
        if self.payload is not None:
            if self.status is not None and not 200 <= self.status <= 599:
                raise ValueError(f"unsupported status {self.status} for a payload")
        elif self.status is not None and self.status not in STATUSES:
            raise ValueError(f"unsupported status {self.status}; expected one of {STATUSES}")
        if self.body is not None and self.body not in BODIES:
            raise ValueError(f"unknown body {self.body!r}; expected one of {BODIES}")

    def matches(self, endpoint: str, run: str | None, page: int | None) -> bool:
        """True if this rule applies to the request and has uses left."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.endpoint not in (ANY_ENDPOINT, endpoint):
            return False
        if self.run is not None and self.run != run:
            return False
        return self.page is None or self.page == page


def parse_fault(spec: str) -> FaultRule:
    """Parse "runtasks:page=3:status=500:times=2" into a rule."""
    endpoint, *pairs = spec.split(":")
    values: dict[str, Any] = {"endpoint": endpoint.strip() or "runtasks"}
    known = {f.name for f in fields(FaultRule)} - {"endpoint", "hits", "payload", "headers"}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise ValueError(f"bad fault option {pair!r} in {spec!r}")
        values[key] = raw if key in ("run", "body") else int(raw)
    return FaultRule(**values)


def as_rule(rule: FaultRule | str | dict[str, Any]) -> FaultRule:
    """Accept a rule, a CLI-style spec string or a dict of FaultRule fields."""
    if isinstance(rule, FaultRule):
        return rule
    if isinstance(rule, str):
        return parse_fault(rule)
    return FaultRule(**rule)


class FaultSet:
    """Thread-safe, mutable list of rules; the first matching rule with uses left wins."""

    def __init__(self, rules: Iterable[FaultRule | str | dict[str, Any]] = ()) -> None:
        self._lock = threading.Lock()
        self._rules = [as_rule(r) for r in rules]

    def append(self, rule: FaultRule | str | dict[str, Any]) -> FaultRule:
        """Add a rule at runtime and return it."""
        parsed = as_rule(rule)
        with self._lock:
            self._rules.append(parsed)
        return parsed

    add = append

    def extend(self, rules: Iterable[FaultRule | str | dict[str, Any]]) -> None:
        """Add several rules."""
        for rule in rules:
            self.append(rule)

    def remove(self, rule: FaultRule) -> None:
        """Drop one rule."""
        with self._lock:
            self._rules.remove(rule)

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._rules.clear()

    def take(self, endpoint: str, run: str | None, page: int | None) -> FaultRule | None:
        """Consume one use of the first rule matching this request, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(endpoint, run, page):
                    rule.hits += 1
                    return rule
        return None

    def __iter__(self) -> Iterator[FaultRule]:
        with self._lock:
            return iter(list(self._rules))

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)
