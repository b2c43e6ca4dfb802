"""The README's screenshot: the aborted demo run at 1400×1000, written on every run as an artifact.

`make screenshot` (UPDATE_DOCS_SCREENSHOT=1) also copies it to docs/screenshot-run.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from browser_support import ROOT
from browser_support import run_url

DOCS_SCREENSHOT = ROOT / "docs" / "screenshot-run.png"


def test_readme_screenshot_of_the_aborted_run(new_context: Any, artifacts: Path) -> None:
    page = new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light").new_page()
    page.goto(run_url("aborted"))
    expect(page.locator("table.task-table tbody tr")).to_have_count(100)
    shot = artifacts / "screenshot-run.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS_SCREENSHOT)
