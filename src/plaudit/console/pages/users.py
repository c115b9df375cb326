"""All Users: the product's users, searchable and paginated, and one user's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.loyalty import ledger
from plaudit.loyalty.schemas import EntryOut
from plaudit.me import service as me
from plaudit.products import service as products
from plaudit.referrals import service as referrals
from plaudit.users import service
from plaudit.users.schemas import UserOut

from ..web import PREFIX, Console, ConsoleContext, ConsoleRoute, product_of, render

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
            "users": [UserOut.model_validate(u).model_dump(mode="json") for u in users],
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


NOTICES = {"adjusted": "Points adjusted; the change is in the history."}
HISTORY = 50


async def user_page(
    request: Request,
    product_id: str,
    console: ConsoleContext,
    user_id: str,
    *,
    status: int = 200,
    adjust_form: dict[str, str] | None = None,
    adjust_errors: dict[str, str] | None = None,
) -> Response:
    """One user: profile, points, tier, badges, streaks, referrals and points history, as the
    API's .../users/{id}, .../loyalty, .../history and .../referrals answer them."""

    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        user = service.get_user(session, product.id, user_id)
        made, _ = referrals.list_referrals(session, product, limit=100, user_id=user_id)
        entries, _ = ledger.history(session, user, limit=HISTORY)
        return {
            "product": products.product_settings(product),
            "user": UserOut.model_validate(user).model_dump(mode="json"),
            "standing": me.summary(
                session,
                product,
                user,
                now=state.now(),
                public_url=state.settings.resolved_public_url,
            ),
            "history": [EntryOut.model_validate(e).model_dump() for e in entries],
            "referrals": made,
        }

    return render(
        request,
        "user.html",
        status=status,
        tab="users",
        adjust_form=adjust_form or {},
        adjust_errors=adjust_errors or {},
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **(await in_session(request, work)),
    )


@router.get(PREFIX + "/products/{product_id}/user", include_in_schema=False)
async def one_user(
    request: Request,
    product_id: str,
    console: Console,
    id: str = Query(min_length=1, max_length=255),  # the user's id, as the API names it
) -> Response:
    return await user_page(request, product_id, console, id)
