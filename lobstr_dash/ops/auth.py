"""Access control: HTTP Basic auth against hashed passwords, or an authenticating proxy's header.

Off unless `AUTH_USERS`, `AUTH_USERS_FILE` or `AUTH_PROXY_HEADER` is set. When on, every request
needs a user except `/healthz` (container and load-balancer probes) and, with `METRICS_PUBLIC`,
`/metrics`. The check runs before routing, so an unknown URL answers 401 too and does not reveal
which routes exist.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask import g
from flask import request
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from ..config import ConfigError
from ..web.errors import render_error
from .reqlog import ENVIRON_USER
from .throttle import GuessThrottle

log = logging.getLogger(__name__)

#: Hash methods werkzeug's check_password_hash understands; anything else is refused at start-up.
HASH_METHODS = ("scrypt:", "pbkdf2:")
#: Paths that never need a user: the liveness probe must work for whoever runs the container.
ALWAYS_OPEN = frozenset({"/healthz"})
REALM = "lobstr-dash"


def parse_users(text: str, source: str = "AUTH_USERS") -> dict[str, str]:
    """Read "name:hash" entries separated by commas or newlines ('#' starts a comment line)."""
    users: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        for entry in line.split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, sep, hashed = entry.partition(":")
            if not sep or not name or not hashed:
                raise ConfigError(f"{source}: expected name:hash, got an entry without a hash "
                                  f"for {name or '(empty name)'!r}")
            if not hashed.startswith(HASH_METHODS):
                # Never echo the value: it may be a plain-text password pasted by mistake.
                raise ConfigError(f"{source}: the entry for {name!r} is not a password hash; "
                                  "create one with `make password` (python -m lobstr_dash.hashpw)")
            if name in users:
                raise ConfigError(f"{source}: user {name!r} appears twice")
            users[name] = hashed
    return users


def load_users(config: Mapping[str, Any]) -> dict[str, str]:
    """Users from AUTH_USERS and AUTH_USERS_FILE together."""
    users = parse_users(config.get("AUTH_USERS") or "")
    path = config.get("AUTH_USERS_FILE")
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"AUTH_USERS_FILE {path!r} cannot be read: {exc.strerror}") from None
        for name, hashed in parse_users(text, "AUTH_USERS_FILE").items():
            if name in users:
                raise ConfigError(f"user {name!r} is in both AUTH_USERS and AUTH_USERS_FILE")
            users[name] = hashed
    return users


class BasicAuth:
    """Check Basic credentials in constant time with respect to which user names exist."""

    #: Verified credentials are remembered this long, so the page's polls and static files do not
    #: each pay a deliberately slow hash; a wrong password is never remembered.
    CACHE_SECONDS = 300.0
    CACHE_SIZE = 256
    HASHING_AT_ONCE = 2

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        # Unknown names are checked against this, made with a real user's method and cost, so a
        # wrong name takes as long as a wrong password and timing does not reveal who exists.
        method = next(iter(self.users.values()), "scrypt").split("$", 1)[0]
        self._dummy = generate_password_hash(secrets.token_urlsafe(16), method=method)
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        self._hashing = threading.BoundedSemaphore(self.HASHING_AT_ONCE)

    def _digest(self, name: str, password: str) -> bytes:
        # Keyed with a per-process secret: the cache never holds anything that reveals a password.
        return hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def remembered(self, name: str, password: str) -> bool:
        """True when these credentials were verified a short while ago (no hash computed)."""
        digest = self._digest(name, password)
        with self._lock:
            seen = self._verified.get(digest)
        return seen is not None and time.monotonic() - seen < self.CACHE_SECONDS

    def check(self, name: str, password: str) -> bool:
        """True when `password` is `name`'s password."""
        if self.remembered(name, password):
            return True
        digest = self._digest(name, password)
        now = time.monotonic()
        known = name in self.users
        # At most HASHING_AT_ONCE hashes run together: each is ~100 ms of CPU by design.
        with self._hashing:
            ok = check_password_hash(self.users.get(name, self._dummy), password) and known
        if ok:
            with self._lock:
                self._verified[digest] = now
                self._verified.move_to_end(digest)
                while len(self._verified) > self.CACHE_SIZE:
                    self._verified.popitem(last=False)
        return ok


