"""Defensive readers of lobstr's JSON values: anything unreadable becomes None, never an error. Pure.

lobstr is inconsistent across endpoints: `duration` is float seconds in run lists and abort answers
but "H:MM:SS.ffffff" text in the run and its stats; some timestamps lack the `Z`; counts may be
strings, floats or missing.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any


def parse_timestamp(value: Any) -> float | None:
    """Parse lobstr's ISO timestamps (with or without `Z`, with or without fractions) to epoch seconds."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        # lobstr omits the zone on some endpoints; its timestamps are UTC.
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


#: The largest count believed: far above any real run (lobstr's largest have millions of results),
#: and a million tasks of it still sum below SQLite's 64-bit integers (9.2e18).
MAX_COUNT = 10**12


def _whole(value: Any) -> int | None:
    """A non-negative whole number of any size, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value) if value >= 0 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 40:
            return int(text)
    return None


def as_count(value: Any) -> int | None:
    """Return a non-negative whole count (at most MAX_COUNT), or None when lobstr gave nothing usable."""
    count = _whole(value)
    return None if count is None else min(count, MAX_COUNT)


def is_implausible(value: Any) -> bool:
    """True for a count past MAX_COUNT: kept clamped, and shown as implausible."""
    count = _whole(value)
    return count is not None and count > MAX_COUNT


def as_text(value: Any, limit: int = 2000) -> str | None:
    """Return a short string for a text field, or None when it is absent or empty."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.strip()
    return text[:limit] if text else None


_TIMEDELTA = re.compile(
    r"^(?:(?P<days>\d+) days?, )?(?P<hours>\d+):(?P<minutes>[0-5]?\d):(?P<seconds>[0-5]?\d(?:\.\d+)?)$")


def parse_duration(value: Any) -> float | None:
    """Seconds from lobstr's float seconds, a numeric string, or timedelta text ("1 day, 0:00:50.1833")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _TIMEDELTA.match(text)
    if match:
        parts = match.groupdict()
        return (int(parts["days"] or 0) * 86400 + int(parts["hours"]) * 3600
                + int(parts["minutes"]) * 60 + float(parts["seconds"]))
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def as_number(value: Any) -> float | None:
    """A finite number (credits), from a number or numeric text; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def as_percent(value: Any) -> float | None:
    """"87%" or 87 → 87.0; None when unreadable."""
    if isinstance(value, str):
        value = value.strip().rstrip("%").strip()
    return as_number(value)


def as_flag(value: Any) -> bool | None:
    """A JSON boolean, or None when absent or not a boolean."""
    return value if isinstance(value, bool) else None
