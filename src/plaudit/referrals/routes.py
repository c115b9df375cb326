"""Referral links (`/r/{code}`), the user's referral summary, and the server API for signups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.responses import RedirectResponse

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.products.dependencies import ManagedProduct
from plaudit.users.client import ReadingUser

from . import service
from .schemas import ReferralOut, ReferralsPage, ReferralSummary, SignupIn

router = APIRouter(tags=["referrals"])


@router.get(
    "/r/{code}",
    include_in_schema=True,
    status_code=302,
    summary="A share link: counts the click and redirects to the product's landing page",
    response_class=RedirectResponse,
)
def follow_link(code: str, state: State) -> RedirectResponse:
    settings = state.settings
    fallback = settings.default_landing_url or settings.resolved_public_url + "/"
    # Its own unit of work rather than DbSession's: an unknown code, or a failing store (even
    # at commit), still lands the visitor somewhere useful, never on an error page.
    try:
        with state.db.session() as session:
            product, known = service.record_click(session, code)
            target = service.landing_url(product, known, fallback)
    except Exception:
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
def my_referrals(user: ReadingUser, session: DbSession, state: State) -> Any:
    # Found, or made if this token's first sight was served before the store had it.
    product, found = user.product_and_user(session)
    return service.summary(session, product, found, public_url=state.settings.resolved_public_url)


@router.post(
    "/v1/products/{product_id}/referrals",
    status_code=201,
    response_model=ReferralOut,
    summary="Record a referred signup (server API)",
)
def record_signup(
    product_id: str, body: SignupIn, product: ManagedProduct, session: DbSession
) -> Any:
    referral, reward = service.record_signup(
        session,
        product,
        referred_user_id=body.referred_user_id,
        code=body.code,
        referrer_user_id=body.referrer_user_id,
    )
    return service.referral_answer(session, referral, reward)


@router.post(
    "/v1/products/{product_id}/referrals/{referred_user_id}/conversion",
    response_model=ReferralOut,
    summary="Record that a referred user converted; grants the referrer's reward once",
)
def record_conversion(
    product_id: str, referred_user_id: str, product: ManagedProduct, session: DbSession
) -> Any:
    referral, reward = service.record_conversion(
        session, product, referred_user_id=referred_user_id
    )
    return service.referral_answer(session, referral, reward)


@router.get(
    "/v1/products/{product_id}/referrals",
    response_model=ReferralsPage,
    summary="The product's referrals, newest first",
)
def list_referrals(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    user_id: str | None = Query(
        None, min_length=1, max_length=255, description="Only those this user made or came by."
    ),
) -> Any:
    rows, total = service.list_referrals(
        session, product, limit=limit, offset=offset, user_id=user_id
    )
    return {"referrals": rows, "total": total}
