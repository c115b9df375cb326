"""Badges for the tenant to define; leaderboards for the tenant and the token's user.

Handlers are plain functions (FastAPI runs them in its threadpool) on the managed product and
the request's session; they serialise inside, and the session commits before the response.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.periods import BOARDS
from plaudit.products.dependencies import ManagedProduct
from plaudit.users.client import ReadingUser

from . import badges, leaderboards
from .schemas import AdminLeaderboard, BadgeCreate, BadgeOut, BadgeUpdate, Leaderboard

router = APIRouter(tags=["gamification"])
BADGES = "/v1/products/{product_id}/badges"


def _board(name: Annotated[str, Path(include_in_schema=False)]) -> str:
    """The path's board, checked before anything else (an unknown board is a 404 to anyone).
    The handler names ``name`` itself too: that is where the OpenAPI document lists it."""
    return leaderboards.check_board(name)


Board = Annotated[str, Depends(_board)]
Limit = Annotated[int, Query(ge=1, le=leaderboards.MAX_TOP)]


@router.get(BADGES, response_model=list[BadgeOut], summary="The product's badges")
def list_badges(product_id: str, product: ManagedProduct, session: DbSession) -> list[BadgeOut]:
    return [BadgeOut.model_validate(b) for b in badges.list_badges(session, product)]


@router.post(
    BADGES,
    status_code=201,
    response_model=BadgeOut,
    summary="Add a badge: an event type N times, a points total, or an N-day streak",
)
def create_badge(
    product_id: str, body: BadgeCreate, product: ManagedProduct, session: DbSession
) -> BadgeOut:
    return BadgeOut.model_validate(badges.create_badge(session, product, body))


@router.patch(BADGES + "/{badge_id}", response_model=BadgeOut, summary="Change a badge")
def update_badge(
    product_id: str, badge_id: str, body: BadgeUpdate, product: ManagedProduct, session: DbSession
) -> BadgeOut:
    return BadgeOut.model_validate(badges.update_badge(session, product, badge_id, body))


@router.delete(
    BADGES + "/{badge_id}",
    status_code=204,
    summary="Remove a badge (and take it from those who hold it)",
)
def delete_badge(
    product_id: str, badge_id: str, product: ManagedProduct, session: DbSession
) -> Response:
    badges.delete_badge(session, product, badge_id)
    return Response(status_code=204)


@router.get(
    "/v1/leaderboards/{name}",
    response_model=Leaderboard,
    summary="A leaderboard's top N and the token's user's rank (scope 'read')",
    description="`name` is `all-time`, `week` or `month` (in the product's time zone). Ranks "
    "are recomputed in the background every few seconds (`as_of`).",
    tags=["client"],
)
def my_leaderboard(
    name: str,
    board: Board,
    user: ReadingUser,
    session: DbSession,
    state: State,
    limit: Limit = 10,
) -> Any:
    product, member = user.product_and_user(session)
    return leaderboards.read(session, product, board, now=state.now(), limit=limit, user=member)


@router.get(
    "/v1/products/{product_id}/leaderboards/{name}",
    response_model=AdminLeaderboard,
    summary="A leaderboard's top N, with user ids",
)
def admin_leaderboard(
    product_id: str,
    name: str,
    product: ManagedProduct,
    board: Board,
    session: DbSession,
    state: State,
    limit: Limit = 10,
) -> Any:
    return leaderboards.read(session, product, board, now=state.now(), limit=limit, with_ids=True)


@router.post(
    "/v1/products/{product_id}/leaderboards/refresh",
    summary="Re-rank the product's leaderboards now instead of within seconds",
)
def refresh_leaderboards(
    product_id: str, product: ManagedProduct, session: DbSession, state: State
) -> Any:
    now = state.now()
    return {
        "refreshed": [
            b for b in BOARDS if leaderboards.refresh(session, product, b, now=now, force=True)
        ]
    }
