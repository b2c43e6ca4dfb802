"""The done_reason glossary: every documented reason in plain words, grouped, with what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import render_template
from flask import url_for

from ..domain import gapclass
from ..domain import reasons
from . import formats

bp = Blueprint("glossary", __name__)

COLUMNS = ("done_reason", "group", "group_label", "scope", "meaning", "action", "sources")


@dataclass(frozen=True)
class GlossaryPage:
    """What the glossary page shows."""

    groups: list[tuple[str, str, list[reasons.Reason]]]
    hints: dict[str, str]
    sources: dict[str, str]
    classes: dict[str, str]
    class_descriptions: dict[str, str]
    exports: dict[str, str]


def _record(entry: reasons.Reason) -> dict[str, Any]:
    return {"done_reason": entry.code, "group": entry.group, "group_label": entry.group_label,
            "scope": entry.scope, "meaning": entry.meaning, "action": entry.action,
            "sources": [reasons.SOURCES[s] for s in entry.sources]}


@formats.route(bp, "/reasons", ("json", "csv"))
def page(fmt: str | None) -> Any:
    """Every documented done_reason in plain words, grouped, with what to do."""
    groups = reasons.by_group()
    if fmt is not None:
        entries = [entry for _key, _label, group in groups for entry in group]
        return formats.export(fmt, formats.Export(map(_record, entries), "reasons", COLUMNS,
                                                  "done-reasons.csv",
                                                  head={"groups": reasons.GROUPS}))
    return render_template("reasons.html", page=GlossaryPage(
        groups=groups, hints=reasons.GROUP_HINTS, sources=reasons.SOURCES,
        classes=gapclass.CLASSES, class_descriptions=gapclass.DESCRIPTIONS,
        exports={f: url_for("glossary.page", fmt=f) for f in ("csv", "json")}))
