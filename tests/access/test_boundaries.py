"""The access layer and the store sit below every feature: they import none of them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_graph.py"
FEATURES = {
    "products",
    "users",
    "referrals",
    "loyalty",
    "gamification",
    "events",
    "webhooks",
    "widget",
    "me",
    "console",
    "web",
    "cli",
    "app",
    "models",
}


def _import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_access_and_store_import_no_feature_package() -> None:
    edges = _import_graph().graph(count_type_checking=True)
    assert edges["access"] & FEATURES == set()
    assert edges["store"] & FEATURES == set()


def test_no_package_imports_the_model_aggregation_but_the_app_and_the_cli() -> None:
    edges = _import_graph().graph()
    importers = {source for source, targets in edges.items() if "models" in targets}
    assert importers <= {"app", "cli"}


def test_the_graph_script_finds_a_cycle() -> None:
    assert _import_graph().cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]
