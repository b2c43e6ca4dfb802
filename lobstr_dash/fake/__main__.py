"""Command line: serve the fake lobstr API on a local port."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from werkzeug.serving import make_server

from lobstr_dash.fake.app import create_fake_app
from lobstr_dash.fake.config import DEFAULT_TOKEN, FakeConfig
from lobstr_dash.fake.data import DEMO_RUNS
from lobstr_dash.fake.faults import parse_fault


def _extra_run(text: str) -> tuple[str, int]:
    run_id, sep, count = text.partition("=")
    if not sep or not run_id or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected RUNID=N, got {text!r}")
    return run_id, int(count)


def _fault(text: str) -> str:
    try:
        parse_fault(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    """Arguments of `python -m lobstr_dash.fake`."""
    parser = argparse.ArgumentParser(prog="python -m lobstr_dash.fake",
                                     description="Serve a fake lobstr.io API for demos and tests.")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--allow-remote", action="store_true",
                        help="permit a non-loopback --host (the fake has no real security)")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--jitter-ms", type=int, default=0)
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per window; 0 = off")
    parser.add_argument("--rate-window", type=float, default=60.0, help="window in seconds")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--token", action="append", dest="tokens", metavar="T",
                      help=f"accepted token (repeatable; default {DEFAULT_TOKEN})")
    auth.add_argument("--any-token", action="store_true", help="accept any non-empty token")
    parser.add_argument("--run", action="append", type=_extra_run, default=[], metavar="RUNID=N",
                        help="add a synthetic run with N tasks (repeatable)")
    parser.add_argument("--fault", action="append", type=_fault, default=[], metavar="SPEC",
                        help='e.g. "runtasks:page=3:status=500:times=2" (repeatable)')
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, print the base URL and demo runs, serve until interrupted."""
    args = build_parser().parse_args(argv)
    if not _is_loopback(args.host) and not args.allow_remote:
        print(f"refusing to bind {args.host}: pass --allow-remote to leave loopback",
              file=sys.stderr)
        return 2
    tokens = None if args.any_token else set(args.tokens or [DEFAULT_TOKEN])
    config = FakeConfig(tokens=tokens, latency_ms=args.latency_ms,
                        latency_jitter_ms=args.jitter_ms, rate_limit_per_minute=args.rate_limit,
                        rate_limit_window_seconds=args.rate_window,
                        faults=list(args.fault), seed=args.seed, extra_runs=dict(args.run))
    server = make_server(args.host, args.port, create_fake_app(config), threaded=True)
    print(f"fake lobstr API: http://{args.host}:{server.server_port}/v1")
    print(f"request counts:  http://{args.host}:{server.server_port}/_fake/stats")
    print("token: " + ("any" if tokens is None else ", ".join(sorted(tokens))))
    for demo in DEMO_RUNS:
        print(f"  {demo.run_id}  {demo.task_count:>6} tasks  {demo.title}")
    for run_id, count in args.run:
        print(f"  {run_id}  {count:>6} tasks  (synthetic)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
