"""The `lobstr-dash` command: serve the dashboard, make a password hash, check a running server.

    lobstr-dash serve [--host H] [--port P]   the dashboard under gunicorn, as `make run` starts it
    lobstr-dash password NAME                 a `name:hash` line for AUTH_USERS
    lobstr-dash healthcheck                   exit 0 when this container's /healthz answers
    lobstr-dash webhook set --squid ID --url URL
                                              point a squid's lobstr webhook at this dashboard

Every setting comes from the environment, as in the README (LOBSTR_TOKEN, DATA_DIR, …).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

#: gunicorn reads its settings from this module (the same file `make run` and the image use).
GUNICORN_CONFIG = "python:lobstr_dash.ops.gunicorn_conf"
#: The app, built by its factory in each worker.
APP_SPEC = "lobstr_dash:create_app()"


def serve_command(host: str, port: int) -> list[str]:
    """The gunicorn command line `serve` runs."""
    return [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG, "--bind", f"{host}:{port}",
            APP_SPEC]


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (a probe bind, as the server will do it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server does: a port whose last connections are still closing is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def next_free_port(host: str, port: int, tries: int = 20) -> int:
    """The first free port after `port` (the one to suggest), or port + 1 when none is found."""
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        if port_is_free(host, candidate):
            return candidate
    return port + 1


def browser_url(host: str, port: int, prefix: str) -> str:
    """The address to open: a wildcard host is reached through the loopback one."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}  # noqa: S104 (a name)
    shown = wildcard.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}{prefix}/"


def announce(host: str, port: int, *, static_dir: Path | None = None,
             out: TextIO | None = None) -> None:
    """Before serving: stop on a busy port with the command to use instead, else say the mode,
    the address to open and, without htmx, how to add it. Exits on a port in use or bad setting."""
    from .config import ConfigError
    from .config import build_config
    from .factory import _asset_dir

    out = out or sys.stdout
    if not port_is_free(host, port):
        spare = next_free_port(host, port)
        print(f"lobstr-dash: port {port} on {host} is already in use (another server is "
              f"listening there). Use another port: make run PORT={spare} "
              f"(or lobstr-dash serve --port {spare}).", file=out, flush=True)
        raise SystemExit(1)
    try:
        config = build_config()
    except ConfigError as exc:
        print(f"lobstr-dash: {exc}", file=out, flush=True)
        raise SystemExit(2) from None
    url = browser_url(host, port, config["URL_PREFIX"])
    if config["DEMO_MODE"]:
        print(f"lobstr-dash: demo mode — open {url} (built-in fake lobstr; set LOBSTR_TOKEN "
              "to read your runs)", file=out, flush=True)
    else:
        print(f"lobstr-dash: reading your runs from {config['LOBSTR_API_BASE']} with "
              f"LOBSTR_TOKEN — open {url}", file=out, flush=True)
    static = static_dir if static_dir is not None else _asset_dir("static")
    if not (static / "htmx.min.js").is_file():
        print("lobstr-dash: htmx not found, so pages work by full reloads. To filter and page "
              "in place, fetch it with npm: make static/htmx.min.js", file=out, flush=True)


def run_server(host: str, port: int) -> None:
    """Replace this process with the server (gunicorn, with the package's settings)."""
    command = serve_command(host, port)
    os.execv(command[0], command)  # noqa: S606 (our own interpreter, fixed arguments)


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(prog="lobstr-dash", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the dashboard (demo data unless LOBSTR_TOKEN)")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"),
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    password = commands.add_parser("password", help="print a name:hash line for AUTH_USERS")
    password.add_argument("name", nargs="?")
    commands.add_parser("healthcheck", help="exit 0 when this server's /healthz answers")
    webhook = commands.add_parser("webhook", help="lobstr's webhook delivery for a squid")
    actions = webhook.add_subparsers(dest="action", required=True)
    setter = actions.add_parser(
        "set", help="POST /v1/delivery?squid=: run.done and run.error to URL, retries on")
    setter.add_argument("--squid", required=True, help="the squid's id (hash)")
    setter.add_argument("--url", help="where lobstr POSTs (default: PUBLIC_URL/hooks/lobstr/"
                                      "LOBSTR_WEBHOOK_SECRET)")
    setter.add_argument("--events", default="run.done,run.error",
                        help="comma-separated events to turn on (default run.done,run.error)")
    setter.add_argument("--no-retry", action="store_true",
                        help="ask lobstr not to retry a failed delivery")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        announce(args.host, args.port)
        run_server(args.host, args.port)
        return 0
    if args.command == "password":
        from .ops import hashpw

        return hashpw.main([args.name] if args.name else [])
    if args.command == "webhook":
        from .ops import webhookcli

        return webhookcli.set_webhook_command(args.squid, args.url, args.events,
                                              retry=not args.no_retry)
    from .ops import healthcheck

    return healthcheck.main()


if __name__ == "__main__":
    raise SystemExit(main())
