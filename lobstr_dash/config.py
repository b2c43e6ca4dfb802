"""Configuration: defaults with the reason for each number, and loading from the environment.

Over 300 lines on purpose: every setting sits here once, with the reason for its default.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Where lobstr's API lives; the official CLI reads the same variable name.
DEFAULT_API_BASE = "https://api.lobstr.io/v1"

#: Token the app uses against its own built-in fake API in demo mode (never a real secret).
DEMO_TOKEN = "demo-token"  # noqa: S105 (public by design)

DEFAULTS: dict[str, Any] = {
    # No token means demo mode: the app talks to the built-in fake lobstr API.
    "LOBSTR_TOKEN": None,
    "LOBSTR_API_BASE": DEFAULT_API_BASE,
    # 3.05 s: just over a multiple of 3 s, the TCP retransmission window (requests' advice).
    "LOBSTR_CONNECT_TIMEOUT": 3.05,
    # A runtasks page of 100 rows comes back in well under a second; 20 s tolerates a slow upstream.
    "LOBSTR_READ_TIMEOUT": 20.0,
    # Attempts per upstream call: one plus three retries covers a blip without hammering lobstr.
    "LOBSTR_MAX_ATTEMPTS": 4,
    # Hard ceiling on the time one upstream call may take, retries and waits included.
    "LOBSTR_RETRY_BUDGET": 45.0,
    # First retry waits about this long, doubling up to 8 s: short enough to hide a blip.
    "LOBSTR_BACKOFF_BASE": 0.5,
    # lobstr's Retry-After is waited out exactly (it warns that early retries may get the address
    # blocked): no call to that endpoint family goes before it. One past this ceiling (15 min) is
    # taken for a fault (a broken proxy, a clock error) and fails loudly instead of freezing.
    "LOBSTR_MAX_RETRY_AFTER": 900.0,
    # Pages fetched at once per run; lobstr documents no concurrency limit, 4 is polite.
    "LOBSTR_CONCURRENCY": 4,
    # lobstr allows 90 requests a minute on /v1/runtasks (docs: rate-limiting).
    "LOBSTR_RATE_LIMIT": 90,
    "LOBSTR_RATE_WINDOW": 60.0,
    # lobstr allows 120 a minute on /v1/runs and /v1/squids (run context, browsing); each
    # endpoint family has its own window, so these never slow a run's pages.
    "LOBSTR_RATE_LIMIT_OTHER": 120,
    # lobstr serves at most 100 rows a page; fewer pages means fewer rate-limited requests.
    "LOBSTR_PAGE_SIZE": 100,
    # The largest answer read from lobstr: a page of 100 tasks is about 120 KB, so 8 MB leaves room
    # for long params while a lying upstream costs at most this much memory per request.
    "LOBSTR_MAX_PAGE_BYTES": 8 * 1024 * 1024,
    # The most pages read for one run (1,000,000 tasks); lobstr's counters may claim any number.
    "LOBSTR_MAX_PAGES": 10_000,
    # Upstream calls made while a visitor waits (pages, the pass-through, run info, lists), at once
    # per process: half of gunicorn's 8 threads, so a slow lobstr never holds every thread.
    "LOBSTR_REQUEST_SLOTS": 4,
    # Runs loading at once per process, and per visitor (signed-in user, else address): enough for
    # a team opening a few runs, too few for one client to spend lobstr's budget on random ids.
    "LOADS_MAX": 8,
    "LOADS_PER_CLIENT": 3,
    # After a failed load, visits wait this long before loading again, doubling per failure up to
    # ten times as long (5 min); an unknown run id waits 5 min. 0 turns the back-off off.
    "LOAD_RETRY_SECONDS": 30.0,
    # A page request waits this long for a load to finish before answering with a progress bar.
    "LOAD_WAIT_SECONDS": 1.5,
    # An export waits longer than a page: a download should hold every row when it can.
    "EXPORT_WAIT_SECONDS": 30.0,
    # A run with tasks still running is re-fetched at most this often while someone looks at it.
    "LIVE_REFRESH_SECONDS": 15.0,
    # A finished run is asked about again (one GET /v1/runs/{run}, never its pages) when opened this
    # long after the last check: lobstr can reopen a run (resurrect, retry). 0 checks every time.
    "FINISHED_RECHECK_SECONDS": 300.0,
    # A loader that has not written for this long is presumed dead; another may take the run over.
    "LOAD_LEASE_SECONDS": 60.0,
    # Rows per page of the task table: enough to scan, small enough to render in milliseconds.
    "TASKS_PER_PAGE": 100,
    "DATA_DIR": "data",
    # Unset: the store, leases, rate-limit windows, outbox and audit log live in SQLite files under
    # DATA_DIR (one machine). postgresql://user:pass@host/db: all of that is shared through
    # PostgreSQL, so several replicas serve one team with one cache and one rate budget.
    "DATABASE_URL": None,
    # Connections per process in the PostgreSQL pool: a page view holds one for milliseconds, a
    # load one per page write; 10 covers a worker's threads without crowding max_connections.
    "DATABASE_POOL_SIZE": 10,
    # Retention (store/retention.py). Unset keeps every run ever opened, as before: nothing is
    # thrown away unless a team says how much disk or how long. A 100,000-task run takes about
    # 250 MB of store, so e.g. 5000 MB holds some twenty such runs, plus any number of small ones.
    "STORE_MAX_MB": None,
    # Days a finished run stays after it was last opened. Unset keeps them; 365 is "a year".
    "STORE_KEEP_DAYS": None,
    # Demo mode only: simulated upstream latency, so progressive loading is visible.
    "DEMO_LATENCY_MS": 40,
    "PORT": 8000,
    # Access control is off by default (a laptop needs none) and one setting away for a team.
    # Users as "name:hash" entries separated by commas or newlines; hashes come from
    # `make password` (werkzeug's format holds ':' and '$' but never ',' or whitespace).
    "AUTH_USERS": "",
    # The same entries from a file, one per line: suits container secrets, and spares the '$'
    # escaping that compose files and shells want.
    "AUTH_USERS_FILE": None,
    # A header that an authenticating proxy sets to the signed-in user (e.g. X-Forwarded-User).
    # Never trusted unless named: any client can send any header to an app reachable directly.
    "AUTH_PROXY_HEADER": None,
    # Prometheus scrapes without credentials by default; this leaves /metrics open while auth is on.
    "METRICS_PUBLIC": False,
    # Serve under a sub-path of a shared host (e.g. /lobstr) when the proxy forwards the full path.
    "URL_PREFIX": "",
    # How many proxies in front to trust for X-Forwarded-For and -Proto. 0 trusts none: without a
    # proxy that overwrites them, a client could forge its address.
    "PROXY_FIX": 0,
    # X-Forwarded-Host/-Port and -Prefix end up in every link and redirect: trusted only when the
    # proxy is known to overwrite them (as the README's nginx snippet does).
    "PROXY_TRUST_HOST": False,
    "PROXY_TRUST_PREFIX": False,
    # Wrong passwords from one address, or for one user name, before sign-in attempts are refused
    # (429) for a while that doubles with each further failure; other users are not slowed.
    "AUTH_MAX_FAILURES": 10,
    # Actions that change runs in lobstr (resurrect an aborted run, retry one task) are off: they
    # cost credits. On, they need sign-in (so the audit log names who) unless the next is set too.
    "LOBSTR_ACTIONS": False,
    "LOBSTR_ACTIONS_WITHOUT_SIGNIN": False,
    # Signs the session cookie that carries the actions' CSRF token (only set when actions are on).
    # Unset: a key made once and kept in DATA_DIR, so every worker process and restart shares it.
    "SECRET_KEY": None,
    # The app sets a cookie only for actions (their CSRF token); scripts and other sites never see it.
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Send that cookie over HTTPS only: set it when the dashboard is served over HTTPS.
    "SESSION_COOKIE_SECURE": False,
    # -- alerts (issue 13): each part is off until its setting is given --------------------------
    # The path secret of the webhook receiver POST /hooks/lobstr/<secret>; unset, the route does
    # not exist. lobstr signs nothing, so the unguessable URL is the only proof of the sender.
    "LOBSTR_WEBHOOK_SECRET": None,
    # The dashboard's address as the team opens it (https://dash.example.com/lobstr): alert
    # messages link to runs through it. Unset, messages carry paths only.
    "PUBLIC_URL": None,
    # Squids to poll for finished runs when lobstr cannot reach the dashboard: ids, or "all".
    "WATCH_SQUIDS": "",
    # 5 minutes: a short run is reported within minutes, and one poll of a squid costs one
    # /v1/runs call, a small share of lobstr's 120 a minute even for a few dozen squids.
    "WATCH_INTERVAL_SECONDS": 300.0,
    # A TOML file that overrides the alert rules' defaults, globally or per squid.
    "ALERT_RULES_FILE": None,
    # Apprise URLs (slack://…, mailto://…, json://…) separated by commas or newlines.
    "ALERT_URLS": "",
    # The same, one per line, from a file: Apprise URLs hold tokens and passwords.
    "ALERT_URLS_FILE": None,
}


def flag(raw: str) -> bool:
    """Parse an on/off environment value: 1/true/yes/on or 0/false/no/off."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)

