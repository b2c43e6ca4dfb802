"""Reading an upstream answer within bounds: bytes streamed up to a ceiling, JSON of a sane shape.

Nothing lobstr sends is trusted for size: a body is read chunk by chunk and dropped past
`max_bytes` (compressed answers are inflated chunk by chunk under the same ceiling); before it is
parsed, its JSON is counted (objects, arrays, values) so a small body cannot become millions of
Python objects; after, it must not nest deeper than the dashboard ever reads.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import requests
import urllib3

from .deadline import Deadline
from .errors import LobstrBadResponse
from .errors import LobstrUnavailable

#: Bytes read from the socket at a time.
CHUNK = 64 * 1024
#: At most this many objects and arrays in one answer (a page of 100 tasks holds a few hundred).
MAX_CONTAINERS = 20_000
#: At most this many values (counted by `,` and `:`): a page of 100 tasks has about 5,000.
MAX_VALUES = 250_000
#: Deepest nesting read: lobstr's envelopes and params nest a handful of levels.
MAX_DEPTH = 64


class BodyTooLarge(LobstrBadResponse):
    """The answer was larger than the dashboard reads."""

    retryable = False


class BodyTooComplex(LobstrBadResponse):
    """The answer's JSON held more values, or nested deeper, than the dashboard reads."""

    retryable = False


def _raw_chunks(response: requests.Response) -> Iterator[bytes]:
    raw = response.raw
    if hasattr(raw, "stream"):
        yield from raw.stream(CHUNK, decode_content=False)
        return
    while chunk := raw.read(CHUNK):  # an in-process transport's BytesIO
        yield chunk


def _decoder(response: requests.Response) -> Any:
    encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, told apart
    raise LobstrBadResponse(f"lobstr answered in an encoding the dashboard does not read "
                            f"({encoding[:30]})", status=response.status_code)


def read_body(response: requests.Response, max_bytes: int, deadline: Deadline) -> bytes:
    """The body of `response`, read as it arrives; raises past `max_bytes` or the deadline."""
    status = response.status_code
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"lobstr's answer is {int(declared):,} bytes, over the "
                           f"{max_bytes:,}-byte ceiling a page may have", status=status)
    decoder = _decoder(response)
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in _raw_chunks(response):
            if decoder is not None:
                chunk = decoder.decompress(chunk, max_bytes - size + 1)
                if decoder.unconsumed_tail:
                    size = max_bytes + 1
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(f"lobstr's answer is over the {max_bytes:,}-byte ceiling a "
                                   "page may have", status=status)
            if deadline.passed:
                break
            parts.append(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, zlib.error,
            ValueError) as exc:
        if deadline.passed:
            raise _too_slow(deadline) from None
        if isinstance(exc, zlib.error):
            raise LobstrBadResponse("lobstr's compressed answer could not be read",
                                    status=status) from None
        raise LobstrUnavailable(f"lobstr's answer was cut off ({type(exc).__name__})") from None
    if deadline.passed:
        raise _too_slow(deadline)
    return b"".join(parts)


def _too_slow(deadline: Deadline) -> LobstrUnavailable:
    return LobstrUnavailable("lobstr's answer did not arrive within the time budget")


def parse_json(body: bytes, status: int | None = None) -> Any:
    """Parse a body as JSON within the counts above; raises LobstrBadResponse otherwise."""
    containers = body.count(b"{") + body.count(b"[")
    values = body.count(b",") + body.count(b":")
    if containers > MAX_CONTAINERS or values > MAX_VALUES:
        raise BodyTooComplex(f"lobstr's answer holds more JSON values than a page may have "
                             f"({containers:,} objects or lists, about {values:,} values)",
                             status=status)
    try:
        value = json.loads(body)
    except RecursionError:
        raise BodyTooComplex("lobstr's answer nests JSON too deeply to read",
                             status=status) from None
    except ValueError:
        raise LobstrBadResponse("lobstr answered with a body that is not JSON",
                                status=status) from None
    check_depth(value, status)
    return value


def check_depth(value: Any, status: int | None = None) -> None:
    """Raise BodyTooComplex when `value` nests deeper than MAX_DEPTH (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BodyTooComplex(f"lobstr's answer nests JSON more than {MAX_DEPTH} levels deep",
                                 status=status)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values()
                         if isinstance(child, dict | list))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
