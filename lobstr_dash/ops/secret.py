"""The key that signs the session cookie (the CSRF token of actions and of the alert test button):
SECRET_KEY, or one made once and kept in DATA_DIR."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

FILE_NAME = "secret_key"


def secret_key(configured: str | None, data_dir: str | Path) -> str:
    """The configured key, else the one kept in `data_dir` (made on first use, mode 0600).

    Every worker process and every restart reads the same file, so a token signed by one worker
    is accepted by another.
    """
    if configured:
        return configured
    path = Path(data_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written in full to a file of its own, then linked into place: the key file either does
        # not exist or holds a whole key, and link() refuses to replace one another process made.
        draft = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


def ensure_secret_key(app: Flask) -> None:
    """Give the app a secret key unless it has one (SECRET_KEY, else the one in DATA_DIR)."""
    if not app.secret_key:
        app.secret_key = secret_key(app.config.get("SECRET_KEY"), app.config["DATA_DIR"])
