"""All Users: the product's users, searchable and paginated, and one user's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.products import service as products
from plaudit.referrals import service as referrals
from plaudit.users import service
from plaudit.web.state import AppState, in_session

from ..web import PREFIX, Console, ConsoleRoute, product_of, render

router = APIRouter(route_class=ConsoleRoute)
PAGE_SIZE = 25


@router.get(PREFIX + "/products/{product_id}/users", include_in_schema=False)
async def all_users(
    request: Request,
    product_id: str,
    console: Console,
    q: str = Query("", max_length=200),
    page: int = Query(1, ge=1, le=service.MAX_OFFSET // PAGE_SIZE),
    unlisted: bool = Query(False),
) -> Response:
    search = q.strip()

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        users, total = service.list_users(
            session,
            product.id,
            search=search or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            include_unlisted=unlisted,
        )
        return {
            "product": products.product_settings(product),
            "users": [u.to_dict() for u in users],
            "total": total,
        }

    data = await in_session(request, work)
    pages = max(1, -(-data["total"] // PAGE_SIZE))
    return render(
        request,
        "users.html",
        tab="users",
        q=search,
        page=page,
        pages=pages,
        unlisted=unlisted,
        page_size=PAGE_SIZE,
        **data,
    )


@router.get(PREFIX + "/products/{product_id}/user", include_in_schema=False)
async def one_user(
    request: Request,
    product_id: str,
    console: Console,
    id: str = Query(min_length=1, max_length=255),  # the user's id, as the API names it
) -> Response:
    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        user = service.get_user(session, product.id, id)
        made, _ = referrals.list_referrals(session, product, limit=100, user_id=id)
        return {
            "product": products.product_settings(product),
            "user": user.to_dict(),
            "referrals": made,
        }

    return render(request, "user.html", tab="users", **(await in_session(request, work)))
