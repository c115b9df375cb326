"""`make run` installs only the runtime dependencies: everything the package imports must be
one of them (a dev-only import breaks a fresh `make run` while `make test` still passes)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "plaudit"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {
        _normal(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in project["dependencies"]
    }
    optional = project["optional-dependencies"]
    # The PostgreSQL driver is the documented `[postgres]` extra, imported only for that store.
    names |= {
        _normal(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in optional["postgres"]
    }
    return names


def _imported_top_levels() -> set[str]:
    found = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"plaudit", "__future__"}


def test_every_third_party_import_is_a_runtime_dependency() -> None:
    """Each module the package imports comes from a distribution in [project.dependencies]."""
    providers = packages_distributions()
    runtime = _runtime_distributions()
    missing = {
        module: providers.get(module, ["?"])
        for module in _imported_top_levels()
        if not any(_normal(dist) in runtime for dist in providers.get(module, []))
    }
    assert missing == {}, f"imported but not a runtime dependency: {missing}"
