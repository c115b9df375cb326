"""Print the import graph of plaudit's packages, and any cycle among them.

    .venv/bin/python scripts/import_graph.py [--all]

A node is a subpackage (``products``) or a top-level module (``errors``) of ``plaudit``; an edge
A -> B means some module of A imports B at module level or inside a function. Imports under
``if TYPE_CHECKING:`` are left out (``--all`` counts them). Exits 1 if there is a cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "plaudit"


def _node(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "plaudit" or len(parts) < 2:
        return None
    return parts[1]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, package: str, *, count_type_checking: bool) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not count_type_checking:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph(*, count_type_checking: bool = False) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if path.parent.name == "migrations" or path.parent.parent.name == "migrations":
            # Alembic's scripts: run by Alembic, imported by no module. Its env reads every
            # table from plaudit.models, which sits above the features.
            continue
        relative = path.relative_to(ROOT.parent).with_suffix("")
        module = ".".join(relative.parts)
        is_package = path.name == "__init__.py"
        package = module.removesuffix(".__init__") if is_package else module.rsplit(".", 1)[0]
        source = _node(module.removesuffix(".__init__")) or "__init__"
        edges.setdefault(source, set())
        tree = ast.parse(path.read_text(), str(path))
        for imported in _imports(tree, package, count_type_checking=count_type_checking):
            target = _node(imported)
            if target is None or target == source:
                continue
            if (ROOT / target).is_dir() or (ROOT / f"{target}.py").exists():
                edges[source].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                strongconnect(target)
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
            strongconnect(node)
    return found


def main() -> int:
    edges = graph(count_type_checking="--all" in sys.argv)
    for source in sorted(edges):
        if source != "__init__":
            print(f"{source:14} -> {', '.join(sorted(edges[source])) or '-'}")
    found = cycles(edges)
    for component in found:
        print("cycle:", " <-> ".join(component))
    if not found:
        print("no cycles")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
