"""Shared by the browser tests: where Chromium and axe-core live, the page watcher, axe and URLs."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from lobstr_dash.fake import DEMO_RUN_IDS

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = f"Chromium not found at {CHROMIUM}: browser tests skipped"
# The flags tooling.md checked: no sandbox as root, and nothing that reaches out to the network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
#: Fetched by scripts/fetch-axe.sh (make test does it); never committed.
AXE = ROOT / ".cache" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}

# Runs in every page before its own scripts (outside the page's CSP): turns each CSP violation
# into a console error, so the watcher sees it with the page's other errors.
WATCH_SCRIPT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const text = `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` in ${e.sourceFile || e.documentURI}:${e.lineNumber}`;
  window.__cspViolations.push(text);
  console.error(text);
});
"""


class Watch:
    """Everything a page reported that a user should never see: errors, dialogs, CSP violations."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def attach(self, page: Any) -> None:
        """Listen to one page."""
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: uncaught {exc}"))
        page.on("dialog", lambda dialog: self._dialog(page, dialog))

    def allow(self, pattern: str) -> None:
        """Accept console errors matching `pattern` (a test that provokes one on purpose)."""
        self.allowed.append(re.compile(pattern))

    def _console(self, page: Any, msg: Any) -> None:
        if msg.type in ("error", "assert") or "Content Security Policy" in msg.text:
            if not any(p.search(msg.text) for p in self.allowed):
                self.problems.append(f"{page.url}: console {msg.type}: {msg.text}")

    def _dialog(self, page: Any, dialog: Any) -> None:
        self.dialogs.append(f"{page.url}: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    def assert_clean(self) -> None:
        """Fail with every problem seen."""
        found = self.problems + [f"dialog opened: {d}" for d in self.dialogs]
        assert not found, "the browser reported:\n" + "\n".join(found)


def run_axe(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page (its context must bypass CSP); return serious and critical violations."""
    if not AXE.is_file():
        pytest.skip(f"axe-core not fetched to {AXE.relative_to(ROOT)}: run `make test` or "
                    "`sh scripts/fetch-axe.sh`")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ["violations"]});
      return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]], shown: int = 4) -> str:
    """A readable list of axe violations: each rule with its first few elements and why."""
    lines = []
    for v in violations:
        lines.append(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:shown]:
            why = " ".join(node["summary"].split())
            lines.append(f"  {node['target']}: {why}")
    return "\n".join(lines)


def wait_until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression until it is truthy.

    Not `page.wait_for_function`: that polls through `eval`, which the page's CSP refuses.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(100)


def run_url(slug: str, query: str = "") -> str:
    """The path of a demo run's page (`slug` is a key of DEMO_RUN_IDS)."""
    return f"/runs/{DEMO_RUN_IDS[slug]}{query}"