class AccessControl:
    """The before-request check: who is this, and may they see this URL."""

    def __init__(self, users: Mapping[str, str], proxy_header: str | None,
                 metrics_public: bool, throttle: GuessThrottle | None = None,
                 open_prefixes: tuple[str, ...] = ()) -> None:
        self.basic = BasicAuth(users) if users else None
        self.throttle = throttle or GuessThrottle()
        self.proxy_header = proxy_header
        self.open_paths = ALWAYS_OPEN | ({"/metrics"} if metrics_public else frozenset())
        #: Machine-to-machine paths that prove their caller themselves (the webhook's secret).
        self.open_prefixes = open_prefixes

    def __call__(self) -> Any:
        """Return None to let the request through, or the 401/403 response."""
        path = request.path
        if path in self.open_paths or any(path.startswith(p) for p in self.open_prefixes):
            return None
        if self.proxy_header:
            user = (request.headers.get(self.proxy_header) or "").strip()
            if user:
                self._signed_in(user)
                return None
        if self.basic is not None:
            auth = request.authorization
            if auth is not None and auth.type == "basic":
                name, password = auth.username or "", auth.password or ""
                if self.basic.remembered(name, password):
                    self._signed_in(name)
                    return None
                keys = (f"addr:{request.remote_addr}", f"name:{name[:256]}")
                wait = self.throttle.wait(*keys)
                if wait > 0:
                    log.warning("sign-in refused for user %r from %s: too many wrong passwords",
                                name[:64], request.remote_addr)
                    return render_error(429, "Too many sign-in attempts",
                                        "Too many wrong passwords from this address or for this "
                                        "user name. Wait a moment before trying again.",
                                        kind="auth_throttled",
                                        headers={"Retry-After": str(max(1, math.ceil(wait)))})
                if self.basic.check(name, password):
                    self.throttle.succeeded(*keys)
                    self._signed_in(name)
                    return None
                self.throttle.failed(*keys)
                log.warning("sign-in failed for user %r from %s on %s %s",
                            name[:64], request.remote_addr, request.method, request.path)
            return render_error(401, "Sign-in required",
                                "This dashboard is shared by a team: sign in with your user name "
                                "and password.", kind="auth_required",
                                headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})
        log.warning("request without the %s header from %s on %s %s", self.proxy_header,
                    request.remote_addr, request.method, request.path)
        return render_error(403, "Sign-in required",
                            "This dashboard is only reachable through its sign-in proxy.",
                            kind="auth_required")

    @staticmethod
    def _signed_in(user: str) -> None:
        g.user = user
        request.environ[ENVIRON_USER] = user


def register_auth(app: Flask) -> AccessControl | None:
    """Install access control when the config turns it on; return it (None when off)."""
    users = load_users(app.config)
    proxy_header = app.config.get("AUTH_PROXY_HEADER") or None
    if not users and not proxy_header:
        return None
    throttle = GuessThrottle(int(app.config.get("AUTH_MAX_FAILURES") or 10),
                             clock=app.config.get("CLOCK") or time.monotonic)
    # lobstr cannot sign in: its webhook proves itself with the path's secret instead.
    hooks = ("/hooks/lobstr/",) if app.config.get("LOBSTR_WEBHOOK_SECRET") else ()
    control = AccessControl(users, proxy_header, bool(app.config.get("METRICS_PUBLIC")), throttle,
                            hooks)
    # First of all before-request functions: nothing else runs for a stranger.
    app.before_request_funcs.setdefault(None, []).insert(0, control)
    return control
