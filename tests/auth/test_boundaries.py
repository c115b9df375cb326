"""The token core stands alone: no web framework, no database, nothing else of Plaudit."""

from __future__ import annotations

import ast
from pathlib import Path

import plaudit.auth

CORE = Path(plaudit.auth.__file__).parent
FORBIDDEN = (
    "plaudit",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "httpx",
    "pydantic",
    "uvicorn",
    "structlog",
    "typer",
    "rich",
    "jinja2",
    "requests",
)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_core_imports_no_framework_database_or_other_plaudit_module() -> None:
    offenders = {
        f"{path.relative_to(CORE)}: {name}"
        for path in CORE.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offenders, offenders
