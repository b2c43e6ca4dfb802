"""Entry point of `python -m bench` (see bench/runner.py)."""

from bench.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
