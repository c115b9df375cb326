"""What the service commands share: settings from the environment, the store, output helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from plaudit.audit import actor as audit_actor
from plaudit.audit import recorder as audit_recorder
from plaudit.errors import InvalidInput, invalid_input
from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from plaudit.store.migrate import current_revision, head_revision, upgrade

console = Console(highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ProductArg = Annotated[str, typer.Argument(help="The product id.")]
Model = TypeVar("Model", bound=BaseModel)


@dataclass
class Services:
    settings: Settings
    db: Database
    box: SecretBox

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.db.session() as session:
            audit_actor.act_as(session, audit_actor.CLI)  # the terminal's changes are audited
            yield session


def load_settings() -> Settings:
    return Settings().resolve_development_secrets()


@contextmanager
def services(*, migrate: bool | None = None) -> Iterator[Services]:
    """The store named by PLAUDIT_DATABASE_URL. SQLite is migrated on the way in; PostgreSQL is
    left to `plaudit migrate`, so that one deploy step owns its schema."""
    settings = load_settings()
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        if migrate if migrate is not None else db.is_sqlite:
            upgrade(db.engine)
        elif current_revision(db.engine) != head_revision():
            raise typer.BadParameter(
                "The database schema is not current; run 'plaudit migrate' first.",
                param_hint="PLAUDIT_DATABASE_URL",
            )
        audit_recorder.install()
        yield Services(settings=settings, db=db, box=SecretBox(settings.master_key or ""))
    finally:
        db.dispose()


def emit(
    rows: Sequence[dict[str, Any]] | dict[str, Any],
    *,
    as_json: bool,
    title: str = "",
    columns: Sequence[str] | None = None,
) -> None:
    """Print a table for people or JSON for scripts."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    items = [rows] if isinstance(rows, dict) else list(rows)
    if not items:
        console.print(f"[dim]No {title.lower() or 'rows'}.[/dim]")
        return
    names = list(columns or items[0].keys())
    table = Table(title=title or None, show_lines=False)
    for name in names:
        if name == "id" or name.endswith("_id"):  # ids are copied whole: never cut them short
            width = max(len(_cell(item.get(name))) for item in items)
            table.add_column(name, no_wrap=True, min_width=max(width, len(name)))
        else:
            table.add_column(name)
    for item in items:
        table.add_row(*(_cell(item.get(name)) for name in names))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def option_hint(field: str | None, renames: Mapping[str, str] | None = None) -> str:
    """The hint for a refused field: the command-line option that set it."""
    names = [part for part in (field or "").split(".") if part and not part.isdigit()]
    if not names:
        return "The command's --help lists its options and their limits."
    name = names[-1]
    option = (renames or {}).get(name, "--" + name.replace("_", "-"))
    return f"Check {option}; the command's --help lists its options and their limits."


def validated(
    model: type[Model],
    data: Mapping[str, Any],
    *,
    hint: Callable[[str | None], str] = option_hint,
) -> Model:
    """``data`` through the HTTP API's own schema: what the API refuses is refused here, with
    the API's message (``field: why``) and a hint naming the option to fix."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        error = invalid_input(exc.errors())
        raise InvalidInput(error.message, field=error.field, hint=hint(error.field)) from None


def given(**values: Any) -> dict[str, Any]:
    """The options the user gave (not None): a change touches only those fields."""
    return {name: value for name, value in values.items() if value is not None}


#: The programs' commands (rules, tiers, rewards, badges) share these.
NOTHING_TO_CHANGE = "Nothing to change: give at least one option (see --help)."
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
EnableOpt = Annotated[
    bool | None, typer.Option("--enable/--disable", help="Switch it on or off.", show_default=False)
]
