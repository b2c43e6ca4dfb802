"""Draw the package's layers and check that imports run one way: `python scripts/layers.py`.

Prints, for each layer, the layers it imports, then every violation (an import upward or sideways
that the table below does not allow, or a cycle between modules) and exits 1 if there is one.
tests/test_layers.py runs the same check. Imports under `if TYPE_CHECKING:` are type hints only
and are not counted.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "lobstr_dash"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

#: Which layers each layer may import (itself always). `config` is a leaf any layer may read;
#: `top` is the factory (create_app, wiring, cli), which builds everything.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "render": {"domain"},
    "upstream": {"domain"},
    "store": {"domain"},
    "loading": {"domain", "upstream", "store"},
    "web": {"domain", "upstream", "store", "loading", "render"},
    "ops": {"domain", "upstream", "store", "loading", "render", "web"},
    "fake": set(),
    "config": set(),
    "top": {"domain", "upstream", "store", "loading", "render", "web", "ops", "fake"},
}
#: Read top to bottom: the order the README draws.
ORDER = ["top", "ops", "web", "loading", "render", "store", "upstream", "domain", "fake", "config"]


def module_name(path: Path) -> str:
    """`lobstr_dash/web/runpage.py` → `lobstr_dash.web.runpage`."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The layer a module belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    if parts[1] == "config":
        return "config"
    return parts[1] if parts[1] in ALLOWED else "top"


def _type_checking_block(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING")


def imports_of(path: Path) -> Iterator[str]:
    """The package modules a file imports at run time (relative imports resolved)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for block in ast.walk(tree) if _type_checking_block(block)
            for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                yield candidate if _exists(candidate) else target


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (ROOT / relative).with_suffix(".py").is_file() or (ROOT / relative / "__init__.py").is_file()


def graph() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports."""
    edges: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        edges[module_name(path)] = {m for m in imports_of(path) if m != module_name(path)}
    return edges


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Imports the layer table forbids, and import cycles between modules."""
    found = []
    for module, targets in sorted(edges.items()):
        source = layer_of(module)
        for target in sorted(targets):
            layer = layer_of(target)
            if layer not in (source, "config") and layer not in ALLOWED[source]:
                found.append(f"{module} ({source}) imports {target} ({layer})")
    found.extend(f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(edges))
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules (a package importing its own submodules is not one)."""
    def real(source: str, target: str) -> bool:
        # `pkg/__init__` importing `pkg.sub` is how a package shows its parts, not a cycle.
        return not target.startswith(source + ".")

    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if not real(node, target):
                continue
            if state.get(target) == 1:
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def main() -> int:
    """Print the layer graph and the violations; 1 when there is any."""
    edges = graph()
    uses: dict[str, set[str]] = {layer: set() for layer in ORDER}
    for module, targets in edges.items():
        for target in targets:
            if layer_of(target) != layer_of(module):
                uses[layer_of(module)].add(layer_of(target))
    for layer in ORDER:
        below = ", ".join(sorted(uses[layer], key=ORDER.index)) or "(nothing)"
        print(f"{layer:>9} -> {below}")
    problems = violations(edges)
    for problem in problems:
        print("VIOLATION", problem)
    print(f"{len(edges)} modules, {sum(len(t) for t in edges.values())} imports, "
          f"{len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
