"""Jinja filters: numbers, times, durations and shares as people read them."""

from __future__ import annotations

import json
from datetime import datetime, UTC
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from ..domain.values import parse_duration
from .inputs import wrap


def fmt_int(value: int | None) -> str:
    """1234567 → '1,234,567'; unknown → '—'."""
    return "—" if value is None else f"{value:,}"


def fmt_time(epoch: float | None) -> str:
    """Epoch seconds → '2025-02-10 14:30:58' (UTC)."""
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_clock(epoch: float | None, fmt: str = "%H:%M:%S") -> str:
    """Epoch seconds → the part of the time a table needs ('14:30:58'); unknown → '—'."""
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime(fmt)


def fmt_iso(epoch: float | None) -> str:
    """Epoch seconds → ISO 8601 for <time datetime=…>."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_duration(seconds: float | None) -> str:
    """Seconds → '12 s', '3 min 05 s', '2 h 04 min'."""
    if seconds is None:
        return "—"
    whole = int(round(seconds))
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def fmt_duration_text(value: Any) -> str:
    """lobstr's duration text ('0:21:50.5', float seconds) → '21 min 50 s'; unreadable text as is."""
    seconds = parse_duration(value)
    return fmt_duration(seconds) if seconds is not None else str(value or "—")


def param_text(value: Any) -> str:
    """One param value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def breakable(value: Any) -> Any:
    """Text (a URL, a param) that may wrap after its separators, never inside a number."""
    return wrap(param_text(value), cut=False)


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """Share 0..100 → '87.5%'."""
    return "—" if value is None else f"{value:.{digits}f}%"


def safe_url(value: Any) -> str | None:
    """Return the URL when it is http(s) and so safe to link; None for javascript: and the like."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def compact_params(params: dict[str, Any], skip: tuple[str, ...] = ("url",), limit: int = 160) -> str:
    """Render params other than the URL as 'key=value · key=value', shortened."""
    parts = []
    for key, value in params.items():
        if key in skip:
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={text}")
    joined = " · ".join(parts)
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def gap_level(share: float | None) -> int:
    """Bucket a missing share into 0..4 for the row highlight (CSS classes, no inline styles)."""
    if share is None or share <= 0:
        return 0
    if share < 0.25:
        return 1
    if share < 0.5:
        return 2
    if share < 0.9:
        return 3
    return 4


def register_filters(app: Flask) -> None:
    """Install the filters in the app's Jinja environment."""
    app.add_template_filter(fmt_int, "thousands")
    app.add_template_filter(fmt_time, "time")
    app.add_template_filter(fmt_iso, "iso")
    app.add_template_filter(fmt_duration, "duration")
    app.add_template_filter(fmt_duration_text, "duration_text")
    app.add_template_filter(fmt_clock, "clock")
    app.add_template_filter(param_text, "param_text")
    app.add_template_filter(breakable, "breakable")
    app.add_template_filter(fmt_pct, "pct")
    app.add_template_filter(safe_url, "safe_url")
    app.add_template_filter(compact_params, "compact_params")
    app.add_template_filter(gap_level, "gap_level")
