"""gunicorn settings for the dashboard (the image and `make run`)."""

import os

# 0.0.0.0 inside a container; `make run` sets BIND=127.0.0.1:8000 so a laptop does not expose it.
bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Two processes use both cores of a small host; they share the SQLite store, and loads are
# single-flight across them through it.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, not more processes: a page request may wait up to LOAD_WAIT_SECONDS on a load and
# exports stream for a while, both mostly idle I/O.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Longer than the slowest page (LOAD_WAIT_SECONDS) and a 100,000-row CSV export.
timeout = 120
graceful_timeout = 30
keepalive = 5
accesslog = "-"
# No query strings in the access log: they hold only filters, but keep logs lean and private.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
