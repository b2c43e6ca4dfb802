"""The key that signs the session cookie (the CSRF token of the alerts page's test button).

From SECRET_KEY when set; otherwise a random key kept in DATA_DIR/secret_key, made once with
O_EXCL so every gunicorn worker and every restart reads the same one.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from flask import Flask

FILE_NAME = "secret_key"


def stored_key(data_dir: str | Path) -> str:
    """The key kept in DATA_DIR, made on first use (readable by this user only)."""
    path = Path(data_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
    for _ in range(50):  # another worker may have made the file and not written it yet
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} stays empty: remove it and start again")


def ensure_secret_key(app: Flask) -> None:
    """Give the app a secret key unless it has one (SECRET_KEY, else the one in DATA_DIR)."""
    if app.secret_key:
        return
    app.secret_key = app.config.get("SECRET_KEY") or stored_key(app.config["DATA_DIR"])
