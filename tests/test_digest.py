"""The Markdown digest: what it says, and that task inputs cannot break its Markdown."""

from __future__ import annotations

from lobstr_dash.render import digest
from lobstr_dash.domain.tasks import RunSummary
from lobstr_dash.domain.reasons import build_cards
from lobstr_dash.domain.runinfo import RunInfo

RUN = "e" * 32
LINK = f"https://dash.example/runs/{RUN}?class=site"


def summary(**values: int) -> RunSummary:
    base = {"tasks": 10, "expected": 1000, "collected": 700, "missing": 320, "tasks_short": 4,
            "expected_unknown": 2}
    return RunSummary(**{**base, **values})


def test_the_digest_says_totals_classes_reasons_gaps_and_the_link() -> None:
    cards = build_cards([
        {"reason": "cookies_expired", "tasks": 3, "missing": 240, "short": 3},
        {"reason": "proxy_timeout", "tasks": 1, "missing": 80, "short": 1},
        {"reason": "completed", "tasks": 6, "missing": 0, "short": 0},
    ])
    gaps = [digest.GapLine(7, "https://maps.test/a_b*c", 100, 0, 100, "cookies_expired"),
            digest.GapLine(9, "keyword=`tick` · country=FR", None, 0, 50, None)]
    text = digest.render(RUN, LINK, summary(), info=RunInfo.from_api(
        {"status": "error", "done_reason": "no_credits_left"}, None), cards=cards, gaps=gaps,
        filters="class site", classes=[("complete", 6), ("short — account, credits or billing", 3)])
    lines = text.splitlines()
    assert lines[0] == f"**lobstr run `{RUN}`** — error (`no_credits_left`)"
    assert lines[1] == ("Collected **680 of 1,000** expected results (68.0%) · **320 missing** · "
                        "4 of 10 tasks short · 2 expected unknown")
    assert lines[2] == "By gap class: complete 6 · short — account, credits or billing 3"
    assert lines[3] == ("Top reasons: `cookies_expired` 240 (75%) — account problem; "
                        "`proxy_timeout` 80 (25%) — unknown, undocumented")
    assert lines[4] == "Biggest gaps (class site):"
    assert lines[5] == "1. 100 missing (0 of 100) — #7 `https://maps.test/a_b*c` — `cookies_expired`"
    assert lines[6] == "2. 50 missing (0 of ?) — #9 `` keyword=`tick` · country=FR ``"
    assert lines[-1] == f"Details: {LINK}" and text.endswith("\n")


def test_a_run_without_tasks_or_context() -> None:
    text = digest.render(RUN, LINK, RunSummary(), partial=True)
    assert text == f"**lobstr run `{RUN}`**\nNo tasks.\nDetails: {LINK}\n"


def test_markdown_helpers_neutralise_input() -> None:
    assert digest.md_text("*bold* [x](y) <b>\nnext") == r"\*bold\* \[x\]\(y\) \<b\> next"
    assert digest.md_code("a`b") == "`` a`b ``" and digest.md_code("ab") == "`ab`"
