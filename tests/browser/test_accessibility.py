"""axe-core finds no serious or critical violation on the main pages, light or dark; screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browser_support import describe
from browser_support import run_axe
from browser_support import run_url

UNKNOWN_RUN = "/runs/" + "0" * 31 + "1"
PAGES = {
    "home": "/",
    "home-error": "/?run=no+run+id+here",
    "run-aborted": run_url("aborted"),
    "run-mixed": run_url("mixed", "?status=error&sort=reason"),
    "run-big-page-2": run_url("big", "?short=1&page=2"),
    "run-empty": run_url("empty"),
    "run-unknown": UNKNOWN_RUN,
}


# Every page in light; in dark too, the pages whose colours differ most (tints, chips, banners).
ALSO_DARK = {"home", "run-aborted", "run-mixed", "run-unknown"}


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(new_context: Any, watch: Any, artifacts: Path,
                                             name: str) -> None:
    watch.allow(r"status of (400|404)")  # the error pages answer with their status, as they should
    # axe is injected as an inline script, so only this context bypasses the page's CSP.
    page = new_context(bypass_csp=True, color_scheme="light").new_page()
    page.goto(PAGES[name])
    found = []
    for scheme in ["light", "dark"] if name in ALSO_DARK else ["light"]:
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(artifacts / f"{name}-{scheme}.png"))
        violations = run_axe(page)
        if violations:
            found.append(f"{PAGES[name]} ({scheme}):\n{describe(violations)}")
    assert not found, "\n".join(found)
