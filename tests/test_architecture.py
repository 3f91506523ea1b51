"""The plan of ARCHITECTURE.md stays true: imports point down only, and no module joins a circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "vecgen"
PACKAGES = (
    "sources",
    "fuzz_vectorized",
    "vocab",
    "output",
    "daily",
)  # a layer each, whatever their modules


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every vecgen module ``path`` imports, lazily or not (``from pkg import mod`` is mod)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vecgen"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("vecgen")}
    return out


def _unit(module: str) -> str:
    """The layer entry of a module as ARCHITECTURE.md names it: ``engine.py``, ``sources/``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__.py"
    return parts[1] + "/" if parts[1] in PACKAGES else parts[1] + ".py"


def _layers() -> dict[str, int]:
    """Row number of every entry of the layer block of ARCHITECTURE.md (0 = top)."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    block = text[text.index("## Layers") :]
    block = block[block.index("```\n") + 4 :]
    block = block[: block.index("```")]
    rows: dict[str, int] = {}
    for line in block.splitlines():
        if not line or line.startswith(" "):
            continue  # a continuation of the row above
        head = re.split(r"\s{2,}", line, maxsplit=1)[0]
        for entry in head.split(","):
            rows[entry.strip()] = len(set(rows.values()))
    return rows


def test_every_module_is_on_the_plan_and_imports_point_down() -> None:
    modules = _modules()
    layers = _layers()
    missing = sorted({_unit(m) for m in modules} - set(layers))
    assert not missing, f"add these to ARCHITECTURE.md's layers: {missing}"
    upward = []
    for module, path in modules.items():
        here = layers[_unit(module)]
        for target in _imports(path, modules):
            there = layers[_unit(target)]
            if _unit(target) != _unit(module) and there <= here:
                upward.append(f"{module} imports {target} (row {here} -> row {there})")
    assert not upward, "\n".join(sorted(upward))


def test_no_module_joins_an_import_circle() -> None:
    modules = _modules()
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"
