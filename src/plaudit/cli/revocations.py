"""``plaudit revocations``: list, add and delete a product's revocations from a terminal.

The same service functions as ``/v1/products/{id}/revocations``; a change moves the product's
version, so running servers pick it up within ``PLAUDIT_KEYSTORE_REFRESH_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from plaudit.products import revocations
from plaudit.products.schemas import RevocationCreate, RevocationOut
from plaudit.products.service import get_product

from .runtime import JsonOpt, ProductArg, console, emit, given, services, validated

app = typer.Typer(
    help="Revoke a token (by jti) or a user's tokens, list revocations, undo one.",
    no_args_is_help=True,
)
COLUMNS = ["id", "jti", "user_id", "issued_before", "reason", "created_at"]


@app.command("list")
def revocations_list(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """A product's revocations, oldest first."""
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        rows = [
            RevocationOut.model_validate(r).model_dump(mode="json")
            for r in revocations.list_revocations(session, product)
        ]
    emit(rows, as_json=as_json, title="Revocations", columns=COLUMNS)


@app.command("add")
def revocations_add(
    product_id: ProductArg,
    jti: Annotated[str | None, typer.Option(help="Revoke the token with this jti.")] = None,
    user_id: Annotated[
        str | None,
        typer.Option(help="Or: revoke this user's tokens issued before --issued-before (now)."),
    ] = None,
    issued_before: Annotated[
        dt.datetime | None, typer.Option(help="With --user-id: the cut-off (UTC if no zone).")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Revoke a token by jti, or a user's tokens issued before a moment."""
    body = validated(
        RevocationCreate,
        given(jti=jti, user_id=user_id, issued_before=issued_before, reason=reason),
    )
    with services() as s, s.session() as session:
        record = revocations.add_revocation(
            session,
            get_product(session, product_id),
            jti=body.jti,
            user_id=body.user_id,
            issued_before=body.issued_before,
            reason=body.reason,
        )
        result = RevocationOut.model_validate(record).model_dump(mode="json")
    emit(result, as_json=as_json, title="Revocation added", columns=COLUMNS)


@app.command("delete")
def revocations_delete(
    product_id: ProductArg,
    revocation_id: Annotated[
        int, typer.Argument(help="The revocation's id (see list).", min=1, max=2**31 - 1)
    ],
    as_json: JsonOpt = False,
) -> None:
    """Undo a revocation: the tokens it refused verify again."""
    with services() as s, s.session() as session:
        revocations.delete_revocation(session, get_product(session, product_id), revocation_id)
    if as_json:
        emit({"deleted": revocation_id}, as_json=True)
    else:
        console.print(f"[green]Deleted revocation {revocation_id} of {product_id}.[/green]")
