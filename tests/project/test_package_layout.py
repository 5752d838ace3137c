"""The package's shape: the layers above the machinery import no Docker or Kubernetes
module, and no module imports one that imports it back (function-level imports count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src"
PACKAGE = SRC / "tierbench"
ABOVE_THE_MACHINERY = ("config", "aggregate", "capacity", "charts", "preflight")
MACHINERY = ("tierbench.load.docker", "tierbench.load.kubernetes")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every tierbench module `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("tierbench")}


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def graph() -> dict[str, set[str]]:
    return {
        name: {m for m in imports_of(path) if m in MODULES} - {name}
        for name, path in MODULES.items()
    }


@pytest.mark.parametrize("layer", ABOVE_THE_MACHINERY)
def test_layers_above_the_machinery_import_no_docker_or_kubernetes_module(layer):
    offenders = {
        name: sorted(m for m in imports_of(path) if m.startswith(MACHINERY))
        for name, path in MODULES.items()
        if name.startswith(f"tierbench.{layer}")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back():
    # Packages re-export nothing here, so an `__init__` importing its own modules is not a
    # cycle of the code's design: only modules count.
    edges = {
        name: {t for t in targets if not MODULES[t].name == "__init__.py"}
        for name, targets in graph().items()
    }
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
