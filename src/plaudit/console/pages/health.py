"""Integration health: refused tokens by code over time, the recent ones explained (with the
way to the test box, which explains any one token), and the webhook endpoints with their
deliveries and redelivery."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState, get_state
from plaudit.auth.errors import all_error_types
from plaudit.errors import ServiceError, all_service_error_types
from plaudit.products import failures, limited
from plaudit.products import service as products
from plaudit.products.verification import get_verification
from plaudit.webhooks import service as webhooks
from plaudit.webhooks.schemas import EVENT_TYPES, EndpointCreate, EndpointOut, EndpointUpdate

from ..web import (
    PREFIX,
    Console,
    ConsoleContext,
    ConsoleRoute,
    FormErrors,
    checked,
    product_of,
    redirect,
    render,
    service_form_errors,
    text,
    validate,
)
from .start import token_test_box_url

router = APIRouter(route_class=ConsoleRoute)
BASE = PREFIX + "/products/{product_id}/health"
RECENT = 20

NOTICES = {
    "endpoint_changed": "Endpoint changed.",
    "test_queued": "A webhook.test message is queued for this endpoint.",
    "redelivery_queued": "The delivery is queued again, with a fresh day of retries.",
}


@cache
def hints() -> dict[str, str]:
    """How to fix each error code: what the API's own error answers say."""
    found = {t.code: t.hint for t in all_error_types()}
    found.update({t.code: t.hint for t in all_service_error_types()})
    return found


async def _page(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    *,
    endpoint_id: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    state = get_state(request)
    # Refused tokens wait in memory for the background writer: write them now, as the API does.
    await run_in_threadpool(get_verification(request).failures.flush, state.db)
    await run_in_threadpool(limited.flush_pending, request)

    def work(session: Session, st: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        endpoints = webhooks.list_endpoints(session, product.id)
        selected = next((e for e in endpoints if e.id == endpoint_id), None)
        if endpoint_id is not None and selected is None:
            webhooks.get_endpoint(session, product.id, endpoint_id)  # raises NotFound
        deliveries: list[dict[str, Any]] = []
        if selected is not None:
            page = webhooks.list_deliveries(session, selected, limit=50)
            deliveries = page.model_dump()["deliveries"]
        return {
            "product": products.product_settings(product),
            "report": failures.failure_report(session, product, limit=RECENT, now=st.now()),
            "limited": limited.limited_report(session, product.id, now=st.now()),
            "endpoints": [EndpointOut.model_validate(e).model_dump() for e in endpoints],
            "selected": (
                EndpointOut.model_validate(selected).model_dump() if selected is not None else None
            ),
            "deliveries": deliveries,
            "test_box": token_test_box_url(product.id),
        }

    data = await in_session(request, work)
    peak = max([day["total"] for day in data["report"]["timeline"]] + [1])
    context: dict[str, Any] = {
        "tab": "health",
        "hints": hints(),
        "peak": peak,
        "event_types": EVENT_TYPES,
        "endpoint_form": {"event_types": list(EVENT_TYPES)},
        "endpoint_errors": {},
        "created_endpoint": None,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        **data,
        **extra,
    }
    return render(request, "health.html", status=status, **context)


@router.get(BASE, include_in_schema=False)
async def health(
    request: Request,
    product_id: str,
    console: Console,
    endpoint: str | None = Query(None, max_length=64),
) -> Response:
    return await _page(request, console, product_id, endpoint_id=endpoint)


@router.post(BASE + "/webhooks", include_in_schema=False)
async def create_endpoint(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    values = {
        "url": text(form, "url").strip(),
        "event_types": [v for v in form.getlist("event_types") if isinstance(v, str)],
        "description": text(form, "description").strip(),
    }
    try:
        body: EndpointCreate = validate(EndpointCreate, values)

        def work(session: Session, state: AppState) -> dict[str, Any]:
            product = product_of(session, console, product_id)
            endpoint, secret = webhooks.create_endpoint(
                session,
                product_id=product.id,
                box=state.box,
                url=body.url,
                event_types=body.event_types,
                description=body.description,
                allow_private=state.settings.allow_private_urls,
            )
            return {**EndpointOut.model_validate(endpoint).model_dump(), "secret": secret}

        created = await in_session(request, work)
    except FormErrors as exc:
        return await _page(
            request,
            console,
            product_id,
            status=422,
            endpoint_form=values,
            endpoint_errors=exc.errors,
        )
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return await _page(
            request,
            console,
            product_id,
            status=exc.status,
            endpoint_form=values,
            endpoint_errors=service_form_errors(exc, "url").errors,
        )
    # The signing secret is in this answer only.
    return await _page(
        request,
        console,
        product_id,
        status=201,
        created_endpoint=created,
        endpoint_id=created["id"],
    )


@router.post(BASE + "/webhooks/update", include_in_schema=False)
async def update_endpoint(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    endpoint_id = text(form, "endpoint_id")
    body: EndpointUpdate = validate(EndpointUpdate, {"enabled": checked(form, "enabled")})

    def work(session: Session, state: AppState) -> None:
        product = product_of(session, console, product_id)
        webhooks.update_endpoint(
            session,
            webhooks.get_endpoint(session, product.id, endpoint_id),
            allow_private=state.settings.allow_private_urls,
            enabled=body.enabled,
        )

    await in_session(request, work)
    return redirect(
        BASE.format(product_id=product_id), endpoint=endpoint_id, notice="endpoint_changed"
    )


@router.post(BASE + "/webhooks/test", include_in_schema=False)
async def send_test(request: Request, product_id: str, console: Console) -> Response:
    endpoint_id = text(await request.form(), "endpoint_id")

    def work(session: Session, state: AppState) -> None:
        product = product_of(session, console, product_id)
        webhooks.send_test(
            session, webhooks.get_endpoint(session, product.id, endpoint_id), now=state.now()
        )

    await in_session(request, work)
    return redirect(BASE.format(product_id=product_id), endpoint=endpoint_id, notice="test_queued")


@router.post(BASE + "/webhooks/redeliver", include_in_schema=False)
async def redeliver(request: Request, product_id: str, console: Console) -> Response:
    form = await request.form()
    endpoint_id = text(form, "endpoint_id")
    raw_id = text(form, "delivery_id")
    if not raw_id.isdigit() or not 1 <= int(raw_id) <= 2**63 - 1:
        raise FormErrors({"delivery_id": "Not a delivery id."})

    def work(session: Session, state: AppState) -> None:
        product = product_of(session, console, product_id)
        webhooks.redeliver(
            session,
            webhooks.get_endpoint(session, product.id, endpoint_id),
            int(raw_id),
            now=state.now(),
        )

    await in_session(request, work)
    return redirect(
        BASE.format(product_id=product_id), endpoint=endpoint_id, notice="redelivery_queued"
    )
