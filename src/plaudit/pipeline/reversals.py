"""Refunds and chargebacks: what an earlier event earned is taken back
(``loyalty.reversal.reverse_event``) and, for a whole refund, the referral rewards its order triggered and that are not granted yet
are cancelled (``referrals.cancel_for_order``: the conversion named the order by ``order_id``).

Two ways in, one path: a server event with ``reverses`` (API key only: a browser's event,
``EventIn``, has no such field), and ``POST /v1/products/{id}/events/{event_id}/reversal``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from plaudit.audit.recorder import record
from plaudit.events import repository as event_store
from plaudit.events.errors import UnknownOriginalEvent
from plaudit.events.repository import Member
from plaudit.loyalty import reversal as ledger_reversal
from plaudit.loyalty.schemas import EntryOut, ReversalIn
from plaudit.products.models import Product
from plaudit.referrals import service as referrals
from plaudit.users.models import User
from plaudit.users.service import get_user


class Reversal(NamedTuple):
    """A stored event that reverses another: its user, its own id, the reference it sent
    (Plaudit's id of the earlier event or the sender's own), and why (the event's type)."""

    user: Member
    event_id: str
    reference: str
    reason: str


def resolve(session: Session, product: Product, reversals: Sequence[Reversal]) -> list[str]:
    """The Plaudit event id each reversal names, in order; refuses the whole batch
    (UnknownOriginalEvent) when one names no stored event of its user, or itself."""
    found = event_store.originals(
        session, product.id, {(r.user.id, r.reference) for r in reversals}
    )
    out = []
    for reversal in reversals:
        original = found.get((reversal.user.id, reversal.reference))
        if original is None or original == reversal.event_id:
            raise UnknownOriginalEvent(
                f"'reverses' names {reversal.reference!r}, which is no earlier event of user "
                f"{reversal.user.external_id!r} in product {product.id!r}.",
                field="reverses",
            )
        out.append(original)
    return out


def apply(
    session: Session, product: Product, reversals: Sequence[Reversal], *, now: dt.datetime
) -> None:
    """Reverse what each named event earned, in order, in the caller's transaction."""
    for reversal, original in zip(reversals, resolve(session, product, reversals), strict=True):
        reverse(session, product, event_id=original, reason=reversal.reason, now=now)


def reverse(
    session: Session,
    product: Product,
    *,
    event_id: str,
    reason: str,
    now: dt.datetime,
    points: int | None = None,
    user: User | None = None,
) -> ledger_reversal.Reversal:
    """Reverse the event (Plaudit's id, or the tenant's own with ``user`` when it is ambiguous)
    in the caller's transaction. A partial refund (``points``) leaves referral rewards alone:
    the order still stands."""
    done = ledger_reversal.reverse_event(
        session, product, event_id=event_id, reason=reason, now=now, points=points, user=user
    )
    if points is None:
        for order_id in dict.fromkeys(i for i in (done.client_event_id, done.event_id) if i):
            referrals.cancel_for_order(
                session,
                product,
                order_id,
                reason=reason,
                now=now,
                referred_user_id=done.user.external_id,
            )
    return done


def requested(
    session: Session, product: Product, event_id: str, body: ReversalIn, *, now: dt.datetime
) -> dict[str, Any]:
    """A reversal the tenant asked for (the API's route, the CLI): done, put in the audit log,
    and answered as ``ReversalOut``."""
    user = get_user(session, product.id, body.user_id) if body.user_id is not None else None
    done = reverse(
        session,
        product,
        event_id=event_id,
        reason=body.reason,
        points=body.points,
        user=user,
        now=now,
    )
    if done.entries:  # the ledger is written by statement: the audit hook cannot see it
        record(
            session,
            product_id=product.id,
            action="reversal.create",
            target_type="user",
            target_id=done.user.external_id,
            changes={
                "event_id": {"after": done.event_id},
                "points": {"after": done.reversed + done.unrecovered},
                "reason": {"after": body.reason},
            },
            now=now,
        )
    return {
        "event_id": done.event_id,
        "user_id": done.user.external_id,
        "reversed": done.reversed,
        "unrecovered": done.unrecovered,
        "balance": done.balance,
        "pending": done.pending,
        "lifetime": done.lifetime,
        "entries": [EntryOut.model_validate(entry).model_dump() for entry in done.entries],
    }
