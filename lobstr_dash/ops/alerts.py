"""Builds the alerts machinery from the settings: rules, channels, handlers, workers.

Off (None) unless one of its settings is given: LOBSTR_WEBHOOK_SECRET (webhooks in),
WATCH_SQUIDS (polling), or ALERT_URLS / ALERT_URLS_FILE (channels out). A rules file or a
channel URL that cannot be used stops the start with a ConfigError naming what is wrong.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask

from ..config import ConfigError
from ..config import watch_squids
from ..domain.rules import RuleSet
from ..domain.rules import RulesError
from ..domain.rules import parse_rules
from ..domain.rulecheck import RunFacts
from ..loading.alerting import Alerting
from ..loading.history import History
from ..loading.hooks import HookHandler
from ..loading.lists import Lists
from ..loading.notify import ChannelError
from ..loading.notify import Channels
from ..loading.notify import read_urls
from ..loading.outbox import Deliverer
from ..loading.owners import new_owner
from ..loading.runs import RunService
from ..loading.watch import Watcher
from ..render import alerts as messages
from ..store import Store
from ..upstream.client import LobstrClient
from ..upstream.delivery import set_webhook
from ..upstream.transport import WSGIAdapter
from ..web import hooks
from ..web.querystring import is_run_id

#: The channel demo mode sends to when none is configured: the server's terminal.
DEMO_CHANNEL = "console://"
#: Where the demo fake POSTs its webhooks: a host that never resolves, answered in-process.
DEMO_DASHBOARD = "http://lobstr-dash-demo.invalid"
#: How often the demo fake looks for runs that changed status.
DEMO_TICK_SECONDS = 2.0


def enabled(config: dict[str, Any]) -> bool:
    """True when a setting asks for any part of alerting."""
    return bool(config.get("LOBSTR_WEBHOOK_SECRET") or str(config.get("WATCH_SQUIDS") or "").strip()
                or str(config.get("ALERT_URLS") or "").strip() or config.get("ALERT_URLS_FILE"))


def load_rules(path: str | None) -> RuleSet:
    """The rules: the defaults, changed by the TOML file when one is named."""
    if not path:
        return RuleSet()
    try:
        with Path(path).open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"ALERT_RULES_FILE {path!r} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"ALERT_RULES_FILE {path!r} is not valid TOML: {exc}") from None
    try:
        return parse_rules(document)
    except RulesError as exc:
        raise ConfigError(f"ALERT_RULES_FILE {path!r}: {exc}") from None


def load_channels(config: dict[str, Any]) -> Channels:
    """The channels of ALERT_URLS and ALERT_URLS_FILE (the terminal in demo mode when none)."""
    try:
        urls = read_urls(str(config.get("ALERT_URLS") or ""), config.get("ALERT_URLS_FILE"))
        if not urls and config.get("DEMO_MODE"):
            urls = [DEMO_CHANNEL]
        return Channels(urls)
    except ChannelError as exc:
        raise ConfigError(str(exc)) from None


def build_alerting(config: dict[str, Any], client: LobstrClient, store: Store, runs: RunService,
                   lists: Lists) -> Alerting | None:
    """The alerts machinery of this process, or None when no setting asks for it."""
    if not enabled(config):
        return None
    rules = load_rules(config.get("ALERT_RULES_FILE"))
    channels = load_channels(config)
    clock = config.get("CLOCK") or time.time
    owner = new_owner()
    public_url = config.get("PUBLIC_URL")

    def compose(facts: RunFacts, fired: Sequence[tuple[str, str, str]]) -> messages.Message:
        return messages.render(facts, [messages.Finding(*f) for f in fired], public_url)

    history = History(lists, store, client, is_run_id)
    hooks = HookHandler(client, store, runs, lists, history, rules, channels, owner=owner,
                        clock=clock)
    deliverer = Deliverer(store, channels, compose, owner=owner, clock=clock)
    squids = watch_squids(str(config.get("WATCH_SQUIDS") or ""))
    watcher = None
    if squids is None or squids:
        watcher = Watcher(lists, store, lambda *event: alerting.accept(*event), squids,
                          interval=float(config["WATCH_INTERVAL_SECONDS"]), owner=owner,
                          is_run=is_run_id, clock=clock)
    alerting = Alerting(store, channels, hooks, deliverer, watcher,
                        lambda: messages.sample(public_url), rules=rules, clock=clock)
    if config.get("ALERT_WORKERS", True):
        alerting.start()
    return alerting


def exempt_from_csrf(app: Flask) -> None:
    """Keep an app-wide CSRFProtect (Flask-WTF) off the webhook: lobstr's POST has no token."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(hooks.bp)


def connect_demo_webhooks(app: Flask, services: Any) -> None:
    """Demo mode with a webhook secret: the built-in fake calls this app's webhook in-process.

    The fake's webhook session answers from this very app (no port needed), its delivery is
    configured through `POST /v1/delivery` as `lobstr-dash webhook set` would, and it ticks every
    couple of seconds: when a demo run finishes, its event goes through the real route.
    """
    secret = app.config.get("LOBSTR_WEBHOOK_SECRET")
    if services.demo_fake is None or not secret:
        return
    emitter = services.demo_fake.extensions["fake"].webhooks
    emitter.session.mount(f"{DEMO_DASHBOARD}/", WSGIAdapter(app))
    url = f"{DEMO_DASHBOARD}{app.config.get('URL_PREFIX') or ''}{hooks.PREFIX}{secret}"
    for squid in services.demo_webhook_squids:
        set_webhook(services.client, squid, url)
    emitter.start(DEMO_TICK_SECONDS)