#: Environment variables read, with the config key each one sets and how to parse it.
ENV_VARS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "LOBSTR_TOKEN": ("LOBSTR_TOKEN", str),
    "LOBSTR_API_KEY": ("LOBSTR_TOKEN", str),
    "LOBSTR_API_BASE": ("LOBSTR_API_BASE", str),
    "LOBSTR_CONNECT_TIMEOUT": ("LOBSTR_CONNECT_TIMEOUT", float),
    "LOBSTR_READ_TIMEOUT": ("LOBSTR_READ_TIMEOUT", float),
    "LOBSTR_MAX_ATTEMPTS": ("LOBSTR_MAX_ATTEMPTS", int),
    "LOBSTR_RETRY_BUDGET": ("LOBSTR_RETRY_BUDGET", float),
    "LOBSTR_MAX_RETRY_AFTER": ("LOBSTR_MAX_RETRY_AFTER", float),
    "LOBSTR_BACKOFF_BASE": ("LOBSTR_BACKOFF_BASE", float),
    "LOBSTR_CONCURRENCY": ("LOBSTR_CONCURRENCY", int),
    "LOBSTR_RATE_LIMIT": ("LOBSTR_RATE_LIMIT", int),
    "LOBSTR_RATE_LIMIT_OTHER": ("LOBSTR_RATE_LIMIT_OTHER", int),
    "LOBSTR_RATE_WINDOW": ("LOBSTR_RATE_WINDOW", float),
    "LOAD_LEASE_SECONDS": ("LOAD_LEASE_SECONDS", float),
    "LOAD_WAIT_SECONDS": ("LOAD_WAIT_SECONDS", float),
    "LIVE_REFRESH_SECONDS": ("LIVE_REFRESH_SECONDS", float),
    "EXPORT_WAIT_SECONDS": ("EXPORT_WAIT_SECONDS", float),
    "FINISHED_RECHECK_SECONDS": ("FINISHED_RECHECK_SECONDS", float),
    "DATA_DIR": ("DATA_DIR", str),
    "DATABASE_URL": ("DATABASE_URL", str),
    "DATABASE_POOL_SIZE": ("DATABASE_POOL_SIZE", int),
    "STORE_MAX_MB": ("STORE_MAX_MB", float),
    "STORE_KEEP_DAYS": ("STORE_KEEP_DAYS", float),
    "DEMO_LATENCY_MS": ("DEMO_LATENCY_MS", int),
    "PORT": ("PORT", int),
    "AUTH_USERS": ("AUTH_USERS", str),
    "AUTH_USERS_FILE": ("AUTH_USERS_FILE", str),
    "AUTH_PROXY_HEADER": ("AUTH_PROXY_HEADER", str),
    "METRICS_PUBLIC": ("METRICS_PUBLIC", flag),
    "URL_PREFIX": ("URL_PREFIX", str),
    "PROXY_FIX": ("PROXY_FIX", int),
    "PROXY_TRUST_HOST": ("PROXY_TRUST_HOST", flag),
    "PROXY_TRUST_PREFIX": ("PROXY_TRUST_PREFIX", flag),
    "LOBSTR_MAX_PAGE_BYTES": ("LOBSTR_MAX_PAGE_BYTES", int),
    "LOBSTR_MAX_PAGES": ("LOBSTR_MAX_PAGES", int),
    "LOBSTR_REQUEST_SLOTS": ("LOBSTR_REQUEST_SLOTS", int),
    "LOADS_MAX": ("LOADS_MAX", int),
    "LOADS_PER_CLIENT": ("LOADS_PER_CLIENT", int),
    "LOAD_RETRY_SECONDS": ("LOAD_RETRY_SECONDS", float),
    "AUTH_MAX_FAILURES": ("AUTH_MAX_FAILURES", int),
    "LOBSTR_ACTIONS": ("LOBSTR_ACTIONS", flag),
    "LOBSTR_ACTIONS_WITHOUT_SIGNIN": ("LOBSTR_ACTIONS_WITHOUT_SIGNIN", flag),
    "SECRET_KEY": ("SECRET_KEY", str),
    "SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", flag),
    "LOBSTR_WEBHOOK_SECRET": ("LOBSTR_WEBHOOK_SECRET", str),
    "PUBLIC_URL": ("PUBLIC_URL", str),
    "WATCH_SQUIDS": ("WATCH_SQUIDS", str),
    "WATCH_INTERVAL_SECONDS": ("WATCH_INTERVAL_SECONDS", float),
    "ALERT_RULES_FILE": ("ALERT_RULES_FILE", str),
    "ALERT_URLS": ("ALERT_URLS", str),
    "ALERT_URLS_FILE": ("ALERT_URLS_FILE", str),
}


