"""The package's shape: layers import one way, only the store speaks SQL, templates only read."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import layers  # noqa: E402

PACKAGE = ROOT / "lobstr_dash"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+(TABLE|INDEX)|PRAGMA\s)", re.I | re.S)


def python_files(under: Path = PACKAGE) -> list[Path]:
    return sorted(under.rglob("*.py"))


def test_imports_run_one_way_and_never_in_circles() -> None:
    assert layers.violations(layers.graph()) == []


def test_the_layer_check_catches_an_upward_import() -> None:
    edges = layers.graph()
    edges["lobstr_dash.domain.tasks"] = edges["lobstr_dash.domain.tasks"] | {"lobstr_dash.web.links"}
    edges["lobstr_dash.store.db"] = edges["lobstr_dash.store.db"] | {"lobstr_dash.store.ledger"}
    problems = layers.violations(edges)
    assert any("domain.tasks (domain) imports lobstr_dash.web.links (web)" in p for p in problems)
    assert any(p.startswith("import cycle:") and "store.db" in p for p in problems)


def test_only_the_store_opens_sqlite_or_writes_sql() -> None:
    offenders = []
    for path in python_files():
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("store/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] == "sqlite3" for n in names):
                    offenders.append(f"{relative}: imports sqlite3")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                offenders.append(f"{relative}: SQL text {node.value[:40]!r}")
    assert offenders == []


def test_the_top_of_the_package_holds_only_the_factory_config_and_command() -> None:
    entries = [p for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    files = [p.name for p in entries if p.is_file()]
    assert len(files) <= 8, files
    assert {p.name for p in entries if p.is_dir()} == {
        "domain", "upstream", "store", "loading", "render", "web", "ops", "fake"}


def test_no_module_is_over_300_lines_without_saying_why() -> None:
    long = []
    for path in python_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        head = "\n".join(lines[:12])
        if len(lines) > 300 and "over 300 lines" not in head.lower():
            long.append(f"{path.relative_to(PACKAGE)}: {len(lines)} lines")
    assert long == []


JINJA = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
#: Names a template must not reach for: every value comes from the page object the view built.
FORBIDDEN_NAMES = {"services", "store", "client", "request", "insights", "loader", "runs",
                   "current_app", "config", "g", "session"}


@pytest.mark.parametrize("template", sorted((ROOT / "templates").rglob("*.html")),
                         ids=lambda p: p.relative_to(ROOT / "templates").as_posix())
def test_templates_only_read_the_page_object(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    code = " ".join(a or b for a, b in JINJA.findall(text))
    code = re.sub(r'"[^"]*"|\'[^\']*\'', '""', code)  # words inside strings are not names
    # Top-level names only (not attributes such as `item.stored`).
    names = set(re.findall(r"(?<![.\w])([A-Za-z_]\w*)", code))
    assert names & FORBIDDEN_NAMES == set()
    # The old template aliases are gone.
    assert not re.search(r"\{%\s*set\s+(tp|st|sm|rc|ctx)\s*=", text)
