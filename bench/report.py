"""Render figures as a plain-text table (stdout) and as bench/RESULTS.md (Markdown)."""

from __future__ import annotations

import re

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """One line of the results: what, measured, the target it is held to, and whether it is met."""

    name: str
    measured: str
    target: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        """yes / NO / blank for figures without a target."""
        if self.met is None:
            return ""
        return "yes" if self.met else "NO"


def text_table(figures: Sequence[Figure]) -> str:
    """Columns padded to their widest cell, for a terminal."""
    rows = [("figure", "measured", "target", "met?")]
    rows += [(f.name, f.measured, f.target, f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(title: str, machine: Mapping[str, str], figures: Sequence[Figure],
             method: Sequence[str], notes: Sequence[str]) -> str:
    """The whole RESULTS.md: machine, figures table, how it was measured, notes."""
    out = [f"# {title}", "", f"Measured {machine.get('date', '?')} by `make bench` "
           "(`python -m bench`), every figure in one run, side by side.", "", "## Machine", ""]
    out += [f"- {key}: {value}" for key, value in machine.items() if key != "date"]
    out += ["", "## Figures", "", "| figure | measured | target | met? |", "|---|---|---|---|"]
    out += [f"| {_cell(f.name)} | {_cell(f.measured)} | {_cell(f.target)} | {f.verdict} |"
            for f in figures]
    out += ["", "## How it was measured", ""]
    out += [f"- {line}" for line in method]
    if notes:
        out += ["", "## Notes", ""]
        out += [f"- {line}" for line in notes]
    return "\n".join(out) + "\n"


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace the section of RESULTS.md under `heading` with `text` (or append it), keeping the
    rest of the file."""
    current = path.read_text() if path.exists() else ""
    start = current.find(heading)
    if start < 0:
        path.write_text(current.rstrip("\n") + ("\n\n" if current.strip() else "") + text)
        return
    rest = current[start + len(heading):]
    following = re.search(r"^## ", rest, re.M)
    end = start + len(heading) + following.start() if following else len(current)
    path.write_text(current[:start] + text + ("\n" if following else "") + current[end:])
