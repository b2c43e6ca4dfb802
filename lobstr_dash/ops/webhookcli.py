"""`lobstr-dash webhook set`: point a squid's lobstr webhook at this dashboard, print the answer."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..config import ConfigError
from ..config import build_config
from ..upstream.client import LobstrClient
from ..upstream.delivery import set_webhook
from ..upstream.errors import LobstrError
from ..web.hooks import PREFIX

#: What replaces the webhook secret in what the command prints (a terminal log is still a log).
MASK = "[secret]"


def hook_url(config: dict[str, Any]) -> str | None:
    """PUBLIC_URL/hooks/lobstr/<secret>, when both are set."""
    public, secret = config.get("PUBLIC_URL"), config.get("LOBSTR_WEBHOOK_SECRET")
    return f"{public}{PREFIX}{secret}" if public and secret else None


def set_webhook_command(squid: str, url: str | None, events: str, *, retry: bool = True,
                        config: dict[str, Any] | None = None) -> int:
    """Configure the squid's delivery; print lobstr's answer (secret masked); 0 when it took."""
    try:
        settings = config if config is not None else build_config()
    except ConfigError as exc:
        print(f"lobstr-dash: {exc}", file=sys.stderr)
        return 2
    if settings["DEMO_MODE"]:
        print("lobstr-dash: set LOBSTR_TOKEN: the webhook is configured on your lobstr account",
              file=sys.stderr)
        return 2
    target = url or hook_url(settings)
    if not target:
        print("lobstr-dash: give --url, or set PUBLIC_URL and LOBSTR_WEBHOOK_SECRET",
              file=sys.stderr)
        return 2
    if not target.startswith(("https://", "http://")):
        print("lobstr-dash: --url must be an http(s) address lobstr can reach", file=sys.stderr)
        return 2
    client = LobstrClient(settings["LOBSTR_API_BASE"], settings["LOBSTR_TOKEN"],
                          connect_timeout=float(settings["LOBSTR_CONNECT_TIMEOUT"]),
                          read_timeout=float(settings["LOBSTR_READ_TIMEOUT"]))
    try:
        answer = set_webhook(client, squid, target,
                             [e.strip() for e in events.split(",") if e.strip()], retry=retry)
    except ValueError as exc:
        print(f"lobstr-dash: {exc}", file=sys.stderr)
        return 2
    except LobstrError as exc:
        print(f"lobstr-dash: lobstr refused the webhook: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(answer, indent=2, ensure_ascii=False)
    secret = settings.get("LOBSTR_WEBHOOK_SECRET")
    print(text.replace(secret, MASK) if secret else text)
    if not target.startswith("https://"):
        print("note: lobstr will POST over plain http; the secret in the URL travels in clear",
              file=sys.stderr)
    return 0
