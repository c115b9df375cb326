"""The tenant's manual corrections of a balance, for the management API, the console and the
CLI alike: the ledger, then the badges a credit may award (a step of the pipeline, since the
loyalty program does not know the badges)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from plaudit.audit.recorder import record
from plaudit.gamification import badges
from plaudit.loyalty import ledger
from plaudit.loyalty.schemas import AdjustmentIn, AdjustmentOut, EntryOut
from plaudit.products.models import Product
from plaudit.users.models import User


def adjust_points(
    session: Session, product: Product, user: User, body: AdjustmentIn, *, now: dt.datetime
) -> AdjustmentOut:
    """Add or take points with a reason; a credit counts as earned, so it may award a
    points-total badge. Raises InsufficientPoints rather than overdraw."""
    entry = ledger.adjust(session, product, user, points=body.amount, reason=body.reason, now=now)
    record(  # the ledger is written by statement, not by the ORM: the hook cannot see it
        session,
        product_id=product.id,
        action="adjustment.create",
        target_type="user",
        target_id=user.external_id,
        changes={"points": {"after": body.amount}, "reason": {"after": body.reason}},
        now=now,
    )
    if body.amount > 0:
        badges.evaluate(session, product, user, now=now, lifetime=entry.lifetime)
    return AdjustmentOut(entry=EntryOut.model_validate(entry), balance=entry.balance_after)
