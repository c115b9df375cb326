"""Badges for the tenant to define; leaderboards for the tenant and the token's user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from plaudit.periods import BOARDS
from plaudit.products.models import Product
from plaudit.web.client import authenticate_user
from plaudit.web.management import Manager, for_product
from plaudit.web.state import AppState, in_session

from . import badges, leaderboards
from .schemas import AdminLeaderboard, BadgeCreate, BadgeOut, BadgeUpdate, Leaderboard

router = APIRouter(tags=["gamification"])
BADGES = "/v1/products/{product_id}/badges"


@router.get(BADGES, response_model=list[BadgeOut], summary="The product's badges")
async def list_badges(request: Request, product_id: str, principal: Manager) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: [
            badges.badge_dict(b) for b in badges.list_badges(session, product)
        ],
    )


@router.post(
    BADGES,
    status_code=201,
    response_model=BadgeOut,
    summary="Add a badge: an event type N times, a points total, or an N-day streak",
)
async def create_badge(
    request: Request, product_id: str, body: BadgeCreate, principal: Manager
) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: badges.badge_dict(badges.create_badge(session, product, body)),
    )


@router.patch(BADGES + "/{badge_id}", response_model=BadgeOut, summary="Change a badge")
async def update_badge(
    request: Request, product_id: str, badge_id: str, body: BadgeUpdate, principal: Manager
) -> Any:
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: badges.badge_dict(
            badges.update_badge(session, product, badge_id, body)
        ),
    )


@router.delete(
    BADGES + "/{badge_id}",
    status_code=204,
    summary="Remove a badge (and take it from those who hold it)",
)
async def delete_badge(
    request: Request, product_id: str, badge_id: str, principal: Manager
) -> Response:
    await for_product(
        request,
        principal,
        product_id,
        lambda session, product, _: badges.delete_badge(session, product, badge_id),
    )
    return Response(status_code=204)


@router.get(
    "/v1/leaderboards/{name}",
    response_model=Leaderboard,
    summary="A leaderboard's top N and the token's user's rank (scope 'read')",
    description="`name` is `all-time`, `week` or `month` (in the product's time zone). Ranks "
    "are recomputed in the background every few seconds (`as_of`).",
    tags=["client"],
)
async def my_leaderboard(
    request: Request, name: str, limit: int = Query(10, ge=1, le=leaderboards.MAX_TOP)
) -> Any:
    leaderboards.check_board(name)
    context = await authenticate_user(request, scopes=("read",))

    def work(session: Session, state: AppState) -> dict[str, Any]:
        product, user = context.product_and_user(session)
        return leaderboards.read(session, product, name, now=state.now(), limit=limit, user=user)

    return await in_session(request, work)


@router.get(
    "/v1/products/{product_id}/leaderboards/{name}",
    response_model=AdminLeaderboard,
    summary="A leaderboard's top N, with user ids",
)
async def admin_leaderboard(
    request: Request,
    product_id: str,
    name: str,
    principal: Manager,
    limit: int = Query(10, ge=1, le=leaderboards.MAX_TOP),
) -> Any:
    leaderboards.check_board(name)
    return await for_product(
        request,
        principal,
        product_id,
        lambda session, product, state: leaderboards.read(
            session, product, name, now=state.now(), limit=limit, with_ids=True
        ),
    )


@router.post(
    "/v1/products/{product_id}/leaderboards/refresh",
    summary="Re-rank the product's leaderboards now instead of within seconds",
)
async def refresh_leaderboards(request: Request, product_id: str, principal: Manager) -> Any:
    def work(session: Session, product: Product, state: AppState) -> dict[str, Any]:
        now = state.now()
        return {
            "refreshed": [
                b for b in BOARDS if leaderboards.refresh(session, product, b, now=now, force=True)
            ]
        }

    return await for_product(request, principal, product_id, work)
