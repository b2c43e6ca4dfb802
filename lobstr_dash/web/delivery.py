"""How answers travel: compressed (brotli or gzip), and static files under content-hashed names.

Pages, exports, JSON and SVG shrink 5-10x with gzip (a run page from ~220 KB to ~30 KB). Static
files are linked as `/static/<hash>/app.css`: the path changes whenever the content does, so
browsers may keep them for a year without asking again (`Cache-Control: immutable`), and a second
visit makes no request for them. The file keeps its own name at the end of the path. The plain
paths (`/static/app.css`) still answer, revalidated as before.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask import Response
from flask import abort
from flask import send_from_directory
from flask_compress import Compress

#: Hex digits of the content hash in a static file's name.
HASH_LENGTH = 10
#: A year: the longest browsers keep anything; the name changes when the content does.
IMMUTABLE = "public, max-age=31536000, immutable"
_HASHED = re.compile(rf"^(?P<digest>[0-9a-f]{{{HASH_LENGTH}}})/(?P<name>[^/]+)$")

#: What is worth compressing: text of every kind the dashboard sends.
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "text/csv", "text/javascript",
                    "application/javascript", "application/json", "image/svg+xml"]


class StaticFiles:
    """The static folder's files by content-hashed name (recomputed when a file changes)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).resolve()
        self._digests: dict[str, tuple[tuple[int, int], str]] = {}

    def digest(self, name: str) -> str | None:
        """The content hash of a static file, or None when there is no such file."""
        path = (self.folder / name).resolve()
        if self.folder not in path.parents or not path.is_file():
            return None
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        known = self._digests.get(name)
        if known is None or known[0] != key:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]
            known = (key, digest)
            self._digests[name] = known
        return known[1]

    def hashed_name(self, name: str) -> str:
        """`app.css` → `3f2a9c1b0e/app.css` (the name itself for a file that is not there)."""
        digest = self.digest(name)
        return name if digest is None else f"{digest}/{name}"

    def serve(self, filename: str) -> Response:
        """A static file: kept for a year under its current hashed name, revalidated otherwise."""
        match = _HASHED.match(filename)
        if match is not None:
            name = match["name"]
            current = self.digest(name)
            if current == match["digest"]:
                response = send_from_directory(self.folder, name, max_age=31536000)
                response.headers["Cache-Control"] = IMMUTABLE
                return response
            if current is not None:  # a page from before the file changed: never keep this
                return send_from_directory(self.folder, name, max_age=0)
        if self.digest(filename) is None:
            abort(404)
        return send_from_directory(self.folder, filename, max_age=0)


def register_delivery(app: Flask) -> None:
    """Compress answers, and link and serve static files by content-hashed names."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip", "deflate"])
    # Exports stream row by row: compress them as they go, gzip included (the library's default
    # leaves gzip out of streams, and gzip is what a browser on plain http asks for).
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip", "deflate"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    Compress(app)
    if app.static_folder is None:
        return
    files = StaticFiles(app.static_folder)

    def hashed_static(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = files.hashed_name(values["filename"])

    app.url_defaults(hashed_static)
    app.view_functions["static"] = files.serve
    app.extensions["lobstr_dash_static"] = files
