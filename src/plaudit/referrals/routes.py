"""Referral links (`/r/{code}`), the user's referral summary, and the server API for signups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse

from plaudit.products.service import get_product
from plaudit.shapes import Identifier
from plaudit.users.models import User
from plaudit.web.client import authenticate_user
from plaudit.web.management import Manager
from plaudit.web.state import AppState, get_state, in_session

from . import service
from .models import Referral, ReferralReward

router = APIRouter(tags=["referrals"])


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referred_user_id: Identifier = Field(
        min_length=1, max_length=255, description="The new user's id in your system."
    )
    code: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The referral code the new user arrived with.",
    )
    referrer_user_id: Identifier | None = Field(
        default=None, min_length=1, max_length=255, description="Or the referrer's user id."
    )


class RewardOut(BaseModel):
    kind: str
    amount: int


class ReferralOut(BaseModel):
    id: int
    referrer_user_id: str | None
    referred_user_id: str
    signed_up_at: str
    converted_at: str | None
    reward: RewardOut | None


class ProductBrief(BaseModel):
    id: str
    name: str
    theme: dict[str, str]


class UserBrief(BaseModel):
    id: str
    first_name: str | None


class Stats(BaseModel):
    clicks: int
    signups: int
    conversions: int


class EarnedReward(RewardOut):
    created_at: str
    referred_user_id: str


class RewardRule(RewardOut):
    on: str = Field(description="'signup' or 'conversion'.")


class Share(BaseModel):
    subject: str
    text: str


class ReferralSummary(BaseModel):
    """What the widget shows the token's user."""

    product: ProductBrief
    user: UserBrief
    code: str
    link: str = Field(description="{PLAUDIT_PUBLIC_URL}/r/{code}")
    stats: Stats
    rewards: list[EarnedReward]
    reward_totals: dict[str, int]
    reward: RewardRule
    share: Share


class ReferralsPage(BaseModel):
    referrals: list[ReferralOut]
    total: int


@router.get(
    "/r/{code}",
    include_in_schema=True,
    status_code=302,
    summary="A share link: counts the click and redirects to the product's landing page",
    response_class=RedirectResponse,
)
async def follow_link(request: Request, code: str) -> RedirectResponse:
    settings = get_state(request).settings
    fallback = settings.default_landing_url or settings.resolved_public_url + "/"

    def work(session: Session, _state: AppState) -> str:
        product, known = service.record_click(session, code)
        return service.landing_url(product, known, fallback)

    # An unknown code, or a failing store, still lands the visitor somewhere useful.
    try:
        target = await in_session(request, work)
    except Exception:  # never an error page for a person following a link
        target = fallback
    return RedirectResponse(
        target,
        status_code=302,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get(
    "/v1/referrals/me",
    response_model=ReferralSummary,
    summary="The token's user: share link, stats, rewards (scope 'read')",
    tags=["client"],
)
async def my_referrals(request: Request) -> Any:
    context = await authenticate_user(request, scopes=("read",))

    def work(session: Session, state: AppState) -> dict[str, Any]:
        # Found, or made if this token's first sight was served before the store had it.
        product, user = context.product_and_user(session)
        return service.summary(
            session, product, user, public_url=state.settings.resolved_public_url
        )

    return await in_session(request, work)


def _answer(session: Session, referral: Referral, reward: ReferralReward | None) -> dict[str, Any]:
    session.flush()
    return service.referral_info(referral, session.get(User, referral.referrer_pk), reward)


@router.post(
    "/v1/products/{product_id}/referrals",
    status_code=201,
    response_model=ReferralOut,
    summary="Record a referred signup (server API)",
)
async def record_signup(
    request: Request, product_id: str, body: SignupIn, principal: Manager
) -> Any:
    principal.check_product(product_id)

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        referral, reward = service.record_signup(
            session,
            get_product(session, product_id),
            referred_user_id=body.referred_user_id,
            code=body.code,
            referrer_user_id=body.referrer_user_id,
        )
        return _answer(session, referral, reward)

    return await in_session(request, work)


@router.post(
    "/v1/products/{product_id}/referrals/{referred_user_id}/conversion",
    response_model=ReferralOut,
    summary="Record that a referred user converted; grants the referrer's reward once",
)
async def record_conversion(
    request: Request, product_id: str, referred_user_id: str, principal: Manager
) -> Any:
    principal.check_product(product_id)

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        referral, reward = service.record_conversion(
            session, get_product(session, product_id), referred_user_id=referred_user_id
        )
        return _answer(session, referral, reward)

    return await in_session(request, work)


@router.get(
    "/v1/products/{product_id}/referrals",
    response_model=ReferralsPage,
    summary="The product's referrals, newest first",
)
async def list_referrals(
    request: Request,
    product_id: str,
    principal: Manager,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    user_id: str | None = Query(
        None, min_length=1, max_length=255, description="Only those this user made or came by."
    ),
) -> Any:
    principal.check_product(product_id)

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        rows, total = service.list_referrals(
            session, get_product(session, product_id), limit=limit, offset=offset, user_id=user_id
        )
        return {"referrals": rows, "total": total}

    return await in_session(request, work)
