"""Refunds and chargebacks sent as events: a server event with ``reverses`` takes back what an
earlier event of the same user earned (``ledger.reverse_event``). API key only: a browser's
event (``EventIn``) has no such field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy.orm import Session

from plaudit.events import repository as event_store
from plaudit.events.errors import UnknownOriginalEvent
from plaudit.events.repository import Member
from plaudit.loyalty import ledger
from plaudit.products.models import Product


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
        # MERGE: ledger.reverse_event is the ledger helper's (CONTRACT); wired at merge.
        ledger.reverse_event(session, product, event_id=original, reason=reversal.reason, now=now)  # type: ignore[attr-defined]
