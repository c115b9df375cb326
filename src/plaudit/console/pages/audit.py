"""The audit log pages: a product's entries, and every product's for the operator, newest
first, filterable, paged by cursor (the same service as GET /v1/products/{id}/audit and
GET /v1/audit)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.audit.repository import Filters
from plaudit.audit.service import audit_page
from plaudit.products import service as products

from ..web import PREFIX, Console, ConsoleRoute, product_of, render

router = APIRouter(route_class=ConsoleRoute)
PAGE_SIZE = 50


@router.get(PREFIX + "/products/{product_id}/audit", include_in_schema=False)
async def audit_log(
    request: Request,
    product_id: str,
    console: Console,
    action: str = Query("", max_length=64),
    actor: str = Query("", max_length=64),
    target: str = Query("", max_length=255),
    cursor: str = Query("", max_length=20),
) -> Response:
    filters = Filters(
        action=action.strip() or None,
        actor=actor.strip() or None,
        target_id=target.strip() or None,
    )

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        page = audit_page(
            session, product_id=product.id, filters=filters, cursor=cursor or None, limit=PAGE_SIZE
        )
        return {"product": products.product_settings(product), **page.model_dump(mode="json")}

    data = await in_session(request, work)
    return _render(
        request, data, tab="audit", action=action, actor=actor, target=target, cursor=cursor
    )


@router.get(PREFIX + "/audit", include_in_schema=False)
async def operator_audit_log(
    request: Request,
    console: Console,
    product: str = Query("", max_length=64),
    action: str = Query("", max_length=64),
    actor: str = Query("", max_length=64),
    target: str = Query("", max_length=255),
    cursor: str = Query("", max_length=20),
) -> Response:
    """Every product's entries, deleted products' included: the operator's view."""
    console.principal.require_operator()
    filters = Filters(
        action=action.strip() or None,
        actor=actor.strip() or None,
        target_id=target.strip() or None,
        product_id=product.strip() or None,
    )

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        page = audit_page(
            session, product_id=None, filters=filters, cursor=cursor or None, limit=PAGE_SIZE
        )
        return {"product": None, **page.model_dump(mode="json")}

    data = await in_session(request, work)
    return _render(
        request, data, action=action, actor=actor, target=target, cursor=cursor, scope=product
    )


def _render(request: Request, data: dict[str, Any], **context: Any) -> Response:
    context.setdefault("scope", "")
    return render(request, "audit.html", **data, **context)
