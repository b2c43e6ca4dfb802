"""The done_reason glossary: every documented reason explained, grouped, and unknown ones kept raw."""

from __future__ import annotations

import pytest

from lobstr_dash.domain import reasons

#: Run done_reasons documented by lobstr's get-run page, errors page and help center (union).
DOCUMENTED_RUN_REASONS = (
    "tasks_done", "last_page_reached", "emails_verified", "batch_wait", "aborted", "deactivated",
    "no_credits_left", "no_accounts", "no_account_available", "cookies_expired",
    "wrong_credentials", "checkpoint_reached", "challenge_required", "otp_needed", "logged_out",
    "account_blocked", "account_too_many_requests", "too_many_requests", "limit_exceeded",
    "slots_limit_exceeded", "non_premium", "sales_seat_required", "website_inaccessible",
    "premium_plan_needed", "module_under_maintenance", "request_failed", "export_failed",
    "export_fix", "last_invoice_not_paid", "maintenance_fees_not_paid",
    # Example values of a squid's last_run_done_reason.
    "credits_exhausted", "user_stopped", "error",
)
#: Task-level done_reasons shown in lobstr's runtask and task examples, and named in its changelog.
DOCUMENTED_TASK_REASONS = ("run_aborted", "completed", "error", "invalid_url")

EXPECTED_GROUPS = {
    "tasks_done": reasons.FINISHED, "completed": reasons.FINISHED,
    "aborted": reasons.USER, "run_aborted": reasons.USER, "deactivated": reasons.USER,
    "cookies_expired": reasons.ACCOUNT, "no_accounts": reasons.ACCOUNT,
    "account_blocked": reasons.ACCOUNT, "no_account_available": reasons.ACCOUNT,
    "no_credits_left": reasons.BILLING, "last_invoice_not_paid": reasons.BILLING,
    "premium_plan_needed": reasons.BILLING,
    "website_inaccessible": reasons.SITE, "request_failed": reasons.SITE,
    "module_under_maintenance": reasons.SITE,
    "batch_wait": reasons.RUNNING, "invalid_url": reasons.INPUT,
}


@pytest.mark.parametrize("code", DOCUMENTED_RUN_REASONS + DOCUMENTED_TASK_REASONS)
def test_every_documented_reason_is_explained_with_an_action(code: str) -> None:
    entry = reasons.explain(code)
    assert entry.code == code and entry.documented
    assert entry.group in reasons.GROUPS and entry.group != reasons.UNKNOWN
    assert len(entry.meaning) > 15 and entry.meaning.endswith(".")
    assert len(entry.action) > 10 and entry.action.endswith(".")
    assert all(source in reasons.SOURCES for source in entry.sources)


def test_the_glossary_holds_exactly_the_documented_reasons() -> None:
    assert set(reasons.GLOSSARY) == set(DOCUMENTED_RUN_REASONS) | set(DOCUMENTED_TASK_REASONS)
    assert set(DOCUMENTED_TASK_REASONS) <= reasons.TASK_REASONS
    assert {"tasks_done", "cookies_expired", "no_credits_left"} <= reasons.RUN_REASONS
    assert "run_aborted" not in reasons.RUN_REASONS


@pytest.mark.parametrize(("code", "group"), sorted(EXPECTED_GROUPS.items()))
def test_reasons_fall_in_the_groups_users_act_on(code: str, group: str) -> None:
    assert reasons.group_of(code) == group
    assert reasons.explain(code).group_label == reasons.GROUPS[group]


def test_groups_come_in_display_order_and_every_group_but_unknown_has_reasons() -> None:
    assert list(reasons.GROUPS.values()) == [
        "Finished normally", "Stopped by the user", "Account problem", "Credits and billing",
        "Site or platform problem", "Input problem", "Still running", "Unknown"]
    listed = reasons.by_group()
    assert [key for key, _label, _entries in listed] == [
        reasons.FINISHED, reasons.USER, reasons.ACCOUNT, reasons.BILLING, reasons.SITE,
        reasons.INPUT, reasons.RUNNING]
    assert sum(len(entries) for _k, _l, entries in listed) == len(reasons.GLOSSARY)
    assert set(reasons.GROUP_HINTS) == set(reasons.GROUPS)


@pytest.mark.parametrize("code", ["proxy_timeout", "Cookies_Expired", "tasks done", "<b>x</b>"])
def test_an_undocumented_reason_is_kept_raw_and_marked(code: str) -> None:
    entry = reasons.explain(code)
    assert entry.code == code  # never renamed, never dropped
    assert not entry.documented and entry.group == reasons.UNKNOWN
    assert reasons.group_of(code) == reasons.UNKNOWN


def test_a_missing_reason_is_explained_as_such() -> None:
    entry = reasons.explain(None)
    assert entry.code == "" and not entry.documented
    assert "no done_reason" in entry.meaning
    assert reasons.group_of(None) == reasons.UNKNOWN
