"""Run, run-stats and squid objects derived from a run's runtask rows."""

from __future__ import annotations

from typing import Any

from lobstr_dash.fake import scenarios
from lobstr_dash.fake.catalog import RunCatalog
from lobstr_dash.fake.data import RunInfo, SquidInfo, stable_id
from lobstr_dash.fake.timefmt import STYLE_NAIVE, format_duration, format_naive_micro, format_ts

EXPORT_SECONDS = 3.2
# Run-level (status, done_reason, done_reason_desc) once a scenario's run is over.
_FINAL_STATE = {
    scenarios.ABORTED: ("aborted", "aborted", None),
    scenarios.MIXED: ("error", "no_credits_left",
                      "You have no credits left. Top up your balance to resume."),
    scenarios.LIVE_SHORT: ("error", "no_credits_left",
                           "You have no credits left. Top up your balance to resume."),
}
_TERMINAL = ("done", "aborted", "error")


def _state(catalog: RunCatalog, info: RunInfo) -> dict[str, Any]:
    totals = catalog.totals(info.run_id)
    finished = totals.done >= totals.tasks
    now = catalog.clock()
    ended = None
    if finished:
        ended = (totals.ended or info.base + 1.0) + EXPORT_SECONDS
    duration = (ended if ended is not None else max(now, info.base)) - info.base
    status, reason, desc = _FINAL_STATE.get(info.scenario, ("done", "tasks_done", None))
    if catalog.reopened(info.run_id):
        # Relaunched by a resurrect or a retry: it ends like any run whose tasks all completed.
        status, reason, desc = "done", "tasks_done", None
    if not finished:
        status, reason, desc = ("running" if totals.started else "pending"), None, None
    override = catalog.status_of(info.run_id)
    if override is not None:  # a run whose status a test (or demo) set by hand
        status, reason, desc = override
        finished = status in _TERMINAL
        ended = ((totals.ended or info.base + 1.0) + EXPORT_SECONDS) if finished else None
        duration = (ended if ended is not None else max(now, info.base)) - info.base
    return {"totals": totals, "finished": finished, "ended": ended, "duration": duration,
            "status": status, "done_reason": reason, "done_reason_desc": desc}


def run_object(catalog: RunCatalog, info: RunInfo, *, duration_as_float: bool = False,
               legacy: bool = False) -> dict[str, Any]:
    """A `GET /v1/runs` row (`duration_as_float`), or the `GET /v1/runs/{id}` object: as the
    current docs show it (float duration, no `is_done`, `mail_*`), or as the older ones did."""
    row = _run_fields(catalog, info, duration_as_float=duration_as_float or not legacy)
    if legacy or duration_as_float:
        return row
    row.pop("is_done")
    return {("mail" + key[len("email"):] if key in ("email_done", "email_time") else key): value
            for key, value in row.items()}


def _run_fields(catalog: RunCatalog, info: RunInfo, *, duration_as_float: bool) -> dict[str, Any]:
    state = _state(catalog, info)
    totals = state["totals"]
    duration = state["duration"]
    ended = state["ended"]
    return {
        "id": info.run_id,
        "object": "run",
        "squid": info.squid_id,
        "is_done": state["finished"],
        "started_at": format_ts(info.base),
        "ended_at": format_ts(ended),
        "created_at": format_naive_micro(info.base - 1.8473),
        "total_results": totals.collected,
        "total_unique_results": totals.collected - totals.collected // 97,
        "next_launch_at": None,
        "duration": round(duration, 4) if duration_as_float else format_duration(duration),
        "credit_used": round(duration, 4),
        "origin": "user",
        "force_launch": False,
        "status": state["status"],
        "export_done": state["finished"],
        "export_count": 1 if state["finished"] else 0,
        "export_time": format_ts(ended),
        "email_done": None,
        "email_time": None,
        "done_reason": state["done_reason"],
        "done_reason_desc": state["done_reason_desc"],
        "email_verification": None,
    }


def run_stats(catalog: RunCatalog, info: RunInfo) -> dict[str, Any]:
    """`GET /v1/runs/{id}/stats` object (no status field, like the real one)."""
    state = _state(catalog, info)
    totals = state["totals"]
    done, tasks = totals.done, totals.tasks
    percent = 100 if tasks == 0 else int(done * 100 / tasks)
    if state["finished"]:
        eta = "0:00:00"
    elif done == 0:
        eta = "∞"
    else:
        eta = format_duration(round(state["duration"] * (tasks - done) / done))
    current = ""
    if totals.current_index is not None:
        current = catalog.row(info.run_id, totals.current_index)["task"]
    return {
        "id": info.run_id,
        "object": "run",
        "duration": format_duration(state["duration"]),
        "started_at": format_ts(info.base, STYLE_NAIVE),
        "ended_at": format_ts(state["ended"], STYLE_NAIVE),
        "is_done": state["finished"],
        "percent_done": f"{percent}%",
        "eta": eta,
        "total_tasks": tasks,
        "total_tasks_done": done,
        "total_tasks_left": tasks - done,
        "total_results": totals.collected,
        "results_total": totals.expected,
        "results_done": totals.collected,
        "current_task": current,
        "updated_at": format_ts(state["ended"] or catalog.clock(), STYLE_NAIVE),
        "total_requests": None,
    }


def squid_object(catalog: RunCatalog, squid: SquidInfo, *, detail: bool = False,
                 legacy: bool = False) -> dict[str, Any]:
    """A `GET /v1/squids` row, or the `GET /v1/squids/{id}` object when `detail`."""
    runs = catalog.runs_of(squid.squid_id)
    last = _run_fields(catalog, runs[0], duration_as_float=True) if runs else None
    obj: dict[str, Any] = {
        "id": squid.squid_id,
        "name": squid.name,
        "created_at": format_naive_micro(squid.created_at),
        "is_active": True,
        "is_ready": bool(runs),
        "crawler": stable_id("crawler", squid.crawler_name),
        "crawler_name": squid.crawler_name,
        "icon": None,
        "is_public": False,
        "concurrency": squid.concurrency,
        "params": {"max_results": None, "functions": {}},
        "to_complete": False,
        "export_unique_results": True,
        "no_line_breaks": False,
        "last_run_status": last["status"].upper() if last else None,
        "last_run_at": last["started_at"] if last else None,
        "total_runs": len(runs),
        "next_launch_at": None,
        "google_sheet_fields": None,
        "ftp_fields": None,
        "s3_fields": None,
        "webhook_fields": None,
        "schedule": None,
        "schedule_time": None,
        "download_url": None,
    }
    if not legacy:
        obj.update({"created_via": "dashboard", "deactivation_reason": None})
    if detail:
        obj.update({
            "message": None,
            "last_run": last["id"] if last else None,
            "last_run_done_reason": last["done_reason"] if last else None,
            "last_run_is_done": last["is_done"] if last else None,
            "export_runs": None,
            "slack_fields": None,
            "email": None,
            "notifications": False,
            "notifications_params": {"run_notify": None},
            "accounts": [],
        })
    return obj


def run_status(catalog: RunCatalog, info: RunInfo) -> str:
    """A run's status now (pending, running, done, aborted, error)."""
    return str(_state(catalog, info)["status"])
