"""The done_reason glossary: every documented run and task reason, in plain words, grouped. Pure Python.

Sources (see the team's lobstr-api notes, §3): lobstr's get-run page (G), its errors page's
"Run stop reasons" (E), the help-center page on run stop reasons (H), and the runtask / task pages
for task-level values (T). The three run lists disagree, so the glossary is their union. A reason
in none of them is never renamed or dropped: `explain()` returns it raw, marked undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- groups -------------------------------------------------------------------------------------

FINISHED = "finished"
USER = "user"
ACCOUNT = "account"
BILLING = "billing"
SITE = "site"
INPUT = "input"
RUNNING = "running"
UNKNOWN = "unknown"

#: Group key → label, in the order the glossary and the cards list them.
GROUPS: dict[str, str] = {
    FINISHED: "Finished normally",
    USER: "Stopped by the user",
    ACCOUNT: "Account problem",
    BILLING: "Credits and billing",
    SITE: "Site or platform problem",
    INPUT: "Input problem",
    RUNNING: "Still running",
    UNKNOWN: "Unknown",
}

#: What the groups mean for a shortfall: is it expected, and whose move is it.
GROUP_HINTS: dict[str, str] = {
    FINISHED: "Nothing went wrong. A gap here means lobstr's expected count was higher than "
              "what the site had.",
    USER: "Someone stopped the run or its squid. Results collected before that are kept.",
    ACCOUNT: "The platform account the squid scrapes with needs attention. Fix it, then resume "
             "or re-run the short tasks.",
    BILLING: "The lobstr account's credits, plan or invoices stopped the run.",
    SITE: "The target site or lobstr's platform failed. Usually temporary: retry later.",
    INPUT: "The task's input is one the crawler cannot use. Retrying it as it is fails the same "
           "way: fix or drop the input first.",
    RUNNING: "The run or task is not over yet; the numbers may still grow.",
    UNKNOWN: "lobstr does not document this value. It is shown exactly as lobstr sent it.",
}


@dataclass(frozen=True)
class Reason:
    """One done_reason: what it means, what to do, and where lobstr documents it."""

    code: str
    group: str
    meaning: str
    action: str
    #: "run", "task" or "run, task": where lobstr reports this value.
    scope: str = "run"
    #: Source keys (G, E, H, T, S); empty for an undocumented value.
    sources: tuple[str, ...] = ()

    @property
    def documented(self) -> bool:
        """True when some lobstr page lists this value."""
        return bool(self.sources)

    @property
    def group_label(self) -> str:
        """The group's human label."""
        return GROUPS[self.group]


SOURCES: dict[str, str] = {
    "G": "lobstr docs, Get run (done_reason table)",
    "E": "lobstr docs, Errors: run stop reasons",
    "H": "lobstr help center, run stop reasons",
    "T": "lobstr docs, Get run tasks / Get task (task-level values)",
    "S": "lobstr docs, Get squid details (example values of last_run_done_reason)",
    "C": "lobstr docs, changelog (task outcomes named in release notes, 2026)",
}

_RESYNC = "Re-sync the account in lobstr (log in again), then resume the run or re-run the short tasks."

