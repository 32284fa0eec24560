"""The package's seams, read from its source: a slice (picture, reporting, alerts) imports no
other slice, only the shared packages (`projection`, `access`, `case`, `catalogue`, ...), and no
module imports itself back through others."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mappa_bus

PACKAGE = Path(mappa_bus.__file__).parent
SLICES = ("picture", "reporting", "alerts")


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(path: Path, *, top_level_only: bool) -> Iterator[str]:
    """The package's modules `path` imports; `from package import submodule` names the
    submodule alone (the package itself is already being imported, whoever asks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            named = [name for name in submodules if name in MODULES]
            yield from named
            if len(named) < len(submodules) and node.module in MODULES:
                yield node.module


def _slice_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SLICES else None


def cross_slice_imports() -> list[str]:
    """`importer -> imported` for every import (at any depth of a module) between slices."""
    crossings = []
    for module, path in MODULES.items():
        home = _slice_of(module)
        for imported in _imported(path, top_level_only=False):
            if home is not None and _slice_of(imported) not in (None, home):
                crossings.append(f"{module} -> {imported}")
    return sorted(crossings)


def import_cycles() -> list[list[str]]:
    """The groups of modules that import each other, directly or through others, when loaded
    (imports at module level; Tarjan's strongly connected components)."""
    graph = {m: set(_imported(p, top_level_only=True)) - {m} for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            group.append(module)
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return cycles


def test_no_slice_imports_another() -> None:
    """Picture, reporting and alerts meet only through the shared packages and the wiring at
    the top (`mappa_bus.cli`, the demo), never by importing each other."""
    assert cross_slice_imports() == []


def test_the_boundary_check_sees_a_crossing(tmp_path: Path) -> None:
    """The check finds an import between slices wherever in a module it is written."""
    written = tmp_path / "module.py"
    written.write_text("def f():\n    from mappa_bus.picture.api import create_app\n")
    assert list(_imported(written, top_level_only=False)) == ["mappa_bus.picture.api"]
    assert _slice_of("mappa_bus.alerts.web") == "alerts"
    assert _slice_of("mappa_bus.case.fold") is None


def test_no_import_cycle() -> None:
    """No module is imported again, through others, by what it imports."""
    assert import_cycles() == []
