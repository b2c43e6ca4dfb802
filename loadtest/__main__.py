"""`python -m loadtest`: sustained load on a warm run page and its CSV export (see __init__)."""

from loadtest.run import main

raise SystemExit(main())
