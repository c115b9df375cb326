"""API keys: the product's server credentials. Create one (its value shown once), revoke one.
Each action calls what POST and DELETE /v1/products/{id}/api-keys call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.products import api_keys
from plaudit.products.models import Product
from plaudit.products.schemas import ApiKeyCreate, ApiKeyOut

from .. import flash
from ..web import (
    PREFIX,
    Console,
    ConsoleContext,
    ConsoleRoute,
    FormErrors,
    product_of,
    product_page,
    redirect,
    text,
    validate,
)

router = APIRouter(route_class=ConsoleRoute)
PAGE = PREFIX + "/products/{product_id}/api-keys"
CREATED = "api_key_created"
NOTICES = {
    "revoked": "API key revoked: it is refused from now on, and its console sessions ended.",
}


def _keys(session: Session, product: Product) -> dict[str, Any]:
    keys = api_keys.list_api_keys(session, product)
    return {"keys": [ApiKeyOut.model_validate(k).model_dump() for k in keys]}


async def _page(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, Any] | None = None,
) -> Response:
    return await product_page(
        request,
        console,
        product_id,
        "api_keys.html",
        _keys,
        NOTICES,
        status=status,
        tab="api-keys",
        form=form or {"name": ""},
        errors=errors or {},
        created=created,
        current_key=console.principal.api_key_id,
    )


@router.get(PAGE, include_in_schema=False)
async def api_keys_page(request: Request, product_id: str, console: Console) -> Response:
    created = flash.take(request, CREATED)
    if created is not None and created.get("product_id") != product_id:
        created = None
    return flash.forget(request, await _page(request, console, product_id, created=created))


@router.post(PAGE, include_in_schema=False)
async def create_api_key(request: Request, product_id: str, console: Console) -> Response:
    sent = {"name": text(await request.form(), "name").strip()}
    try:
        body: ApiKeyCreate = validate(ApiKeyCreate, sent)
    except FormErrors as exc:
        return await _page(request, console, product_id, status=422, form=sent, errors=exc.errors)

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        value = api_keys.create_api_key(session, product, name=body.name)
        return {"product_id": product.id, "name": body.name, "api_key": value}

    created = await in_session(request, work)
    # POST, redirect, GET; the value rides to that page once, sealed (flash.py).
    response = redirect(PAGE.format(product_id=product_id))
    flash.put(request, response, CREATED, created)
    return response


@router.post(PAGE + "/revoke", include_in_schema=False)
async def revoke_api_key(request: Request, product_id: str, console: Console) -> Response:
    key_id = text(await request.form(), "id")
    await in_session(
        request,
        lambda s, _: api_keys.revoke_api_key(s, product_of(s, console, product_id), key_id),
    )
    # Revoking the key this session signed in with ends the session: the redirect asks to
    # sign in again, as it should.
    return redirect(PAGE.format(product_id=product_id), notice="revoked")
