"""Alert rules: the four checks, their defaults, and overrides from a TOML table. Pure Python.

The file `ALERT_RULES_FILE` names holds one table per rule, globally, and the same tables under
`[squid."<id>"]` for one squid; every key is optional and an unknown one is refused, so a typo
never silently turns a rule off:

    [completeness]          # a run that collected less than `below` % of what it expected
    below = 95
    severity = "warning"

    [squid."8177beb16fdf4e0e8d4b2ba767d1ffb5".drop]
    enabled = false
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

CRITICAL = "critical"
WARNING = "warning"
INFO = "info"
SEVERITIES = (CRITICAL, WARNING, INFO)

COMPLETENESS = "completeness"
ACCOUNT = "account"
RUN_ERROR = "run_error"
DROP = "drop"


@dataclass(frozen=True)
class Rule:
    """One check: its key, whether it runs, its severity and its numbers."""

    key: str
    enabled: bool = True
    severity: str = WARNING
    #: completeness: alert below this share of the expected results, in percent.
    below: float = 95.0
    #: drop: alert when completeness falls this many points under the history's median...
    points: float = 10.0
    #: ...of this many previous runs of the squid...
    history: int = 10
    #: ...once at least this many of them have figures (a median of one run proves little).
    min_history: int = 3


#: Why each default: 95 % leaves room for the odd task a site answers short; an account or
#: billing stop needs a person at once; an errored run is lobstr saying so; a 10-point fall
#: against the squid's usual level catches a squid that is never complete but got worse.
DEFAULT_RULES: dict[str, Rule] = {
    COMPLETENESS: Rule(COMPLETENESS, severity=WARNING),
    ACCOUNT: Rule(ACCOUNT, severity=CRITICAL),
    RUN_ERROR: Rule(RUN_ERROR, severity=CRITICAL),
    DROP: Rule(DROP, severity=WARNING),
}

#: The words of each rule for pages and messages.
LABELS: dict[str, str] = {
    COMPLETENESS: "completeness below the threshold",
    ACCOUNT: "tasks stopped by the account, credits or billing",
    RUN_ERROR: "the run ended in error",
    DROP: "completeness dropped against the squid's usual level",
}

#: The keys each rule's table may hold (beyond `enabled` and `severity`).
_NUMBERS: dict[str, tuple[str, ...]] = {
    COMPLETENESS: ("below",),
    ACCOUNT: (),
    RUN_ERROR: (),
    DROP: ("points", "history", "min_history"),
}
_INTEGERS = frozenset({"history", "min_history"})
_LIMITS: dict[str, tuple[float, float]] = {"below": (0.0, 100.0), "points": (0.1, 100.0),
                                           "history": (1, 100), "min_history": (1, 100)}


class RulesError(ValueError):
    """The rules file holds something that is not a valid rule setting."""


@dataclass(frozen=True)
class RuleSet:
    """The global rules and the overrides of single squids."""

    rules: Mapping[str, Rule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    squids: Mapping[str, Mapping[str, Rule]] = field(default_factory=dict)

    def for_squid(self, squid_id: str | None) -> list[Rule]:
        """The rules that apply to one squid's runs, in a stable order."""
        own = self.squids.get(squid_id or "", {})
        return [own.get(key, rule) for key, rule in self.rules.items()]

    def rule(self, key: str, squid_id: str | None = None) -> Rule:
        """One rule as it applies to a squid."""
        return self.squids.get(squid_id or "", {}).get(key) or self.rules[key]


def _apply(rule: Rule, table: Any, where: str) -> Rule:
    """A rule changed by one TOML table; RulesError names the first key that cannot be used."""
    if not isinstance(table, Mapping):
        raise RulesError(f"{where} must be a table of settings")
    allowed = ("enabled", "severity") + _NUMBERS[rule.key]
    changes: dict[str, Any] = {}
    for name, value in table.items():
        if name not in allowed:
            raise RulesError(f"{where}: unknown setting {name!r} (allowed: {', '.join(allowed)})")
        if name == "enabled":
            if not isinstance(value, bool):
                raise RulesError(f"{where}.enabled must be true or false")
        elif name == "severity":
            if value not in SEVERITIES:
                raise RulesError(f"{where}.severity must be one of {', '.join(SEVERITIES)}")
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise RulesError(f"{where}.{name} must be a number")
            if name in _INTEGERS and int(value) != value:
                raise RulesError(f"{where}.{name} must be a whole number")
            low, high = _LIMITS[name]
            if not low <= value <= high:
                raise RulesError(f"{where}.{name} must be between {low:g} and {high:g}")
            value = int(value) if name in _INTEGERS else float(value)
        changes[name] = value
    return replace(rule, **changes)


def parse_rules(document: Mapping[str, Any]) -> RuleSet:
    """Read a parsed TOML document into a RuleSet (the defaults for whatever it leaves out)."""
    rules = dict(DEFAULT_RULES)
    squids: dict[str, dict[str, Rule]] = {}
    for name, table in document.items():
        if name in rules:
            rules[name] = _apply(rules[name], table, name)
        elif name != "squid":
            raise RulesError(f"unknown rule {name!r} (rules: {', '.join(DEFAULT_RULES)}; "
                             "per squid: [squid.\"<id>\".<rule>])")
    per_squid = document.get("squid", {})
    if not isinstance(per_squid, Mapping):
        raise RulesError('squid must hold one table per squid: [squid."<id>".<rule>]')
    for squid_id, tables in per_squid.items():
        if not isinstance(tables, Mapping):
            raise RulesError(f'squid."{squid_id}" must hold rule tables')
        own: dict[str, Rule] = {}
        for name, table in tables.items():
            if name not in rules:
                raise RulesError(f'squid."{squid_id}": unknown rule {name!r}')
            own[name] = _apply(rules[name], table, f'squid."{squid_id}".{name}')
        squids[str(squid_id)] = own
    return RuleSet(rules, squids)
