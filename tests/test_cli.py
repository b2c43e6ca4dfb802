"""The first run: `lobstr-dash serve` (make run) says the mode and the address to open, how to add
htmx when it is missing, and on a busy port which command to use instead."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from lobstr_dash import cli


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_mode_says_what_to_open_and_how_to_add_htmx(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.delenv("LOBSTR_TOKEN", raising=False)
    monkeypatch.delenv("LOBSTR_API_KEY", raising=False)
    monkeypatch.delenv("URL_PREFIX", raising=False)
    port = free_port()
    out = io.StringIO()
    cli.announce("127.0.0.1", port, static_dir=tmp_path, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"lobstr-dash: demo mode — open http://127.0.0.1:{port}/")
    assert len(lines) == 2 and "htmx not found" in lines[1] and "make static/htmx.min.js" in lines[1]
    (tmp_path / "htmx.min.js").write_text("//")
    out = io.StringIO()
    cli.announce("0.0.0.0", port, static_dir=tmp_path, out=out)  # noqa: S104 (a wildcard host)
    assert out.getvalue().splitlines() == [
        f"lobstr-dash: demo mode — open http://127.0.0.1:{port}/ (built-in fake lobstr; set "
        "LOBSTR_TOKEN to read your runs)"]


def test_token_mode_names_the_api_never_the_token(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("LOBSTR_TOKEN", "secret-token-value")
    monkeypatch.setenv("URL_PREFIX", "/lobstr")
    (tmp_path / "htmx.min.js").write_text("//")
    out = io.StringIO()
    port = free_port()
    cli.announce("127.0.0.1", port, static_dir=tmp_path, out=out)
    text = out.getvalue()
    assert f"open http://127.0.0.1:{port}/lobstr/" in text and "api.lobstr.io" in text
    assert "secret-token-value" not in text and "demo mode" not in text


def test_a_busy_port_stops_with_the_command_to_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOBSTR_TOKEN", raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = io.StringIO()
        with pytest.raises(SystemExit) as stopped:
            cli.announce("127.0.0.1", port, out=out)
    assert stopped.value.code == 1
    text = out.getvalue()
    assert f"port {port} on 127.0.0.1 is already in use" in text
    suggested = int(text.split("make run PORT=")[1].split()[0])
    assert suggested > port and cli.port_is_free("127.0.0.1", suggested)


def test_a_bad_setting_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOBSTR_CONCURRENCY", "0")
    out = io.StringIO()
    with pytest.raises(SystemExit) as stopped:
        cli.announce("127.0.0.1", free_port(), out=out)
    assert stopped.value.code == 2
    assert out.getvalue().startswith("lobstr-dash: LOBSTR_CONCURRENCY must be a positive number")
