"""``plaudit points``: a user's points adjusted by hand (through the pipeline, as the API
does) and their history.
"""

from __future__ import annotations

from typing import Annotated

import typer

from plaudit.loyalty import ledger
from plaudit.loyalty.errors import InsufficientPoints
from plaudit.loyalty.schemas import (
    AdjustmentIn,
    EntryOut,
)
from plaudit.pipeline.adjustments import adjust_points
from plaudit.products.service import get_product
from plaudit.store.base import utcnow
from plaudit.users.service import get_user

from .runtime import (
    JsonOpt,
    ProductArg,
    console,
    emit,
    option_hint,
    services,
    validated,
)

points_app = typer.Typer(
    help="A user's points: adjust them by hand, read the history.", no_args_is_help=True
)


# --- points -------------------------------------------------------------------------------

UserArg = Annotated[str, typer.Argument(help="The user's id in your system.")]


@points_app.command(
    "adjust",
    # A negative AMOUNT ("-50") is an argument, not an unknown option.
    context_settings={"ignore_unknown_options": True},
)
def points_adjust(
    product_id: ProductArg,
    user_id: UserArg,
    amount: Annotated[
        int, typer.Argument(help="Points to add, or to take away when negative (-50).")
    ],
    reason: Annotated[str, typer.Option(help="Why; the user sees it in their history.")],
    as_json: JsonOpt = False,
) -> None:
    """Add or take away a user's points by hand, with a reason their history shows.

    A balance never goes below zero (insufficient_points). Added points count as earned:
    they raise the tier, award points badges and count on the leaderboards.
    """
    body = validated(
        AdjustmentIn,
        {"amount": amount, "reason": reason},
        hint=lambda field: option_hint(field, {"amount": "AMOUNT"}),
    )
    with services() as s, s.session() as session:
        product = get_product(session, product_id)
        user = get_user(session, product.id, user_id)
        try:
            result = adjust_points(session, product, user, body, now=utcnow())
        except InsufficientPoints as exc:
            raise InsufficientPoints(
                exc.message,
                hint=f"'plaudit users show {product_id} {user_id}' shows the balance; a "
                "balance never goes below zero.",
            ) from None
    if as_json:
        emit(result.model_dump(), as_json=True)
        return
    console.print(
        f"[bold green]{amount:+d} points[/] for {user_id} ({body.reason}); "
        f"balance {result.balance}."
    )


@points_app.command("history")
def points_history(
    product_id: ProductArg,
    user_id: UserArg,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Entries per page.")] = 20,
    before: Annotated[
        int | None,
        typer.Option(min=1, max=2**62, help="An entry id: only entries older than it."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A user's points history, newest first, as their widget shows it."""
    with services() as s, s.session() as session:
        user = get_user(session, get_product(session, product_id).id, user_id)
        entries, next_before = ledger.history(session, user, limit=limit, before=before)
        rows = [EntryOut.model_validate(e).model_dump() for e in entries]
    if as_json:
        emit({"entries": rows, "next_before": next_before}, as_json=True)
        return
    emit(
        [{**r, "delta": f"{r['delta']:+d}"} for r in rows],
        as_json=False,
        title=f"Points history of {user_id}",
        columns=["id", "created_at", "kind", "delta", "balance_after", "reason"],
    )
    if next_before is not None:
        console.print(f"[dim]Older entries: --before {next_before}[/dim]")
