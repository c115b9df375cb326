"""Leaderboards: each board's top players with their user ids, as GET
/v1/products/{id}/leaderboards/{name} answers, and a button to re-rank now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.gamification import leaderboards
from plaudit.periods import BOARDS
from plaudit.products import service

from ..web import PREFIX, Console, ConsoleRoute, product_of, redirect, render

router = APIRouter(route_class=ConsoleRoute)
PAGE = PREFIX + "/products/{product_id}/leaderboards"
TOP = 25
TITLES = {"all-time": "All time", "week": "This week", "month": "This month"}
NOTICES = {
    "refreshed": "Re-ranked now.",
    "fresh": "Already up to date: no points moved since the last ranking.",
}


@router.get(PAGE, include_in_schema=False)
async def leaderboards_page(
    request: Request,
    product_id: str,
    console: Console,
    board: str = Query("all-time", max_length=20),
) -> Response:
    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        return {
            "product": service.product_settings(product),
            "board": leaderboards.read(
                session, product, board, now=state.now(), limit=TOP, with_ids=True
            ),
        }

    data = await in_session(request, work)
    return render(
        request,
        "leaderboards.html",
        tab="leaderboards",
        boards=[(name, TITLES[name]) for name in BOARDS],
        title=TITLES[board],
        top=TOP,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **data,
    )


@router.post(PAGE + "/refresh", include_in_schema=False)
async def refresh_leaderboards(request: Request, product_id: str, console: Console) -> Response:
    """Re-rank every board now instead of within seconds (POST .../leaderboards/refresh)."""

    def work(session: Session, state: AppState) -> list[str]:
        product = product_of(session, console, product_id)
        now = state.now()
        return [b for b in BOARDS if leaderboards.refresh(session, product, b, now=now, force=True)]

    refreshed = await in_session(request, work)
    return redirect(
        PAGE.format(product_id=product_id), notice="refreshed" if refreshed else "fresh"
    )
