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
import os
import sys
from collections.abc import Sequence

#: gunicorn reads its settings from this module (the same file `make run` and the image use).
GUNICORN_CONFIG = "python:lobstr_dash.ops.gunicorn_conf"
#: The app, built by its factory in each worker.
APP_SPEC = "lobstr_dash:create_app()"


def serve_command(host: str, port: int) -> list[str]:
    """The gunicorn command line `serve` runs."""
    return [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG, "--bind", f"{host}:{port}",
            APP_SPEC]


def announce(host: str, port: int) -> None:
    """Before serving: say what is about to run (nothing yet)."""


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
