"""Events: from a user's token (scope ``write``) and from the tenant's servers (API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from plaudit.limits import web as limits
from plaudit.products.models import Product
from plaudit.web.client import authenticate_user
from plaudit.web.management import Manager, for_product
from plaudit.web.state import AppState, in_session

from .schemas import BatchAccepted, EventAccepted, EventIn, ServerBody, ServerEventIn
from .service import ingest, ingest_batch

router = APIRouter(tags=["events"])


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventAccepted,
    summary="Send an event for the token's user (scope 'write')",
    tags=["client"],
)
async def send_event(request: Request, body: EventIn) -> Any:
    context = await authenticate_user(request, scopes=("write",))
    user = (context.product_id, context.verified.user_id)
    await limits.hit(request, limits.CLIENT_EVENTS_PER_USER, *user, product_id=user[0])

    def work(session: Session, state: AppState) -> dict[str, Any]:
        # Committed before the 202 leaves: an accepted event is never lost.
        product, user = context.product_and_user(session)
        return ingest(
            session,
            product,
            user,
            type=body.type,
            properties=body.properties,
            client_event_id=body.id,
            now=state.now(),
        ).as_dict()

    return await in_session(request, work)


@router.post(
    "/v1/products/{product_id}/events",
    status_code=202,
    response_model=EventAccepted | BatchAccepted,
    summary="Send an event, or a batch of up to 1,000, for named users (server API)",
    description="The body is one event `{user_id, type, properties?, id?}` or "
    "`{events: [...]}`. A batch is stored in one transaction: all or none. Users not seen "
    "before are created.",
)
async def send_server_events(
    request: Request,
    product_id: str,
    body: ServerBody,
    principal: Manager,
) -> Any:
    single = isinstance(body, ServerEventIn)
    events = [body] if isinstance(body, ServerEventIn) else body.events

    def work(session: Session, product: Product, state: AppState) -> dict[str, Any]:
        outcomes = ingest_batch(session, product, events, source="server", now=state.now())
        results = [outcome.as_dict() for outcome in outcomes]
        if single:
            return results[0]
        duplicates = sum(1 for r in results if r["duplicate"])
        return {
            "events": results,
            "accepted": len(results) - duplicates,
            "duplicates": duplicates,
        }

    return await for_product(request, principal, product_id, work)
