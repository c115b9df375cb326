"""The ``plaudit`` command.

The root app holds one Typer group per noun; add one with ``app.add_typer(group, name="...")``.
A command reports a refused token or key by raising ``plaudit.auth.AuthError`` and a file
problem by letting ``OSError`` through: the root group prints either as one red line with its
hint and exits 1, never with a traceback.
"""

from __future__ import annotations

import errno
import sys
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from plaudit.auth import AuthError
from plaudit.cli import export, programs, serve
from plaudit.cli.audit import app as audit_app
from plaudit.cli.events import app as events_app
from plaudit.cli.keys import app as keys_app
from plaudit.cli.manage import products_app, secrets_app, users_app
from plaudit.cli.privacy import app as privacy_app
from plaudit.cli.referrals import app as referrals_app
from plaudit.cli.revocations import app as revocations_app
from plaudit.cli.token import app as token_app
from plaudit.cli.webhooks import app as webhooks_app
from plaudit.errors import InvalidInput, ServiceError
from plaudit.settings import SettingsError
from plaudit.store.crypto import MasterKeyError

#: Everything a command can fail with that a person should read as one line, not a traceback.
Reportable = AuthError | ServiceError | OSError | SettingsError | MasterKeyError | ValidationError
REPORTABLE = (AuthError, ServiceError, OSError, SettingsError, MasterKeyError, ValidationError)

_OS_HINTS = {
    errno.ENOENT: "Check the path; a relative path starts from the current directory.",
    errno.EEXIST: "Choose another --out prefix, or pass --force to overwrite.",
    errno.EACCES: "Check the file's permissions.",
    errno.EISDIR: "Give the path of a file, not of a directory.",
}


def error_line(exc: Reportable) -> Text:
    """The one line a failed command prints: what went wrong, its code, and how to fix it."""
    if isinstance(exc, (AuthError, ServiceError)):
        message, code, hint = exc.message, exc.code, exc.hint
        if isinstance(exc, InvalidInput) and hint == InvalidInput.hint:  # the API's hint
            hint = "The command's --help lists its options and their limits."
    elif isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where.upper() and 'PLAUDIT_' + where.upper() + ': '}{first.get('msg')}"
        code, hint = "invalid_setting", "Check the PLAUDIT_* environment variables and .env."
    elif isinstance(exc, (SettingsError, MasterKeyError)):
        message, code, hint = str(exc), "invalid_setting", ""
    else:
        what = exc.strerror or str(exc) or type(exc).__name__
        message = f"{what}: {exc.filename}" if exc.filename is not None else what
        code, hint = "os_error", _OS_HINTS.get(exc.errno or 0, "")
    line = Text(f"error: {message} ({code})", style="bold red")
    if hint:
        line.append(f"  hint: {hint}", style="red")
    return line


def report(exc: Reportable) -> None:
    Console(stderr=True, soft_wrap=True, highlight=False).print(error_line(exc))


class PlauditGroup(TyperGroup):
    """The root group: every command's ``AuthError`` or ``OSError`` becomes a clean exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # `plaudit token sign | head -c0`: Typer silences a closed pipe itself
        except REPORTABLE as exc:
            report(exc)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="plaudit",
    cls=PlauditGroup,
    help="Plaudit: referrals, loyalty and gamification behind tokens your backend signs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets and keys
)
app.add_typer(token_app, name="token")
app.add_typer(keys_app, name="keys")
app.add_typer(products_app, name="products")
app.add_typer(secrets_app, name="secrets")
app.add_typer(users_app, name="users")
app.add_typer(revocations_app, name="revocations")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(events_app, name="events")
app.add_typer(audit_app, name="audit")
app.add_typer(privacy_app, name="privacy")
app.add_typer(referrals_app, name="referrals")
serve.register(app)
programs.register(app)
export.register(app)


def main() -> None:
    """The console script: run the app; an error escaping it still ends as one clean line."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(1)
    except REPORTABLE as exc:
        report(exc)
        sys.exit(1)


__all__ = ["PlauditGroup", "app", "error_line", "main", "report"]
