"""lobstr's webhook delivery settings: `POST /v1/delivery?squid=` (docs: configure-webhook-delivery)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .client import LobstrClient

EVENTS = ("run.running", "run.paused", "run.done", "run.error")
#: What the dashboard acts on: a run that finished, normally or not.
DEFAULT_EVENTS = ("run.done", "run.error")


def webhook_fields(url: str, events: Iterable[str] = DEFAULT_EVENTS, *, retry: bool = True,
                   active: bool = True) -> dict[str, Any]:
    """The request body: every event named (lobstr requires all four), the chosen ones on."""
    chosen = set(events)
    unknown = chosen - set(EVENTS)
    if unknown:
        raise ValueError(f"unknown event(s): {', '.join(sorted(unknown))}; "
                         f"lobstr's are {', '.join(EVENTS)}")
    return {"webhook_fields": {"url": url, "is_active": active, "retry": retry,
                               "events": {name: name in chosen for name in EVENTS}}}


def set_webhook(client: LobstrClient, squid_id: str, url: str,
                events: Iterable[str] = DEFAULT_EVENTS, *, retry: bool = True) -> Any:
    """Point a squid's webhook at `url`; returns lobstr's answer (it echoes the settings)."""
    return client.post_json("delivery", {"squid": squid_id}, webhook_fields(url, events, retry=retry))
