"""The README's screenshots of the mixed demo run: desktop, phone and dark, each showing the
verdict on its first screen. Written on every run as artifacts; `make screenshot`
(UPDATE_DOCS_SCREENSHOT=1) also copies them to docs/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import ROOT
from browser_support import run_url

DOCS = ROOT / "docs"
SHOTS = {
    "screenshot-run.png": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "light"},
    "screenshot-run-phone.png": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light",
                                 "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "screenshot-run-dark.png": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "dark"},
}


@pytest.mark.parametrize("name", list(SHOTS))
def test_readme_screenshots_show_the_verdict(new_context: Any, artifacts: Path, name: str) -> None:
    options = SHOTS[name]
    page = new_context(**options).new_page()
    page.goto(run_url("mixed"))
    expect(page.locator("table.task-table tbody tr")).to_have_count(100)
    verdict = page.locator(".verdict")
    expect(verdict.locator(".cause").first).to_be_visible()
    box = verdict.bounding_box()
    assert box["y"] + box["height"] <= options["viewport"]["height"], "the verdict is below the fold"
    shot = artifacts / name
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS / name)
