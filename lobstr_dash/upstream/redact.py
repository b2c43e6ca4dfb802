"""Find the server's token in what lobstr (or a proxy before it) echoes back, however it is written.

An upstream may repeat the request's `Authorization` header in an error page or a JSON body: as
is, upper-cased, percent-encoded (once or twice), as JSON `\\u` escapes, as HTML character
references, or inside a base64 blob. Each character of the token is matched in any of those
spellings, so a mix of them is caught too.
"""

from __future__ import annotations

import base64
import re

#: What replaces the token wherever an upstream answer repeats it.
REDACTED = "[redacted]"


def _spellings(char: str) -> list[str]:
    """Regular expressions for one character written plainly or escaped."""
    options = [re.escape(char)]
    code = ord(char)
    if code < 0x80:
        options += [f"%{code:02x}", f"%25{code:02x}", f"\\\\u{code:04x}", f"&#0*{code};",
                    f"&#x0*{code:x};"]
        if char == " ":
            options.append(r"\+")
    return options


def _base64_cores(text: str) -> list[str]:
    """The parts of the base64 (standard and URL-safe) of `text` that are the same wherever it
    sits in a longer encoded string: one per alignment, without the edge characters."""
    cores = []
    raw = text.encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode().rstrip("=")
        core = encoded[4 if shift else 0: -4]
        if len(core) >= 8:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


class Redactor:
    """Replaces every spelling of one secret in text or bytes."""

    def __init__(self, secret: str | None) -> None:
        self.secret = secret or ""
        if not self.secret:
            self._pattern = None
            return
        plain = "".join("(?:" + "|".join(_spellings(c)) + ")" for c in self.secret)
        encoded = [re.escape(core) for core in _base64_cores(self.secret)]
        # Case-insensitive for the plain spellings only: base64 is case-sensitive.
        alternatives = [f"(?i:{plain})", *encoded]
        self._pattern = re.compile("|".join(alternatives))

    def text(self, value: str) -> str:
        """`value` with every spelling of the secret replaced by REDACTED."""
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(REDACTED, value)

    def bytes(self, value: bytes) -> bytes:
        """The same for bytes (any encoding that keeps ASCII as ASCII)."""
        if self._pattern is None or not value:
            return value
        text = value.decode("utf-8", errors="surrogateescape")
        cleaned = self.text(text)
        return value if cleaned == text else cleaned.encode("utf-8", errors="surrogateescape")