_ENTRIES: tuple[Reason, ...] = (
    # Finished normally.
    Reason("tasks_done", FINISHED, "Every task was processed: the normal end of a run.",
           "Nothing to fix. If tasks are short anyway, compare with the site: the expected count "
           "may have been an estimate.", "run", ("G", "E", "H")),
    Reason("last_page_reached", FINISHED, "The scraper paged through to the end; nothing was left.",
           "Nothing to fix.", "run", ("H",)),
    Reason("emails_verified", FINISHED, "All email verifications of the run finished (enrichment squids).",
           "Nothing to fix.", "run", ("E", "H")),
    Reason("export_fix", FINISHED, "The export was generated again after an earlier export failed.",
           "Nothing to fix; download the results again if you fetched them before the fix.",
           "run", ("G",)),
    Reason("completed", FINISHED, "The task ran to its end.",
           "Nothing to fix. A gap on a completed task means the site had fewer results than "
           "lobstr expected, or a silent partial collection: open the input to check.",
           "task", ("T",)),
    # Stopped by the user.
    Reason("aborted", USER, "Someone pressed Abort. Results collected so far are exported and billed.",
           "Re-run the short tasks if you still need them.", "run", ("G", "H")),
    Reason("run_aborted", USER, "The task stopped because its run was aborted.",
           "Re-run the short tasks if you still need them.", "task", ("T",)),
    Reason("deactivated", USER, "The squid was deactivated (by hand, or its schedule was paused) "
           "while the run was alive.",
           "Reactivate the squid, then start a new run for the missing tasks.", "run", ("G", "E", "H")),
    Reason("user_stopped", USER, "The run was stopped by its user (an example value on lobstr's "
           "squid page).", "Re-run the short tasks if you still need them.", "run", ("S",)),
    # Account problems.
    Reason("no_accounts", ACCOUNT, "No platform account is linked to the squid; the run closed for good.",
           "Link an account to the squid, then start a new run.", "run", ("G", "E", "H")),
    Reason("no_account_available", ACCOUNT, "Accounts are linked but all were busy; the run pauses "
           "and resumes by itself.",
           "Wait: the run resumes when an account frees up. Add accounts to go faster.",
           "run", ("G", "E", "H")),
    Reason("cookies_expired", ACCOUNT, "The synced account's session expired.", _RESYNC,
           "run", ("G", "E", "H")),
    Reason("wrong_credentials", ACCOUNT, "The account's credentials are wrong.",
           "Update the account's login in lobstr, then resume or re-run.", "run", ("G", "E")),
    Reason("checkpoint_reached", ACCOUNT, "The account is stuck at a platform security checkpoint.",
           "Log in to the platform by hand and clear the checkpoint, then re-sync.", "run", ("G", "E")),
    Reason("challenge_required", ACCOUNT, "The platform asks the account to solve a challenge.",
           "Log in to the platform by hand and solve it, then re-sync.", "run", ("E",)),
    Reason("otp_needed", ACCOUNT, "The platform asks for a one-time password (OTP).",
           _RESYNC, "run", ("G",)),
    Reason("logged_out", ACCOUNT, "The account was logged out.", _RESYNC, "run", ("E",)),
    Reason("account_blocked", ACCOUNT, "The platform blocked the account.",
           "Replace the account (link another one), then re-run the short tasks.", "run", ("E",)),
    Reason("account_too_many_requests", ACCOUNT, "The platform rate-limited the account.",
           "Wait, lower the squid's concurrency or add accounts, then re-run the short tasks.",
           "run", ("E",)),
    Reason("limit_exceeded", ACCOUNT, "The account hit its usage limit on the platform.",
           "Wait for the platform's limit to reset, or add accounts.", "run", ("G", "E")),
    Reason("non_premium", ACCOUNT, "This module needs a premium account on the platform.",
           "Link a premium platform account.", "run", ("E",)),
    Reason("sales_seat_required", ACCOUNT, "A Sales Navigator seat is needed.",
           "Link an account that has a Sales Navigator seat.", "run", ("E",)),
    # Credits and billing.
    Reason("no_credits_left", BILLING, "The lobstr account ran out of credits.",
           "Top up credits (or wait for the next allocation), then re-run the short tasks.",
           "run", ("G", "E")),
    Reason("credits_exhausted", BILLING, "Credits ran out (an example value on lobstr's squid page).",
           "Top up credits, then re-run the short tasks.", "run", ("S",)),
    Reason("slots_limit_exceeded", BILLING, "The plan's scraping slots were all in use.",
           "Wait for other runs to end, or upgrade the plan for more slots.", "run", ("G",)),
    Reason("premium_plan_needed", BILLING, "This module needs a premium lobstr plan.",
           "Upgrade the lobstr plan.", "run", ("E",)),
    Reason("last_invoice_not_paid", BILLING, "The last lobstr invoice is unpaid.",
           "Pay the invoice in lobstr's billing page, then re-run.", "run", ("G", "E")),
    Reason("maintenance_fees_not_paid", BILLING, "Maintenance fees of a custom module are unpaid.",
           "Pay the fees, then re-run.", "run", ("G", "E")),
    # Site or platform problems.
    Reason("website_inaccessible", SITE, "The target website was down or refused access.",
           "Check the site, then re-run the short tasks later.", "run", ("E",)),
    Reason("module_under_maintenance", SITE, "The lobstr module (crawler) is under maintenance.",
           "Wait for the maintenance to end, then re-run.", "run", ("E",)),
    Reason("request_failed", SITE, "A request failed; the run pauses for 6 hours.",
           "Wait for the run to resume, or re-run the short tasks later.", "run", ("E",)),
    Reason("too_many_requests", SITE, "The run was stopped for sending too many requests.",
           "Lower the squid's concurrency and re-run later.", "run", ("G",)),
    Reason("export_failed", SITE, "Exporting the results failed (the collection itself may be fine).",
           "Wait for lobstr to regenerate the export (export_fix), or contact support.", "run", ("E",)),
    Reason("error", SITE, "The task (or run) failed.",
           "Open the task in lobstr for its error text; re-run it later. If it keeps failing, "
           "contact support with the run id.", "run, task", ("S", "T")),
    # Input problems.
    Reason("invalid_url", INPUT, "The task's URL is not one the crawler can read (a malformed "
           "link, or a page of another kind than the crawler expects).",
           "Open the input: fix the URL (or remove the task) before re-queueing it; a retry as it "
           "is ends the same way.", "task", ("C",)),
    # Still running.
    Reason("batch_wait", RUNNING, "A batch finished; the run waits for its timeout before the next batch.",
           "Nothing to do: the run goes on by itself.", "run", ("G", "E", "H")),
)

