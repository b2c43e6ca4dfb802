"""Create a password hash for AUTH_USERS: `python -m lobstr_dash.ops.hashpw [name]` (or `make password`).

Prints one `name:hash` line. The password is read without echo from a terminal, or from the first
line of standard input when piped (for scripts); it is never taken from the command line, where
`ps` and shell history would keep it.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from werkzeug.security import generate_password_hash

#: werkzeug's default (scrypt, N=2^15): about 0.1 s to check on a small server, which makes
#: guessing slow; the dashboard remembers verified credentials so pages stay fast.
METHOD = "scrypt"
MIN_LENGTH = 12


def read_password(name: str) -> str:
    """Ask twice on a terminal; read one line when piped."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("The two passwords differ; nothing was printed.")
    return first


def main(argv: list[str] | None = None) -> int:
    """Print `name:hash` for the given user name and a password read from the terminal or stdin."""
    parser = argparse.ArgumentParser(prog="lobstr-dash password",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", help="the user name (asked for when omitted)")
    args = parser.parse_args(argv)
    name = args.name
    if not name:
        if not sys.stdin.isatty():
            parser.error("give the user name as an argument when the password is piped")
        name = input("User name: ").strip()
    if not name or ":" in name or "," in name or any(c.isspace() for c in name):
        parser.error("a user name must be non-empty, without ':', ',' or spaces")
    password = read_password(name)
    if len(password) < MIN_LENGTH:
        print(f"Refused: use at least {MIN_LENGTH} characters.", file=sys.stderr)
        return 2
    print(f"{name}:{generate_password_hash(password, method=METHOD)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
