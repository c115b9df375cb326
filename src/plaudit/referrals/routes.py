"""Referral links (`/r/{code}`), the user's referral summary, and the server API for signups."""

from __future__ import annotations

import contextlib
import re
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from plaudit.access.session import DbSession
from plaudit.access.state import AppState, State
from plaudit.limits import web as limits
from plaudit.products.dependencies import ManagedProduct
from plaudit.users.client import ReadingUser

from . import fraud, review, service
from .fingerprint import DEVICE_COOKIE, DEVICE_COOKIE_DAYS, fingerprint_key
from .schemas import (
    ApprovalIn,
    CancellationIn,
    ConversionIn,
    FraudRuleOut,
    FraudRuleUpdate,
    ReferralOut,
    ReferralsPage,
    ReferralSummary,
    RejectionIn,
    ReviewsPage,
    SignupIn,
)

router = APIRouter(tags=["referrals"])
#: What /r/{code} accepts back as its own device cookie; anything else is replaced.
DEVICE_SHAPE = re.compile(r"[A-Za-z0-9_-]{22,64}")


def _key(state: AppState) -> bytes:
    return fingerprint_key(state.settings.master_key or "")


@router.get(
    "/r/{code}",
    include_in_schema=True,
    status_code=302,
    summary="A share link: counts the click and redirects to the product's landing page",
    response_class=RedirectResponse,
)
async def follow_link(request: Request, code: str, state: State) -> RedirectResponse:
    settings = state.settings
    fallback = settings.default_landing_url or settings.resolved_public_url + "/"

    def look_up() -> tuple[str, str | None]:
        with state.db.session() as session:
            product, known = service.record_click(session, code, count=False)
            return service.landing_url(product, known, fallback), known

    sent = request.cookies.get(DEVICE_COOKIE, "")
    device = sent if DEVICE_SHAPE.fullmatch(sent) else secrets.token_urlsafe(24)
    visitor = service.Visitor(
        address=limits.client_address(request), device=device, key=_key(state)
    )

    def count() -> None:
        with state.db.session() as session:
            service.record_click(session, code, visitor=visitor)

    # Their own units of work rather than DbSession's: an unknown code, or a failing store (even
    # at commit), still lands the visitor somewhere useful, never on an error page.
    try:
        target, known = await run_in_threadpool(look_up)
    except Exception:
        target, known = fallback, None
    # Counted once per visitor and day (limits/): only a real code is remembered for that.
    if known is not None and await limits.counts_click(request, known):
        with contextlib.suppress(Exception):  # an uncounted click still lands
            await run_in_threadpool(count)
    response = RedirectResponse(
        target,
        status_code=302,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
    if known is not None and device != sent:
        # First-party, for share links only and only on a real code's link: a random id that
        # tells one browser's clicks apart (docs/privacy.md); no other route reads it.
        response.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=DEVICE_COOKIE_DAYS * 86_400,
            path="/r",
            httponly=True,
            samesite="lax",
            secure=settings.resolved_public_url.startswith("https://"),
        )
    return response


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
    product_id: str, body: SignupIn, product: ManagedProduct, session: DbSession, state: State
) -> Any:
    referral, reward = service.record_signup(
        session,
        product,
        referred_user_id=body.referred_user_id,
        code=body.code,
        referrer_user_id=body.referrer_user_id,
        facts=service.SignupFacts(
            email=body.referred_email,
            client_ip=body.client_ip,
            device_id=body.device_id,
            key=_key(state),
        ),
        now=state.now(),
    )
    return service.referral_answer(session, referral, reward)


@router.post(
    "/v1/products/{product_id}/referrals/{referred_user_id}/conversion",
    response_model=ReferralOut,
    summary="Record that a referred user converted; makes the referrer's reward once",
)
def record_conversion(
    product_id: str,
    referred_user_id: str,
    product: ManagedProduct,
    session: DbSession,
    state: State,
    body: ConversionIn | None = None,
) -> Any:
    referral, reward = service.record_conversion(
        session,
        product,
        referred_user_id=referred_user_id,
        order_id=body.order_id if body is not None else None,
        now=state.now(),
    )
    return service.referral_answer(session, referral, reward)


@router.post(
    "/v1/products/{product_id}/referrals/{referred_user_id}/cancellation",
    response_model=ReferralOut,
    summary="Cancel the referral's reward while it is held or pending (a refunded order)",
)
def cancel_reward(
    product_id: str,
    referred_user_id: str,
    product: ManagedProduct,
    session: DbSession,
    state: State,
    body: CancellationIn | None = None,
) -> Any:
    referral, reward = service.cancel_reward(
        session,
        product,
        referred_user_id=referred_user_id,
        reason=(body or CancellationIn()).reason,
        now=state.now(),
    )
    return service.referral_answer(session, referral, reward)


@router.post(
    "/v1/products/{product_id}/referrals/{referred_user_id}/approval",
    response_model=ReferralOut,
    summary="Approve a flagged referral: its held reward is granted (or waits out the hold)",
)
def approve_referral(
    product_id: str,
    referred_user_id: str,
    product: ManagedProduct,
    session: DbSession,
    state: State,
    body: ApprovalIn | None = None,
) -> Any:
    return review.decide(
        session,
        product,
        referred_user_id,
        approve=True,
        note=body.note if body is not None else None,
        now=state.now(),
    )


@router.post(
    "/v1/products/{product_id}/referrals/{referred_user_id}/rejection",
    response_model=ReferralOut,
    summary="Reject a flagged referral, with a reason: its held reward is never granted",
)
def reject_referral(
    product_id: str,
    referred_user_id: str,
    body: RejectionIn,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> Any:
    return review.decide(
        session, product, referred_user_id, approve=False, note=body.reason, now=state.now()
    )


@router.get(
    "/v1/products/{product_id}/referral-reviews",
    response_model=ReviewsPage,
    summary="The review queue: referrals a screening rule flagged, oldest first",
)
def list_reviews(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    status: Literal["flagged", "approved", "rejected", "all"] = Query(
        "flagged", description="Which: waiting (flagged), decided, or all."
    ),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> Any:
    rows, total = review.queue(
        session,
        product,
        status=None if status == "all" else status,
        limit=limit,
        offset=offset,
    )
    return {"referrals": rows, "total": total}


@router.get(
    "/v1/products/{product_id}/referral-rules",
    response_model=list[FraudRuleOut],
    summary="The referral screening rules, as they run for this product",
)
def list_rules(product_id: str, product: ManagedProduct, session: DbSession) -> Any:
    return fraud.rules_out(session, product)


@router.patch(
    "/v1/products/{product_id}/referral-rules/{rule}",
    response_model=FraudRuleOut,
    summary="Switch a screening rule on or off, or change its settings",
)
def update_rule(
    product_id: str, rule: str, body: FraudRuleUpdate, product: ManagedProduct, session: DbSession
) -> Any:
    return fraud.set_rule(session, product, rule, enabled=body.enabled, settings=body.settings)


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
