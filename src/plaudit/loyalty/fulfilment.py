"""Redemptions the tenant fulfils: ``pending_fulfilment`` until the tenant's server says
``fulfilled`` or ``failed`` (a failure gives the points back).

Settling is one conditional UPDATE (``WHERE status = 'pending_fulfilment'``): a fulfilment and
a failure racing on PostgreSQL are serialised by the row lock, and the second finds the row
settled. Sending the same outcome again answers the redemption as it is (idempotent); the other
outcome is refused with ``redemption_settled``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, tenant_filter
from plaudit.audit.recorder import record
from plaudit.errors import NotFound
from plaudit.products.models import Product
from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from . import ledger
from .errors import RedemptionSettled
from .models import Redemption

PENDING = "pending_fulfilment"
STATUSES = ("delivered", PENDING, "fulfilled", "failed")
Outcome = Literal["fulfilled", "failed"]


def redemption(session: Session, product: Product, redemption_id: str) -> Redemption:
    """The product's redemption, re-read; another product's does not exist here."""
    found = session.scalar(
        scoped(Redemption, product.id)
        .where(Redemption.id == redemption_id)
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(f"Product {product.id!r} has no redemption {redemption_id!r}.")
    return found


def listing(
    session: Session, product: Product, *, status: str, limit: int
) -> list[tuple[Redemption, str]]:
    """The product's redemptions in a status, oldest first, with their users' ids."""
    rows = session.execute(
        scoped(Redemption, product.id)
        .add_columns(User.external_id)
        .join(User, User.id == Redemption.user_pk)
        .where(Redemption.status == status)
        .order_by(Redemption.created_at, Redemption.id)
        .limit(limit)
    )
    return [(found, str(user_id)) for found, user_id in rows]


def settle(
    session: Session,
    product: Product,
    redemption_id: str,
    *,
    outcome: Outcome,
    reason: str | None = None,
    code: str | None = None,
    now: dt.datetime,
) -> Redemption:
    """Mark a pending redemption fulfilled (with the code the user is to see, if any) or
    failed (its points refunded); the same outcome again changes nothing."""
    found = redemption(session, product, redemption_id)
    values: dict[str, object] = {"status": outcome, "settled_at": now}
    if outcome == "failed":
        values["failure_reason"] = reason or "Not fulfilled"
    elif code is not None:
        values["code"] = code
    done = session.execute(
        update(Redemption)
        .where(
            tenant_filter(Redemption, product.id),
            Redemption.id == redemption_id,
            Redemption.status == PENDING,
        )
        .values(values)
    )
    found = redemption(session, product, redemption_id)
    if not done.rowcount:  # type: ignore[attr-defined]
        if found.status == outcome:
            return found
        raise RedemptionSettled(
            f"The redemption {redemption_id!r} is {found.status!r}; it cannot become {outcome!r}."
        )
    user = session.get(User, found.user_pk)
    assert user is not None  # noqa: S101  # a redemption cascades with its user
    record(  # settled by statement, not by the ORM: the audit hook cannot see it
        session,
        product_id=product.id,
        action="redemption.settle",
        target_type="redemption",
        target_id=found.id,
        changes={
            "status": {"before": PENDING, "after": outcome},
            **({"failure_reason": {"after": found.failure_reason}} if outcome == "failed" else {}),
            "user_id": {"after": user.external_id},
        },
        now=now,
    )
    data: dict[str, object] = {
        "redemption_id": found.id,
        "reward": {"id": found.reward_id, "name": found.reward_name},
        "points": found.cost,
    }
    if outcome == "failed":
        entry = ledger.refund(
            session,
            product,
            user,
            points=found.cost,
            reason=f"Refunded: {found.reward_name}",
            redemption_id=found.id,
            now=now,
        )
        data.update(reason=found.failure_reason, balance=entry.balance_after)
    enqueue(
        session,
        product_id=product.id,
        event_type=f"redemption.{outcome}",
        data=data,
        user_id=user.external_id,
        now=now,
    )
    return found


def of_user(session: Session, user: User, redemption_ids: Iterable[str]) -> dict[str, Redemption]:
    """The user's own redemptions among these ids: what their history shows of each."""
    wanted = sorted(set(redemption_ids))
    if not wanted:
        return {}
    rows = session.scalars(
        scoped(Redemption, user.product_id).where(
            Redemption.user_pk == user.id, Redemption.id.in_(wanted)
        )
    )
    return {found.id: found for found in rows}