def _finite(value: Any) -> bool:
    """True for a real, finite number (NaN and infinity make timeouts meaningless)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class ConfigError(ValueError):
    """A configuration value from the environment could not be used."""


def from_environ(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the config keys set by environment variables, parsed to their types."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    # LOBSTR_TOKEN wins over its alias LOBSTR_API_KEY: read the alias first.
    for name in sorted(ENV_VARS, key=lambda n: n != "LOBSTR_API_KEY"):
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        key, kind = ENV_VARS[name]
        try:
            found[key] = kind(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    return found


def build_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, the environment and explicit overrides (tests), in that order."""
    config = dict(DEFAULTS)
    config.update(from_environ())
    if overrides:
        config.update(overrides)
    config["LOBSTR_API_BASE"] = str(config["LOBSTR_API_BASE"]).rstrip("/")
    config["DATA_DIR"] = str(Path(config["DATA_DIR"]).resolve())
    config["DEMO_MODE"] = not config.get("LOBSTR_TOKEN")
    config["URL_PREFIX"] = normalize_prefix(config.get("URL_PREFIX") or "")
    validate(config)
    validate_alerts(config)
    return config


def validate(config: Mapping[str, Any]) -> None:
    """Refuse numbers that would make the app hang or hammer the upstream."""
    positive = ["LOBSTR_CONNECT_TIMEOUT", "LOBSTR_READ_TIMEOUT", "LOBSTR_RETRY_BUDGET",
                "LOBSTR_CONCURRENCY", "LOBSTR_MAX_ATTEMPTS", "LOBSTR_RATE_WINDOW",
                "LOBSTR_MAX_PAGE_BYTES", "LOBSTR_MAX_PAGES", "LOBSTR_REQUEST_SLOTS", "LOADS_MAX",
                "LOADS_PER_CLIENT", "AUTH_MAX_FAILURES", "LOAD_LEASE_SECONDS"]
    for key in positive:
        if not _finite(config[key]) or config[key] <= 0:
            raise ConfigError(f"{key} must be a positive number, got {config[key]!r}")
    not_negative = ["LOBSTR_BACKOFF_BASE", "LOBSTR_MAX_RETRY_AFTER", "LOAD_WAIT_SECONDS",
                    "EXPORT_WAIT_SECONDS", "LIVE_REFRESH_SECONDS", "LOAD_RETRY_SECONDS",
                    "FINISHED_RECHECK_SECONDS"]
    for key in not_negative:
        if not _finite(config[key]) or config[key] < 0:
            raise ConfigError(f"{key} must be zero or a positive number, got {config[key]!r}")
    for key in ("STORE_MAX_MB", "STORE_KEEP_DAYS"):
        value = config.get(key)
        if value is not None and (not _finite(value) or value <= 0):
            raise ConfigError(f"{key} must be a positive number, or unset to keep every run,"
                              f" got {value!r}")
    if not 1 <= int(config["LOBSTR_PAGE_SIZE"]) <= 100:
        raise ConfigError("LOBSTR_PAGE_SIZE must be between 1 and 100 (lobstr's maximum)")
    if int(config["LOBSTR_RATE_LIMIT"]) < 0:
        raise ConfigError("LOBSTR_RATE_LIMIT must be 0 (off) or a positive number per minute")
    url = config.get("DATABASE_URL")
    if url and not re.match(r"postgres(ql)?://", str(url)):
        # Never echo the value: it may hold a password.
        raise ConfigError("DATABASE_URL must be a postgresql:// address (unset: SQLite under DATA_DIR)")
    if int(config.get("DATABASE_POOL_SIZE") or 0) < 1:
        raise ConfigError("DATABASE_POOL_SIZE must be a positive number")
    if int(config["PROXY_FIX"]) < 0:
        raise ConfigError("PROXY_FIX must be 0 (off) or the number of proxies in front")
    header = config.get("AUTH_PROXY_HEADER")
    if header is not None and not _HEADER_NAME.fullmatch(str(header)):
        raise ConfigError(f"AUTH_PROXY_HEADER must be a header name, got {header!r}")
    signin = config.get("AUTH_USERS") or config.get("AUTH_USERS_FILE") or header
    if config.get("LOBSTR_ACTIONS") and not signin and not config.get("LOBSTR_ACTIONS_WITHOUT_SIGNIN"):
        raise ConfigError("LOBSTR_ACTIONS=1 lets the dashboard change runs in lobstr (and spend "
                          "credits): turn sign-in on (AUTH_USERS, AUTH_USERS_FILE or "
                          "AUTH_PROXY_HEADER), or set LOBSTR_ACTIONS_WITHOUT_SIGNIN=1 to allow "
                          "anyone who reaches it")


