"""Privacy requests in the console: a user's export (a JSON download), a user's erasure (a
confirmed POST), and the requests made; the same services as the API's."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.errors import ServiceError
from plaudit.privacy import service
from plaudit.privacy.schemas import PrivacyRequestOut
from plaudit.privacy.subject import digest_key
from plaudit.products import service as products

from ..web import PREFIX, Console, ConsoleContext, ConsoleRoute, product_of, redirect, render, text

router = APIRouter(route_class=ConsoleRoute)
BASE = PREFIX + "/products/{product_id}/privacy"


async def privacy_page(
    request: Request,
    product_id: str,
    console: ConsoleContext,
    *,
    user: str = "",
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        rows, total = service.list_requests(session, product, limit=100)
        return {
            "product": products.product_settings(product),
            "requests": [PrivacyRequestOut.model_validate(r).model_dump(mode="json") for r in rows],
            "total": total,
        }

    data = await in_session(request, work)
    query = request.query_params
    return render(
        request,
        "privacy.html",
        status=status,
        tab="privacy",
        user=user,
        errors=errors or {},
        erased=query.get("erased", ""),
        already=query.get("already") == "true",
        **data,
    )


@router.get(BASE, include_in_schema=False)
async def privacy(
    request: Request,
    product_id: str,
    console: Console,
    user: str = Query("", max_length=255),
) -> Response:
    return await privacy_page(request, product_id, console, user=user)


@router.get(BASE + "/export", include_in_schema=False)
async def export(
    request: Request,
    product_id: str,
    console: Console,
    user: str = Query(min_length=1, max_length=255),
) -> Response:
    """The user's export as a JSON file (recorded as a privacy request, as by the API)."""

    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        document, _ = service.export_request(
            session,
            product,
            user,
            digest_key=digest_key(state.settings.master_key or ""),
            now=state.now(),
        )
        return document

    document = await in_session(request, work)
    name = quote(f"{product_id}-{user}-export.json", safe="")
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.post(BASE + "/erase", include_in_schema=False)
async def erase(request: Request, product_id: str, console: Console) -> Response:
    """Erase a user, once the id is typed twice (an erasure cannot be undone)."""
    form = await request.form()
    user, confirm = text(form, "user").strip(), text(form, "confirm").strip()
    errors: dict[str, str] = {}
    if not user:
        errors["user"] = "Enter the id of the user to erase."
    elif confirm != user:
        errors["confirm"] = "Type the same user id again to confirm the erasure."
    if errors:
        return await privacy_page(
            request, product_id, console, user=user, status=422, errors=errors
        )

    def work(session: Session, state: AppState) -> tuple[str, bool]:
        product = product_of(session, console, product_id)
        erasure = service.erase_user(
            session,
            product,
            user,
            digest_key=digest_key(state.settings.master_key or ""),
            now=state.now(),
        )
        return erasure.request.id, erasure.already

    try:
        request_id, already = await in_session(request, work, changes=product_id)
    except ServiceError as exc:
        if exc.status != 404:
            raise
        errors["user"] = exc.message
        return await privacy_page(
            request, product_id, console, user=user, status=404, errors=errors
        )
    return redirect(
        PREFIX + f"/products/{quote(product_id, safe='')}/privacy",
        erased=request_id,
        already="true" if already else "false",
    )
