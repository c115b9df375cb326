"""JWKS sources: key set URLs Plaudit fetches and refreshes itself. Add one (fetched before it
is stored, as POST .../jwks-sources does), see each one's last fetch, refresh, remove."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.auth.errors import AuthError
from plaudit.errors import ServiceError
from plaudit.products import jwks, repository
from plaudit.products.models import JwksSource, Product
from plaudit.products.schemas import JwksSourceCreate, JwksSourceOut
from plaudit.products.verification import get_verification

from ..web import (
    PREFIX,
    Console,
    ConsoleContext,
    ConsoleRoute,
    FormErrors,
    product_of,
    product_page,
    redirect,
    remove_row,
    service_form_errors,
    text,
    validate,
)

router = APIRouter(route_class=ConsoleRoute)
PAGE = PREFIX + "/products/{product_id}/jwks-sources"
NOTICES = {
    "added": "JWKS source added: its keys verify tokens from now on.",
    "removed": "JWKS source removed: its keys verify nothing from now on.",
    "refreshed": "Fetched again.",
    "not_refreshed": "Not fetched again: the sources were fetched moments ago, or the fetch "
    "failed (see Last error). Plaudit also refetches by itself when a token names an unknown "
    "kid.",
}


def source_status(source: JwksSource) -> dict[str, Any]:
    """What the list shows of a source: the API's answer, its last attempt and next refresh."""
    shown = JwksSourceOut.model_validate(source).model_dump()
    attempted = source.last_attempt_at
    shown["last_attempt_at"] = attempted
    shown["next_refresh_at"] = (
        attempted + dt.timedelta(seconds=source.refresh_seconds) if attempted else None
    )
    return shown


def _sources(session: Session, product: Product) -> dict[str, Any]:
    return {"sources": [source_status(x) for x in jwks.list_sources(session, product)]}


async def _page(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return await product_page(
        request,
        console,
        product_id,
        "jwks_sources.html",
        _sources,
        NOTICES,
        status=status,
        tab="jwks",
        form=form or {"url": "", "refresh_seconds": "3600"},
        errors=errors or {},
    )


@router.get(PAGE, include_in_schema=False)
async def jwks_sources_page(request: Request, product_id: str, console: Console) -> Response:
    return await _page(request, console, product_id)


@router.post(PAGE, include_in_schema=False)
async def add_jwks_source(request: Request, product_id: str, console: Console) -> Response:
    """As the API's route: checked, fetched with no transaction open, then stored."""
    form = await request.form()
    sent = {
        "url": text(form, "url").strip(),
        "refresh_seconds": text(form, "refresh_seconds").strip() or "3600",
    }
    try:
        body: JwksSourceCreate = validate(JwksSourceCreate, sent)
        await in_session(
            request,
            lambda s, _: jwks.check_new_source(s, product_of(s, console, product_id), body.url),
        )
        document = await get_verification(request).jwks.register(body.url)

        def store(session: Session, _state: AppState) -> None:
            jwks.add_source(
                session,
                repository.get_product(session, product_id),
                url=body.url,
                refresh_seconds=body.refresh_seconds,
                document=document,
            )

        await in_session(request, store, changes=product_id)
    except FormErrors as exc:
        return await _page(request, console, product_id, status=422, form=sent, errors=exc.errors)
    except (ServiceError, AuthError) as exc:
        if exc.status not in (409, 422):
            raise
        errors = service_form_errors(exc, "url").errors
        return await _page(
            request, console, product_id, status=exc.status, form=sent, errors=errors
        )
    return redirect(PAGE.format(product_id=product_id), notice="added")


@router.post(PAGE + "/refresh", include_in_schema=False)
async def refresh_jwks_sources(request: Request, product_id: str, console: Console) -> Response:
    """Fetch the product's sources now, as an unknown kid would (at most once in a while)."""
    await in_session(request, lambda s, _: product_of(s, console, product_id))
    fetched = await get_verification(request).jwks.refetch(product_id)
    return redirect(
        PAGE.format(product_id=product_id), notice="refreshed" if fetched else "not_refreshed"
    )


@router.post(PAGE + "/delete", include_in_schema=False)
async def delete_jwks_source(request: Request, product_id: str, console: Console) -> Response:
    return await remove_row(request, console, product_id, PAGE, jwks.delete_source)
