"""The house's one direction of imports, read from the code itself.

A package is the first name under ``plaudit`` (``plaudit.loyalty.ledger`` is ``loyalty``; a
top-level module such as ``plaudit.periods`` is a package of its own). Every import counts,
also one inside a function or under ``TYPE_CHECKING``: a cycle hidden in a function is still
a cycle of meaning. Alembic's scripts (``store/migrations``) are not modules of the package:
Alembic runs them by path, and its ``env.py`` loads every model on purpose.

``python tests/test_architecture.py`` prints the graph.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "plaudit"
SCRIPTS = (SOURCE / "store" / "migrations",)

Graph = dict[str, dict[str, set[str]]]


def _package(path: Path) -> str:
    return path.relative_to(SOURCE).parts[0].removesuffix(".py")


def _imported(path: Path) -> Iterator[str]:
    """The ``plaudit`` modules a file imports, as dotted names."""
    module = ["plaudit", *path.relative_to(SOURCE).with_suffix("").parts]
    if module[-1] == "__init__":
        module.pop()
        module.append("__init__")  # a relative import in a package's __init__ starts at it
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module[: -node.level]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


def package_graph() -> Graph:
    """package -> the packages it imports -> the files that import them."""
    graph: Graph = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if any(path.is_relative_to(script) for script in SCRIPTS):
            continue
        source = _package(path)
        edges = graph.setdefault(source, {})
        for name in _imported(path):
            parts = name.split(".")
            if parts[0] == "plaudit" and len(parts) > 1 and parts[1] != source:
                edges.setdefault(parts[1], set()).add(str(path.relative_to(SOURCE)))
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _explain(graph: Graph, group: list[str]) -> str:
    lines = [f"packages in a cycle: {', '.join(group)}"]
    for source in group:
        for target, files in sorted(graph[source].items()):
            if target in group:
                lines.append(f"  {source} -> {target}: {', '.join(sorted(files))}")
    return "\n".join(lines)


def test_no_package_imports_another_that_imports_it_back() -> None:
    """Imports between plaudit's packages run one way: no package reaches itself again."""
    graph = package_graph()
    assert not (found := cycles(graph)), "\n".join(_explain(graph, group) for group in found)


def test_the_token_core_imports_nothing_else_of_plaudit() -> None:
    """plaudit.auth stands alone: it imports no other plaudit package."""
    assert package_graph()["auth"] == {}


def test_the_features_stay_below_the_pipeline_that_runs_them() -> None:
    """The event pipeline sits above the programs it runs: none of them imports it."""
    graph = package_graph()
    below = ("events", "loyalty", "gamification", "webhooks", "users", "products")
    assert [p for p in below if "pipeline" in graph[p]] == []
    assert {"events", "loyalty", "gamification"} <= graph["pipeline"].keys()


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The finder itself is not blind: a -> b -> c -> a is one cycle, d outside it."""
    graph: Graph = {"a": {"b": set()}, "b": {"c": set()}, "c": {"a": set(), "d": set()}}
    assert cycles(graph) == [["a", "b", "c"]]


if __name__ == "__main__":
    for name, edges in sorted(package_graph().items()):
        print(f"{name} -> {' '.join(sorted(edges)) or '(nothing)'}")