#: Every documented reason by code.
GLOSSARY: dict[str, Reason] = {entry.code: entry for entry in _ENTRIES}

#: Codes documented for runs (§3.2) and for tasks (§3.3) of the notes.
RUN_REASONS = frozenset(code for code, r in GLOSSARY.items() if "run" in r.scope.split(", "))
TASK_REASONS = frozenset(code for code, r in GLOSSARY.items() if "task" in r.scope.split(", "))

#: Groups whose reasons mean a task stopped before collecting everything.
STOPPED_GROUPS = frozenset({USER, ACCOUNT, BILLING, SITE, INPUT})

NO_REASON_MEANING = ("lobstr gave no done_reason: the task is usually still pending or running; "
                     "on a finished task, nothing tells why it ended.")


def explain(code: str | None) -> Reason:
    """The glossary entry for a reason; an undocumented (or missing) one comes back raw, group unknown."""
    if code is None:
        return Reason("", UNKNOWN, NO_REASON_MEANING,
                      "Wait for running tasks; for finished ones, open the task in lobstr.", "task")
    found = GLOSSARY.get(code)
    if found is not None:
        return found
    return Reason(code, UNKNOWN, "lobstr does not document this value; it is shown as lobstr sent it.",
                  "Read the task's done_reason_desc, or ask lobstr support what it means.", "")


def group_of(code: str | None) -> str:
    """The group key of a reason (unknown for a missing or undocumented one)."""
    if code is None:
        return UNKNOWN
    found = GLOSSARY.get(code)
    return found.group if found else UNKNOWN


def by_group() -> list[tuple[str, str, list[Reason]]]:
    """The glossary as (group key, label, reasons) in display order."""
    return [(key, label, [r for r in _ENTRIES if r.group == key]) for key, label in GROUPS.items()
            if any(r.group == key for r in _ENTRIES)]


@dataclass(frozen=True)
class ReasonCard:
    """One done_reason present in a run: its tasks, what they miss, and what it means."""

    reason: Reason
    #: The value exactly as lobstr sent it (None: no done_reason).
    code: str | None
    tasks: int
    #: Results missing on its short tasks (sum of positive gaps).
    missing: int
    #: Share of all the run's missing results, 0..1 (None when nothing is missing).
    share: float | None
    tasks_short: int = 0
    tasks_live: int = 0
    expected_unknown: int = 0
    #: One done_reason_desc lobstr gave for it, if any.
    example_desc: str | None = None

    @property
    def group(self) -> str:
        """The card's group; a missing reason on live tasks counts as still running."""
        if self.code is None and self.tasks_live:
            return RUNNING
        return self.reason.group


def build_cards(rows: list[dict[str, object]]) -> list[ReasonCard]:
    """Cards from per-reason aggregates (keys: reason, tasks, missing, short, live, unknown, desc).

    Ordered by missing results, then tasks, so the reason that costs most comes first.
    """
    total_missing = sum(int(r["missing"] or 0) for r in rows)  # type: ignore[call-overload]
    cards = []
    for row in rows:
        code = row["reason"]
        missing = int(row["missing"] or 0)  # type: ignore[call-overload]
        cards.append(ReasonCard(
            reason=explain(code if isinstance(code, str) else None),
            code=code if isinstance(code, str) else None,
            tasks=int(row["tasks"]),  # type: ignore[call-overload]
            missing=missing, share=missing / total_missing if total_missing else None,
            tasks_short=int(row.get("short") or 0),  # type: ignore[call-overload]
            tasks_live=int(row.get("live") or 0),  # type: ignore[call-overload]
            expected_unknown=int(row.get("unknown") or 0),  # type: ignore[call-overload]
            example_desc=row.get("desc") if isinstance(row.get("desc"), str) else None))
    cards.sort(key=lambda c: (-c.missing, -c.tasks, c.code or ""))
    return cards
