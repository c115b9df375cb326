"""The routes that run the pipeline: events from a user's token (scope ``write``) and from the
tenant's servers (API key), and the tenant's manual adjustments of points.

Handlers are plain functions (FastAPI runs them in its threadpool) on the request's session,
which commits before the response leaves: an accepted event is never lost.
"""

from __future__ import annotations

from fastapi import APIRouter

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.events.schemas import (
    BatchAccepted,
    EventAccepted,
    EventIn,
    ServerBody,
    ServerEventIn,
)
from plaudit.loyalty.schemas import AdjustmentIn, AdjustmentOut
from plaudit.products.dependencies import ManagedProduct
from plaudit.users.client import WritingUser
from plaudit.users.service import get_user

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
def send_event(body: EventIn, user: WritingUser, session: DbSession, state: State) -> EventAccepted:
    product, member = user.product_and_user(session)
    outcome = ingest(
        session,
        product,
        member,
        type=body.type,
        properties=body.properties,
        client_event_id=body.id,
        now=state.now(),
    )
    return EventAccepted.model_validate(outcome)


@router.post(
    "/v1/products/{product_id}/events",
    status_code=202,
    response_model=EventAccepted | BatchAccepted,
    summary="Send an event, or a batch of up to 1,000, for named users (server API)",
    description="The body is one event `{user_id, type, properties?, id?}` or "
    "`{events: [...]}`. A batch is stored in one transaction: all or none. Users not seen "
    "before are created.",
)
def send_server_events(
    product_id: str,
    body: ServerBody,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> EventAccepted | BatchAccepted:
    events = [body] if isinstance(body, ServerEventIn) else body.events
    outcomes = ingest_batch(session, product, events, source="server", now=state.now())
    results = [EventAccepted.model_validate(outcome) for outcome in outcomes]
    if isinstance(body, ServerEventIn):
        return results[0]
    duplicates = sum(1 for r in results if r.duplicate)
    return BatchAccepted(events=results, accepted=len(results) - duplicates, duplicates=duplicates)


@points_router.post(
    "/v1/products/{product_id}/users/{user_id}/points",
    status_code=201,
    response_model=AdjustmentOut,
    summary="Adjust a user's points by hand, with a reason shown in their history",
)
def adjust_points(
    product_id: str,
    user_id: str,
    body: AdjustmentIn,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> AdjustmentOut:
    user = get_user(session, product.id, user_id)
    return adjustments.adjust_points(session, product, user, body, now=state.now())
