"""`python -m lobstr_dash …` is the `lobstr-dash` command (see cli.py)."""

from .cli import main

raise SystemExit(main())
