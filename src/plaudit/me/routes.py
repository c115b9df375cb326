"""/v1/me and its history for the token's user; the same views of any user for the tenant."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.gamification.schemas import StreakOut, UserBadgeOut
from plaudit.loyalty import fulfilment, ledger
from plaudit.loyalty.schemas import EntryOut, HistoryOut, RuleOut, TierOut, TierStatus
from plaudit.products.dependencies import ManagedProduct
from plaudit.referrals.schemas import ProductBrief, Stats
from plaudit.responses import IsoTime
from plaudit.users.client import ReadingUser
from plaudit.users.models import User
from plaudit.users.service import get_user

from . import service

router = APIRouter()
PAGE = 100


class Moment(BaseModel):
    points: int
    at: IsoTime


class Points(BaseModel):
    balance: int = Field(description="Points that can be spent now.")
    lifetime: int = Field(description="Every point ever earned: what tiers count.")
    pending: int = Field(
        default=0, description="Points earned but held: they can be spent once they clear."
    )
    next_release: Moment | None = Field(
        default=None,
        description="When held points next clear, and how many clear within a day of then; "
        "null: nothing pending.",
    )
    next_expiry: Moment | None = Field(
        default=None,
        description="When points next expire, and how many expire within a day of then; "
        "null: none expire.",
    )


class NextTier(TierOut):
    points_needed: int
    progress: float = Field(ge=0, le=1, description="From the current tier's threshold.")


class MeUser(BaseModel):
    id: str
    first_name: str | None
    name: str | None


class ReferralStats(Stats):
    code: str
    link: str


class Me(BaseModel):
    product: ProductBrief
    user: MeUser
    points: Points
    tier: TierOut | None
    next_tier: NextTier | None = Field(description="null at the top tier, or with no tiers.")
    tier_status: TierStatus | None = Field(
        default=None, description="How the user holds their tier; null with no tiers."
    )
    tiers: list[TierOut]
    badges: list[UserBadgeOut]
    streaks: list[StreakOut]
    referrals: ReferralStats
    ways_to_earn: list[RuleOut]


@router.get(
    "/v1/me",
    response_model=Me,
    summary="The token's user in every program: points, tier, badges, streaks (scope 'read')",
    tags=["client"],
)
def me(user: ReadingUser, session: DbSession, state: State) -> Any:
    product, found = user.product_and_user(session)
    return service.summary(
        session, product, found, now=state.now(), public_url=state.settings.resolved_public_url
    )


@router.get(
    "/v1/me/history",
    response_model=HistoryOut,
    summary="The token's user's points history, newest first (scope 'read')",
    tags=["client"],
)
def my_history(
    user: ReadingUser,
    session: DbSession,
    limit: int = Query(20, ge=1, le=PAGE),
    before: int | None = Query(None, ge=1, le=2**62, description="next_before of a page."),
) -> Any:
    _product, found = user.product_and_user(session)
    return _history(session, found, limit=limit, before=before)


@router.get(
    "/v1/products/{product_id}/users/{user_id}/loyalty",
    response_model=Me,
    summary="One user in every program, as their widget shows them",
    tags=["loyalty"],
)
def user_summary(
    product_id: str, user_id: str, product: ManagedProduct, session: DbSession, state: State
) -> Any:
    user = get_user(session, product.id, user_id)
    return service.summary(
        session, product, user, now=state.now(), public_url=state.settings.resolved_public_url
    )


@router.get(
    "/v1/products/{product_id}/users/{user_id}/history",
    response_model=HistoryOut,
    summary="One user's points history, newest first",
    tags=["loyalty"],
)
def user_history(
    product_id: str,
    user_id: str,
    product: ManagedProduct,
    session: DbSession,
    limit: int = Query(20, ge=1, le=PAGE),
    before: int | None = Query(None, ge=1, le=2**62),
) -> Any:
    user = get_user(session, product.id, user_id)
    return _history(session, user, limit=limit, before=before)


def _history(session: Session, user: User, *, limit: int, before: int | None) -> dict[str, Any]:
    entries, next_before = ledger.history(session, user, limit=limit, before=before)
    # A redeem entry shows its redemption's code and status: the user's own redemptions only.
    redeemed = fulfilment.of_user(
        session, user, (e.redemption_id for e in entries if e.kind == "redeem" and e.redemption_id)
    )
    out = []
    for e in entries:
        row = EntryOut.model_validate(e).model_dump()
        found = redeemed.get(e.redemption_id or "") if e.kind == "redeem" else None
        if found is not None:
            row.update(reward_code=found.code, redemption_status=found.status)
        out.append(row)
    return {"entries": out, "next_before": next_before}
