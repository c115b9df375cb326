"""``plaudit rewards redemptions|fulfil``: redemptions your server fulfils, from a terminal.

The same services and schemas as ``GET /v1/products/{id}/redemptions`` and ``POST
.../redemptions/{id}/fulfilment``: a failure refunds the points and sends
``redemption.failed``, a fulfilment sends ``redemption.fulfilled``; a redemption is settled once.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from plaudit.errors import InvalidInput
from plaudit.loyalty import fulfilment
from plaudit.loyalty.schemas import FulfilmentIn, RedemptionOut, RedemptionRecord
from plaudit.products.service import get_product
from plaudit.store.base import utcnow
from plaudit.users.models import User

from .runtime import JsonOpt, ProductArg, console, emit, given, services, validated

COLUMNS = ["id", "created_at", "user_id", "reward_name", "cost", "status", "code", "failure_reason"]


def _record(found: Any, user_id: str) -> dict[str, Any]:
    """A redemption as the API's RedemptionRecord answers it."""
    return RedemptionRecord.model_validate(
        {
            **RedemptionOut.model_validate(found).model_dump(),
            "user_id": user_id,
            "settled_at": found.settled_at,
            "failure_reason": found.failure_reason,
        }
    ).model_dump()


def redemptions(
    product_id: ProductArg,
    status: Annotated[
        str,
        typer.Option(help=f"Which: {', '.join(fulfilment.STATUSES)}."),
    ] = fulfilment.PENDING,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Redemptions in a status, oldest first: by default those waiting for your fulfilment."""
    if status not in fulfilment.STATUSES:
        raise InvalidInput(
            f"Unknown status {status!r}; choose one of {', '.join(fulfilment.STATUSES)}.",
            field="status",
            hint="Check --status; the command's --help lists its options.",
        )
    with services() as s, s.session() as session:
        found = fulfilment.listing(
            session, get_product(session, product_id), status=status, limit=limit
        )
        rows = [_record(r, user_id) for r, user_id in found]
    if as_json:
        emit(rows, as_json=True)
        return
    emit(rows, as_json=False, title=f"Redemptions: {status}", columns=COLUMNS)


def fulfil(
    product_id: ProductArg,
    redemption_id: Annotated[str, typer.Argument(help="The redemption id (red_...).")],
    outcome: Annotated[
        str,
        typer.Option(
            metavar="fulfilled|failed",
            help="fulfilled: delivered by you; failed: not delivered, its points refunded.",
            show_default=False,
        ),
    ],
    reason: Annotated[
        str | None,
        typer.Option(help="Why it failed (--outcome failed only).", show_default=False),
    ] = None,
    code: Annotated[
        str | None,
        typer.Option(
            help="A code for the user to see, e.g. a gift card number (fulfilled only).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark a redemption waiting for fulfilment fulfilled or failed (failed refunds its points).

    The same outcome again changes nothing; the other one is refused (redemption_settled).
    """
    body = validated(FulfilmentIn, given(outcome=outcome, reason=reason, code=code))
    with services() as s, s.session() as session:
        found = fulfilment.settle(
            session,
            get_product(session, product_id),
            redemption_id,
            outcome=body.outcome,
            reason=body.reason,
            code=body.code,
            now=utcnow(),
        )
        user = session.get(User, found.user_pk)
        row = _record(found, user.external_id if user is not None else "")
    if as_json:
        emit(row, as_json=True)
        return
    if row["status"] == "failed":
        console.print(
            f"[bold]{redemption_id} failed[/] ({row['failure_reason']}); "
            f"{row['cost']} points refunded to {row['user_id']}."
        )
    else:
        console.print(f"[bold green]{redemption_id} fulfilled[/] for {row['user_id']}.")


def register(rewards_app: typer.Typer) -> None:
    rewards_app.command("redemptions")(redemptions)
    rewards_app.command("fulfil")(fulfil)
