"""Revocations: refuse one token by its jti, or a user's tokens issued before a moment; list
them; remove one (the tokens it refused verify again). As POST, GET and DELETE
/v1/products/{id}/revocations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.products import revocations
from plaudit.products.models import Product
from plaudit.products.schemas import RevocationCreate, RevocationOut

from ..web import (
    PREFIX,
    Console,
    ConsoleContext,
    ConsoleRoute,
    FormErrors,
    optional,
    product_of,
    product_page,
    redirect,
    remove_row,
    text,
    validate,
)

router = APIRouter(route_class=ConsoleRoute)
PAGE = PREFIX + "/products/{product_id}/revocations"
NOTICES = {
    "added": "Revoked: every Plaudit process refuses those tokens within seconds.",
    "removed": "Revocation removed: the tokens it refused verify again.",
}


def _revocations(session: Session, product: Product) -> dict[str, Any]:
    rows = revocations.list_revocations(session, product)
    return {"revocations": [RevocationOut.model_validate(r).model_dump() for r in rows]}


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
        "revocations.html",
        _revocations,
        NOTICES,
        status=status,
        tab="revocations",
        form=form or {},
        errors=errors or {},
    )


@router.get(PAGE, include_in_schema=False)
async def revocations_page(request: Request, product_id: str, console: Console) -> Response:
    return await _page(request, console, product_id)


@router.post(PAGE, include_in_schema=False)
async def add_revocation(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    sent = {
        "jti": optional(form, "jti"),
        "user_id": optional(form, "user_id"),
        "issued_before": optional(form, "issued_before"),
        "reason": text(form, "reason").strip(),
    }
    try:
        body: RevocationCreate = validate(RevocationCreate, sent)
    except FormErrors as exc:
        shown = {k: v or "" for k, v in sent.items()}
        return await _page(request, console, product_id, status=422, form=shown, errors=exc.errors)

    def work(session: Session, state: AppState) -> None:
        revocations.add_revocation(
            session,
            product_of(session, console, product_id),
            jti=body.jti,
            user_id=body.user_id,
            issued_before=body.issued_before,
            reason=body.reason,
            now=state.now(),
        )

    await in_session(request, work, changes=product_id)
    return redirect(PAGE.format(product_id=product_id), notice="added")


@router.post(PAGE + "/delete", include_in_schema=False)
async def delete_revocation(request: Request, product_id: str, console: Console) -> Response:
    return await remove_row(request, console, product_id, PAGE, revocations.delete_revocation)
