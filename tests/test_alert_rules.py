"""Alert rules and verdicts: the defaults, each check, per-squid overrides and the rules file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lobstr_dash.config import ConfigError
from lobstr_dash.domain import reasons
from lobstr_dash.domain.rules import DEFAULT_RULES
from lobstr_dash.domain.rules import RuleSet
from lobstr_dash.domain.rules import RulesError
from lobstr_dash.domain.rules import parse_rules
from lobstr_dash.domain.rulecheck import ReasonShare
from lobstr_dash.domain.rulecheck import RunFacts
from lobstr_dash.domain.rulecheck import evaluate
from lobstr_dash.ops.alerts import load_rules
from lobstr_dash.render import alerts as messages

RUN = "300e9c5c127d421c90f431478d9a2cfb"


def facts(**changes: Any) -> RunFacts:
    base = dict(run_id=RUN, squid_id="sq", status="done", done_reason="tasks_done", tasks=100,
                expected=10_000, missing=0, tasks_short=0)
    return RunFacts(**{**base, **changes})


def fired(run: RunFacts, rules: RuleSet | None = None) -> dict[str, str]:
    chosen = (rules or RuleSet()).for_squid(run.squid_id)
    return {f.rule: f.severity for f in evaluate(run, chosen).findings}


def test_the_defaults_and_their_severities() -> None:
    assert {k: (r.enabled, r.severity) for k, r in DEFAULT_RULES.items()} == {
        "completeness": (True, "warning"), "account": (True, "critical"),
        "run_error": (True, "critical"), "drop": (True, "warning")}
    assert DEFAULT_RULES["completeness"].below == 95
    assert (DEFAULT_RULES["drop"].points, DEFAULT_RULES["drop"].history) == (10, 10)


def test_a_clean_run_raises_nothing() -> None:
    assert fired(facts(history=(100.0,) * 10)) == {}
    assert fired(facts(tasks=0, expected=0)) == {}  # an empty run expected nothing


@pytest.mark.parametrize(("missing", "expected"), [(499, {}), (500, {}),
                                                   (501, {"completeness": "warning"})])
def test_completeness_fires_below_95_percent(missing: int, expected: dict[str, str]) -> None:
    assert fired(facts(missing=missing, tasks_short=1)) == expected


def test_account_fires_on_any_task_short_for_account_or_billing() -> None:
    run = facts(missing=10, tasks_short=1, account_tasks=1,
                reasons=(ReasonShare("cookies_expired", 10, 1.0, 1, reasons.ACCOUNT),))
    result = evaluate(run, RuleSet().for_squid("sq"))
    assert [(f.rule, f.severity) for f in result.findings] == [("account", "critical")]
    assert "1 task stopped short" in result.findings[0].summary
    assert "cookies_expired" in result.findings[0].summary
    assert fired(facts(done_reason="no_credits_left")) == {"account": "critical"}


def test_run_error_fires_on_the_status_or_the_done_reason() -> None:
    assert fired(facts(status="error", done_reason="website_inaccessible")) == {"run_error": "critical"}
    assert fired(facts(status="done", done_reason="error")) == {"run_error": "critical"}


def test_a_drop_against_the_median_of_the_previous_runs() -> None:
    history = (99.0, 98.0, 97.0, 100.0, 96.0)
    # median 98: 88.5 % is 9.5 points under (no), 87.9 % is 10.1 under (yes).
    assert "drop" not in fired(facts(missing=1150, history=history))
    result = evaluate(facts(missing=1210, history=history), RuleSet().for_squid("sq"))
    assert {f.rule for f in result.findings} == {"drop", "completeness"}
    drop = next(f for f in result.findings if f.rule == "drop")
    assert "under the median 98.0 %" in drop.summary and "previous 5 runs" in drop.summary


def test_a_squid_never_complete_alerts_on_its_drop_not_its_level() -> None:
    rules = parse_rules({"squid": {"sq": {"completeness": {"enabled": False}}}})
    usual = (60.0, 62.0, 58.0, 61.0)
    assert fired(facts(missing=4000, history=usual), rules) == {}
    assert fired(facts(missing=5000, history=usual), rules) == {"drop": "warning"}


def test_the_drop_rule_needs_enough_history() -> None:
    assert "drop" not in fired(facts(missing=5000, history=(100.0, 100.0)))
    assert "drop" in fired(facts(missing=5000, history=(100.0, 100.0, 100.0)))


def test_overrides_globally_and_per_squid() -> None:
    rules = parse_rules({
        "completeness": {"below": 80, "severity": "critical"},
        "run_error": {"enabled": False},
        "squid": {"sq2": {"completeness": {"below": 99.5}, "account": {"severity": "info"}}},
    })
    assert fired(facts(missing=1500, status="error"), rules) == {}  # 85 %, and run_error is off
    assert fired(facts(missing=2500), rules) == {"completeness": "critical"}
    other = facts(squid_id="sq2", missing=100, done_reason="no_credits_left")
    # A squid's table starts from the global rule: severity stays critical, threshold changes.
    assert fired(other, rules) == {"completeness": "critical", "account": "info"}


@pytest.mark.parametrize(("document", "complaint"), [
    ({"completness": {}}, "unknown rule 'completness'"),
    ({"completeness": {"treshold": 90}}, "unknown setting 'treshold'"),
    ({"completeness": {"below": "90"}}, "must be a number"),
    ({"completeness": {"below": 120}}, "between 0 and 100"),
    ({"drop": {"history": 2.5}}, "whole number"),
    ({"account": {"severity": "urgent"}}, "severity must be one of"),
    ({"account": {"enabled": "yes"}}, "true or false"),
    ({"squid": {"sq": {"nope": {}}}}, "unknown rule 'nope'"),
    ({"squid": ["sq"]}, "one table per squid"),
    ({"completeness": 5}, "must be a table"),
])
def test_a_bad_rules_file_is_refused_with_what_is_wrong(document: dict[str, Any],
                                                        complaint: str) -> None:
    with pytest.raises(RulesError, match=complaint):
        parse_rules(document)


def test_the_rules_file_is_read_as_toml(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[completeness]\nbelow = 90\n\n[squid."abc".drop]\nenabled = false\n')
    rules = load_rules(str(path))
    assert rules.rule("completeness").below == 90
    assert rules.rule("drop", "abc").enabled is False and rules.rule("drop").enabled is True
    path.write_text("[completeness\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_rules(str(path))
    with pytest.raises(ConfigError, match="cannot be read"):
        load_rules(str(tmp_path / "missing.toml"))


def test_facts_survive_the_outbox_as_json() -> None:
    run = facts(missing=865, reasons=(ReasonShare("run_aborted", 865, 1.0, 10, reasons.USER),),
                history=(99.0, 98.5), squid_name="Maps – “quoted” <b>")
    assert RunFacts.from_json(run.to_json()) == run


def test_messages_read_well_as_text_and_markdown() -> None:
    run = facts(missing=865, tasks_short=10, squid_name="Maps *bold* [x](y)",
                reasons=(ReasonShare("run_aborted", 865, 1.0, 10, reasons.USER),))
    finding = evaluate(run, RuleSet().for_squid("sq")).findings[0]
    message = messages.render(run, [messages.Finding(finding.rule, finding.severity,
                                                       finding.summary)], None)
    assert message.title.startswith(f"[warning] lobstr run {RUN[:8]} of Maps")
    assert "865 results missing (91.3 % complete)" in message.title
    assert f"Run page: /runs/{RUN}" in message.text  # no PUBLIC_URL: the path
    assert "- run_aborted: 865 missing (100%), 10 tasks short — stopped by the user" in message.text
    assert "Maps \\*bold\\* \\[x\\](y)" in message.markdown  # no injected link or emphasis
    assert "\\(" not in message.markdown  # plain punctuation stays plain
