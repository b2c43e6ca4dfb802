"""Notification channels through Apprise: ALERT_URLS read once, one message sent per channel.

An Apprise URL holds the channel's credentials (a Slack token, a mail password), so it lives only
in this process's memory: the store and the pages know a channel by a hash of its URL and by the
URL with its secrets masked (Apprise's privacy form).

`console://` is a channel of our own (an Apprise custom plugin): it prints each message to the
server's terminal, which is how demo mode shows an alert without any outside service.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apprise
from apprise.decorators import notify as apprise_plugin

#: How long one message may take on one channel (Apprise's own timeouts are per request).
SEND_TIMEOUT_SECONDS = 30.0
#: Longest error text kept from a failed send.
MAX_ERROR = 300
_NEXT_URL = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")
_SEVERITY_TYPE = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING,
                  "info": apprise.NotifyType.INFO}


@apprise_plugin(on="console", name="Terminal (lobstr-dash)", body_format=apprise.NotifyFormat.TEXT)
def _console(body: str, title: str, *args: Any, **kwargs: Any) -> bool:
    """Print a message to the server's standard error (the terminal gunicorn runs in)."""
    rule = "─" * 72
    print(f"{rule}\n{title}\n\n{body.rstrip()}\n{rule}", file=sys.stderr, flush=True)
    return True


class ChannelError(ValueError):
    """An ALERT_URLS entry that Apprise cannot use."""


@dataclass(frozen=True)
class Channel:
    """One notification channel: a stable key, a label safe to show, and (privately) its URL."""

    key: str
    label: str
    url: str = field(repr=False)
    formats: tuple[str, ...] = ()

    def body_format(self) -> str:
        """Markdown when the channel renders it (or HTML, which Apprise converts to), else text."""
        if {apprise.NotifyFormat.MARKDOWN, apprise.NotifyFormat.HTML} & set(self.formats):
            return apprise.NotifyFormat.MARKDOWN
        return apprise.NotifyFormat.TEXT


@dataclass(frozen=True)
class SendResult:
    """How one send went: ok, the channel's error when not, and how long it took."""

    ok: bool
    error: str | None
    seconds: float


def split_urls(text: str) -> list[str]:
    """Apprise URLs separated by newlines or by commas before the next `scheme://`.

    A comma inside a URL stays (Apprise's `mailto://…?to=a@x.com,b@y.com`); `#` starts a
    comment line.
    """
    urls = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        urls.extend(part.strip() for part in _NEXT_URL.split(line) if part.strip())
    return urls


def read_urls(inline: str, path: str | None) -> list[str]:
    """The URLs of ALERT_URLS and of the file ALERT_URLS_FILE names, in that order, each once."""
    urls = split_urls(inline or "")
    if path:
        try:
            urls += split_urls(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ChannelError(f"ALERT_URLS_FILE {path!r} cannot be read: {exc.strerror}") from None
    return list(dict.fromkeys(urls))


def _asset() -> apprise.AppriseAsset:
    # Apprise may keep state on disk for some services; the dashboard wants none of that.
    return apprise.AppriseAsset(storage_mode="memory")


def _formats(plugin: Any) -> tuple[str, ...]:
    value = getattr(plugin, "notify_format", ())
    return tuple(value) if isinstance(value, tuple | list | set | frozenset) else (value,)


def channel_key(url: str) -> str:
    """A stable key of a URL that reveals nothing of it."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def build_channel(url: str, position: int) -> Channel:
    """Check one URL with Apprise; ChannelError names its position and scheme, never the URL."""
    instance = apprise.Apprise.instantiate(url, asset=_asset())
    if not instance:
        scheme = url.split("://", 1)[0][:20] if "://" in url else "?"
        raise ChannelError(f"ALERT_URLS entry {position} ({scheme}://…) is not an Apprise URL "
                           "Apprise can use (see https://github.com/caronc/apprise/wiki)")
    # The privacy form masks passwords and tokens; its query string is Apprise's own defaults.
    label = str(instance.url(privacy=True)).split("?", 1)[0][:200]
    return Channel(channel_key(url), label, url, _formats(instance))


class Channels:
    """The configured channels; sends one message to one channel and says how it went."""

    def __init__(self, urls: Iterable[str]) -> None:
        self.channels = [build_channel(url, index) for index, url in enumerate(urls, start=1)]
        self._by_key = {c.key: c for c in self.channels}

    def __bool__(self) -> bool:
        return bool(self.channels)

    def __repr__(self) -> str:
        return f"Channels({[c.label for c in self.channels]!r})"

    def find(self, key: str) -> Channel | None:
        """The channel with this key, or None (it was removed from the settings)."""
        return self._by_key.get(key)

    def keys(self) -> list[tuple[str, str]]:
        """(key, label) of every channel, for the outbox."""
        return [(c.key, c.label) for c in self.channels]

    def send(self, channel: Channel, title: str, text: str, markdown: str,
             severity: str = "warning") -> SendResult:
        """Send one message; never raises (a broken channel is an error result)."""
        started = time.monotonic()
        # A fresh Apprise object per send: they are cheap, and senders run on several threads.
        sender = apprise.Apprise(asset=_asset())
        sender.add(channel.url)
        body_format = channel.body_format()
        body = markdown if body_format == apprise.NotifyFormat.MARKDOWN else text
        try:
            result = sender.notify(body=body, title=title, body_format=body_format,
                                   notify_type=_SEVERITY_TYPE.get(severity, apprise.NotifyType.INFO),
                                   timeout=SEND_TIMEOUT_SECONDS)
        except Exception as exc:  # a plugin bug must not stop the outbox
            return SendResult(False, self._clean(channel, f"{type(exc).__name__}: {exc}"),
                              time.monotonic() - started)
        if result:
            return SendResult(True, None, time.monotonic() - started)
        messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
        error = messages[-1] if messages else "the channel refused the message"
        return SendResult(False, self._clean(channel, error), time.monotonic() - started)

    @staticmethod
    def _clean(channel: Channel, text: str) -> str:
        """An error text without the channel's URL (it holds its credentials), cut to a length."""
        text = " ".join(text.replace(channel.url, channel.label).split())
        return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
