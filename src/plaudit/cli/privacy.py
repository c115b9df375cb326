"""``plaudit privacy``: a user's export, a user's erasure, and the requests made, from a
terminal. The same services as ``/v1/products/{id}/users/{user}/export`` and ``.../erase``;
recorded and audited as the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from plaudit.privacy import service
from plaudit.privacy.schemas import PrivacyRequestOut
from plaudit.privacy.subject import digest_key
from plaudit.products.service import get_product
from plaudit.store.base import utcnow

from .runtime import JsonOpt, ProductArg, console, emit, services

app = typer.Typer(help="Export or erase one user's data (privacy requests).", no_args_is_help=True)
UserArg = Annotated[str, typer.Argument(help="The user's id in your system.")]
COLUMNS = ["id", "kind", "user_id", "requested_by", "created_at"]


@app.command("export")
def privacy_export(
    product_id: ProductArg,
    user_id: UserArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here, not to stdout.")
    ] = None,
) -> None:
    """Everything Plaudit holds about the user, as one JSON document."""
    with services() as s, s.session() as session:
        document, _ = service.export_request(
            session,
            get_product(session, product_id),
            user_id,
            digest_key=digest_key(s.settings.master_key or ""),
            now=utcnow(),
        )
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n")
    console.print(
        f"[green]Wrote {user_id}'s export ({document['request_id']}) to {output}.[/green]"
    )


@app.command("erase")
def privacy_erase(
    product_id: ProductArg,
    user_id: UserArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase the user: personal data removed, the id pseudonymised (docs/privacy.md)."""
    if not yes and not typer.confirm(
        f"Erase {user_id!r} of {product_id!r}? This cannot be undone.", default=False
    ):
        raise typer.Exit(1)
    with services() as s, s.session() as session:
        erasure = service.erase_user(
            session,
            get_product(session, product_id),
            user_id,
            digest_key=digest_key(s.settings.master_key or ""),
            now=utcnow(),
        )
        result = {
            **PrivacyRequestOut.model_validate(erasure.request).model_dump(mode="json"),
            "already_erased": erasure.already,
        }
    if as_json:
        emit(result, as_json=True)
    elif erasure.already:
        console.print(f"{user_id!r} was erased before ({result['id']}): nothing more to do.")
    else:
        console.print(
            f"[green]Erased {user_id!r}[/green]: now {result['user_id']} ({result['id']}). "
            "Running servers refuse the user's old tokens within PLAUDIT_KEYSTORE_REFRESH_SECONDS."
        )


@app.command("list")
def privacy_list(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """The product's privacy requests, newest first."""
    with services() as s, s.session() as session:
        rows, _ = service.list_requests(session, get_product(session, product_id), limit=200)
        answer = [PrivacyRequestOut.model_validate(r).model_dump(mode="json") for r in rows]
    emit(answer, as_json=as_json, title="Privacy requests", columns=COLUMNS)
