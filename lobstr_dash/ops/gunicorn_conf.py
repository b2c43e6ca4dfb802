"""gunicorn settings for the dashboard (`make run`, the image, `lobstr-dash serve`); each number says why."""

import os
import shutil
import tempfile

# 0.0.0.0 inside a container; `make run` sets BIND=127.0.0.1:8000 so a laptop does not expose it.
bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")

# Two processes use both cores of a small host (the work is rendering and SQLite reads, which hold
# the GIL). They share the SQLite store, and a run is loaded once across them through it. Each
# process has its own upstream rate limiter, so more workers also means more requests a minute
# toward lobstr when several runs load at once; lobstr's 429s are obeyed, but keep this small.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# Threads rather than more processes: most of a request's time is idle waiting (a page may wait
# LOAD_WAIT_SECONDS for a load, the status poll of every open run page comes once a second, an
# export streams for a while). 8 threads × 2 workers = 16 requests at once: a team of about ten
# with a couple of tabs each, and memory stays at two processes' worth.
# The threads sit behind waitress (lobstr_dash/ops/waitress_worker.py): a connection holds a thread
# only while the app computes its answer, never while a slow client sends its request or reads the
# answer, so 64 stalled clients cost sockets and buffers, not the server (issue 10).
worker_class = "lobstr_dash.ops.waitress_worker.WaitressWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# The worker's loop checks in with the master about once a second whatever its threads do, so
# a slow export is never cut off: this only catches a wedged process, which the master then kills
# and replaces. 30 s is gunicorn's default and ample for start-up (create_app opens SQLite and
# builds the demo API in milliseconds).
timeout = 30
# On SIGTERM, requests in flight get this long to finish: an export may wait EXPORT_WAIT_SECONDS
# (30 s). `docker stop` sends SIGKILL after 10 s unless given `-t 35`.
graceful_timeout = 30
# Idle keep-alive connections are closed by waitress after 30 s (waitress_worker.ADJUSTMENTS),
# shorter than a proxy's usual 60 s idle timeout.
# The heartbeat file is touched every second; in memory it never waits on a slow disk.
if os.path.isdir("/dev/shm"):  # noqa: S108 (gunicorn makes a private file there)
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# The app logs one line per request itself (lobstr_dash/reqlog.py: duration including streaming,
# the signed-in user, never a query string, a password or the token), so gunicorn's access log is off.
accesslog = None
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
_level = loglevel.upper()
_format = {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s",
           "datefmt": "%Y-%m-%dT%H:%M:%S%z"}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"generic": _format},
    # One stream (stderr) keeps a worker's request lines and its warnings in order.
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "generic",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": _level, "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        "lobstr_dash": {"level": _level, "handlers": ["stderr"], "propagate": False},
    },
}

# /metrics adds up every worker: prometheus_client's multiprocess mode keeps each worker's values in
# files in this directory, which must be set before a worker imports prometheus_client (workers
# inherit it from this master process, which evaluates this file first).
# The marker survives a config reload (SIGHUP re-reads this file), so the same directory is kept.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="lobstr-dash-metrics-")
    os.environ["LOBSTR_DASH_OWN_METRICS_DIR"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]

# Imported here, after the variable is set and before any signal handler needs it: child_exit runs
# inside the master's SIGCHLD handler, where a first import can be interrupted by a second signal.
from prometheus_client import multiprocess  # noqa: E402


def on_starting(server):
    """Drop values a previous run left in a directory given by the environment."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    """A replaced worker's loads in flight no longer count; its counters still do."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this file created."""
    directory = os.environ.get("LOBSTR_DASH_OWN_METRICS_DIR")
    if directory and directory == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(directory, ignore_errors=True)
