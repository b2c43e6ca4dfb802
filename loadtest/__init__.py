"""Sustained load on the dashboard as the image runs it (`make loadtest`; not part of `make test`).

`python -m loadtest` starts the fake lobstr API and gunicorn with `gunicorn.conf.py` on loopback
ports, warms a run, then drives 50 concurrent clients for 30 s at the run page and at its CSV
export with a load tool (wrk or hey), and appends requests, errors and latency percentiles to
bench/RESULTS.md. `servers.py` also serves the crash-safety tests.
"""
