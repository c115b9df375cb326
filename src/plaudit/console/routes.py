"""The console's router: every page module's routes under /console, and a 404 page for the rest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from plaudit.errors import NotFound

from .pages import (
    analytics,
    api_keys,
    audit,
    authentication,
    health,
    jwks_sources,
    leaderboards,
    loyalty,
    privacy,
    products,
    programs,
    redemptions,
    referrals,
    revocations,
    sign_in,
    start,
    static,
    users,
)
from .web import PREFIX, Console, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
for _pages in (
    sign_in,
    static,
    products,
    authentication,
    api_keys,
    jwks_sources,
    revocations,
    leaderboards,
    users,
    programs,
    loyalty,
    health,
    start,
):
    router.include_router(_pages.router)
for _pages in (audit, privacy):  # the audit log and privacy requests (issue 15)
    router.include_router(_pages.router)
router.include_router(referrals.router)  # referral review and screening (issue 14)
router.include_router(redemptions.router)  # redemptions the tenant fulfils (issue 14)
router.include_router(analytics.router)
router.include_router(analytics.assets)  # public scripts: no session, like the stylesheet


@router.get(PREFIX + "/{rest:path}", include_in_schema=False)
async def not_found(_request: Request, _console: Console) -> Response:
    """Any other console path: a page that says so (the API answers JSON for its own paths)."""
    raise NotFound("There is no console page at this address.")


__all__ = ["router"]
