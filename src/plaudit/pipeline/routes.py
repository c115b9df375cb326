"""The routes that run the pipeline: events from a user's token (scope ``write``) and from the
tenant's servers (API key), and the tenant's manual adjustments of points."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from plaudit.events.schemas import (
    BatchAccepted,
    EventAccepted,
    EventIn,
    ServerBody,
    ServerEventIn,
)
from plaudit.loyalty.schemas import AdjustmentIn, AdjustmentOut
from plaudit.products.models import Product
from plaudit.users.service import get_user
from plaudit.web.client import authenticate_user
from plaudit.web.management import Manager, for_product
from plaudit.web.state import AppState, in_session

from . import adjustments
from .ingest import ingest, ingest_batch

router = APIRouter(tags=["events"])
#: The adjustment route, in the loyalty section of the API reference where it always was.
points_router = APIRouter(tags=["loyalty"])


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventAccepted,
    summary="Send an event for the token's user (scope 'write')",
    tags=["client"],
)
async def send_event(request: Request, body: EventIn) -> Any:
    context = await authenticate_user(request, scopes=("write",))

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


@points_router.post(
    "/v1/products/{product_id}/users/{user_id}/points",
    status_code=201,
    response_model=AdjustmentOut,
    summary="Adjust a user's points by hand, with a reason shown in their history",
)
async def adjust_points(
    request: Request, product_id: str, user_id: str, body: AdjustmentIn, principal: Manager
) -> Any:
    def work(session: Session, product: Product, state: AppState) -> dict[str, Any]:
        user = get_user(session, product.id, user_id)
        return adjustments.adjust_points(session, product, user, body, now=state.now())

    return await for_product(request, principal, product_id, work)
