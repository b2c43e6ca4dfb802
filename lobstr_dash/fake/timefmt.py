"""Timestamp and duration text in the formats the lobstr API uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Row timestamp styles seen across lobstr endpoints: "Z" suffix, fractional "Z", no zone at all.
STYLE_Z = "z"
STYLE_FRACTION = "fraction"
STYLE_NAIVE = "naive"


def format_ts(epoch: float | None, style: str = STYLE_Z) -> str | None:
    """Format epoch seconds as an ISO-8601 UTC string in one of the API's styles."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    if style == STYLE_FRACTION:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == STYLE_NAIVE:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_naive_micro(epoch: float | None) -> str | None:
    """Format epoch seconds like run `created_at`: microseconds and no zone."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def format_duration(seconds: float) -> str:
    """Format seconds as Python timedelta text, e.g. "0:00:50.183300"."""
    return str(timedelta(seconds=round(max(seconds, 0.0), 6)))


def parse_utc(text: str) -> float:
    """Parse a "YYYY-MM-DDTHH:MM:SSZ" literal into epoch seconds."""
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return moment.timestamp()