_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*")


def normalize_prefix(prefix: str) -> str:
    """'lobstr/' or '/lobstr' → '/lobstr'; '' and '/' → '' (served at the root)."""
    value = "/" + prefix.strip().strip("/")
    if value == "/":
        return ""
    if not _PREFIX.fullmatch(value):
        raise ConfigError(f"URL_PREFIX must be a path such as /lobstr, got {prefix!r}")
    return value


#: A webhook secret is a path segment: URL-safe characters only, and long enough not to guess.
_SECRET = re.compile(r"[A-Za-z0-9._~-]{16,200}")
_SQUID = re.compile(r"[0-9A-Za-z_-]{1,64}")
#: Polling more often than this gains nothing (lobstr runs last minutes) and spends the budget.
MIN_WATCH_INTERVAL = 30.0


def watch_squids(value: str) -> list[str] | None:
    """WATCH_SQUIDS as a list of squid ids; None for `all`; [] when unset."""
    value = (value or "").strip()
    if value.lower() == "all":
        return None
    ids = [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
    for squid in ids:
        if not _SQUID.fullmatch(squid):
            raise ConfigError(f"WATCH_SQUIDS: {squid[:80]!r} is not a squid id (or use all)")
    return list(dict.fromkeys(ids))


def validate_alerts(config: dict[str, Any]) -> None:
    """Check the alert settings; normalise PUBLIC_URL (no trailing slash)."""
    secret = config.get("LOBSTR_WEBHOOK_SECRET")
    if secret is not None and not _SECRET.fullmatch(str(secret)):
        # Never echo the value: it is a secret.
        raise ConfigError("LOBSTR_WEBHOOK_SECRET must be 16 to 200 characters of letters, digits, "
                          "'-', '_', '.' or '~' (python -c 'import secrets; "
                          "print(secrets.token_urlsafe(24))' makes one)")
    public = config.get("PUBLIC_URL")
    if public:
        public = str(public).strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", public):
            raise ConfigError(f"PUBLIC_URL must be an http(s) address such as "
                              f"https://dash.example.com, got {public[:100]!r}")
        config["PUBLIC_URL"] = public
    else:
        config["PUBLIC_URL"] = None
    interval = config["WATCH_INTERVAL_SECONDS"]
    if not _finite(interval) or interval < MIN_WATCH_INTERVAL:
        raise ConfigError(f"WATCH_INTERVAL_SECONDS must be at least {MIN_WATCH_INTERVAL:.0f}, "
                          f"got {interval!r}")
    watch_squids(str(config.get("WATCH_SQUIDS") or ""))
