"""Print the package import graph of src/plaudit, its cycles, and the longest modules.

    python scripts/import_graph.py            # the graph, cycles and the ten longest modules
    python scripts/import_graph.py --longest 20

A package is the first name under ``plaudit`` (``plaudit.loyalty.ledger`` is ``loyalty``; a
top-level module such as ``plaudit/settings.py`` is its own package). Only imports that run when
a module is loaded count; those under ``if TYPE_CHECKING:`` do not. tests/test_architecture.py
holds the same rule as a test: no cycles, and the token core imports nothing of Plaudit.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "plaudit"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".")
                    base = base[: len(base) - child.level + (1 if is_package else 0)]
                    name = ".".join([*base, child.module] if child.module else base)
                else:
                    name = child.module or ""
                found.add(name)
                found.update(f"{name}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return found


def package_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """package -> the other plaudit packages it imports at load time."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if "migrations" in parts:
            continue
        is_package = parts[-1] == "__init__"
        dotted = ".".join(("plaudit", *(parts[:-1] if is_package else parts)))
        package = parts[0]
        graph.setdefault(package, set())
        for name in _imports(ast.parse(path.read_text()), dotted, is_package):
            pieces = name.split(".")
            if pieces[0] == "plaudit" and len(pieces) > 1:
                target = pieces[1]
                if target != package and (
                    (root / target).is_dir() or (root / f"{target}.py").exists()
                ):
                    graph[package].add(target)
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--longest", type=int, default=10, help="how many long modules to list")
    args = parser.parse_args()
    graph = package_graph()
    for package in sorted(graph):
        print(f"{package:14} -> {', '.join(sorted(graph[package])) or '-'}")
    found = cycles(graph)
    print()
    print("cycles:", "; ".join(" <-> ".join(c) for c in found) if found else "none")
    sizes = sorted(
        ((len(p.read_text().splitlines()), p.relative_to(ROOT.parent)) for p in ROOT.rglob("*.py")),
        reverse=True,
    )
    print()
    print("longest modules (lines):")
    for lines, path in sizes[: args.longest]:
        print(f"{lines:6}  {path}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
