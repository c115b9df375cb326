"""The Redemptions tab: redemptions your server fulfils, waiting or settled, each marked
fulfilled (with an optional code the user sees) or failed (its points refunded) in place;
through the same services as GET .../redemptions and POST .../redemptions/{id}/fulfilment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.errors import ServiceError
from plaudit.loyalty import fulfilment
from plaudit.loyalty.schemas import FulfilmentIn, RedemptionOut, RedemptionRecord

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
    service_form_errors,
    text,
    validate,
)

router = APIRouter(route_class=ConsoleRoute)
PAGE = PREFIX + "/products/{product_id}/redemptions"
SHOWN = 200
FILTERS = (
    (fulfilment.PENDING, "Waiting"),
    ("fulfilled", "Fulfilled"),
    ("failed", "Failed"),
    ("delivered", "Delivered"),
)
NOTICES = {
    "fulfilled": "Marked fulfilled; the user sees it (and its code, if you gave one) in their "
    "history. redemption.fulfilled is sent.",
    "failed": "Marked failed: its points are refunded to the user. redemption.failed is sent.",
}


async def _page(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    failed: str | None = None,
) -> Response:
    shown = request.query_params.get("status", fulfilment.PENDING)
    shown = shown if shown in {f for f, _ in FILTERS} else fulfilment.PENDING

    def rows(session: Session, product: Any) -> dict[str, Any]:
        found = fulfilment.listing(session, product, status=shown, limit=SHOWN)
        return {
            "redemptions": [
                RedemptionRecord.model_validate(
                    {
                        **RedemptionOut.model_validate(r).model_dump(),
                        "user_id": user_id,
                        "settled_at": r.settled_at,
                        "failure_reason": r.failure_reason,
                    }
                ).model_dump()
                for r, user_id in found
            ]
        }

    return await product_page(
        request,
        console,
        product_id,
        "redemptions.html",
        rows,
        NOTICES,
        status=status,
        tab="redemptions",
        shown=shown,
        filters=FILTERS,
        limit=SHOWN,
        error=error,
        failed=failed,
    )


@router.get(PAGE, include_in_schema=False)
async def redemptions_page(request: Request, product_id: str, console: Console) -> Response:
    return await _page(request, console, product_id)


@router.post(PAGE + "/settle", include_in_schema=False)
async def settle(request: Request, product_id: str, console: Console) -> Response:
    """Fulfilled or failed, as the tenant's server would say it; a refusal (a code on a
    failure, a redemption settled the other way meanwhile) re-renders the list with the
    API's message over it."""
    form = await request.form()
    redemption_id = text(form, "id").strip()
    outcome = text(form, "outcome")
    sent = {
        "outcome": outcome,
        "reason": optional(form, "reason") if outcome == "failed" else None,
        "code": optional(form, "code") if outcome == "fulfilled" else None,
    }
    try:
        body: FulfilmentIn = validate(FulfilmentIn, sent)

        def work(session: Session, state: AppState) -> None:
            fulfilment.settle(
                session,
                product_of(session, console, product_id),
                redemption_id,
                outcome=body.outcome,
                reason=body.reason,
                code=body.code,
                now=state.now(),
            )

        await in_session(request, work)
    except FormErrors as exc:
        error = "; ".join(exc.errors.values())
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise  # not found, forbidden: the error page says so
        error = "; ".join(service_form_errors(exc).errors.values())
    else:
        return redirect(PAGE.format(product_id=product_id), notice=body.outcome)
    return await _page(request, console, product_id, status=422, error=error, failed=redemption_id)
