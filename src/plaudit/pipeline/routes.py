"""The routes that run the pipeline: events from a user's token (scope ``write``) and from the
tenant's servers (API key), and the tenant's manual adjustments of points.

Handlers are plain functions (FastAPI runs them in its threadpool) on the request's session,
which commits before the response leaves: an accepted event is never lost. A user's single
event is the exception: it waits on the event loop for the transaction that stores it with
its product's other events (``client_events``), and is answered after that commit.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from plaudit.access.session import DbSession
from plaudit.access.state import AppState, State, get_state
from plaudit.events.schemas import (
    BatchAccepted,
    EventAccepted,
    EventIn,
    ServerBody,
    ServerEventIn,
)
from plaudit.limits import web as limits
from plaudit.loyalty.schemas import AdjustmentIn, AdjustmentOut, ReversalIn, ReversalOut
from plaudit.products.dependencies import ManagedProduct
from plaudit.users.client import WRITE, ClientContext, WritingUser, authenticate_user
from plaudit.users.service import get_user
from plaudit.web.fast_body import json_model

from . import adjustments, client_events, reversals
from .group_commit import GroupCommit
from .ingest import Outcome, ingest_batch

router = APIRouter(tags=["events"])


async def rated_writer(request: Request, user: WritingUser) -> ClientContext:
    """The token's user, within its rate of events (429 with Retry-After past it)."""
    key = (user.product_id, user.verified.user_id)
    await limits.hit(request, limits.CLIENT_EVENTS_PER_USER, *key, product_id=user.product_id)
    return user


#: A user who may write, and has not sent more events than its rate allows.
RatedWriter = Annotated[ClientContext, Depends(rated_writer)]
#: The adjustment route, in the loyalty section of the API reference where it always was.
points_router = APIRouter(tags=["loyalty"])


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventAccepted,
    summary="Send an event for the token's user (scope 'write')",
    tags=["client"],
)
async def send_event(
    body: EventIn, user: RatedWriter, request: Request, state: State
) -> JSONResponse:
    return await _sent(request, state, user, body)


async def send_event_fast(request: Request) -> JSONResponse | None:
    """``send_event`` served ahead of FastAPI (web/hotpath.py): the same steps in the same
    order (the token, its rate, the event), for a body FastAPI would have taken as it is;
    any other request is declined (``None``) and FastAPI answers it."""
    body = await json_model(request, EventIn)
    if body is None:
        return None
    user = await rated_writer(request, await authenticate_user(request, scopes=WRITE))
    return await _sent(request, get_state(request), user, body)


async def _sent(
    request: Request, state: AppState, user: ClientContext, body: EventIn
) -> JSONResponse:
    # Stored by group commit (client_events): with the product's other events that arrive
    # while its last transaction runs, in one transaction, answered after its commit.
    happened = client_events.check(body, now=state.now())
    outcome = await event_groups(request).submit(
        user.product_id, client_events.Sent(user, body, request, happened)
    )
    return JSONResponse(_accepted(outcome), status_code=202)


def event_groups(request: Request) -> GroupCommit[str, client_events.Sent, Outcome]:
    """This process's group commit of client events (made by ``create_app``)."""
    groups: GroupCommit[str, client_events.Sent, Outcome] = request.app.state.event_groups
    return groups


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
) -> JSONResponse:
    events = [body] if isinstance(body, ServerEventIn) else body.events
    outcomes = ingest_batch(session, product, events, source="server", now=state.now())
    if isinstance(body, ServerEventIn):
        return JSONResponse(_accepted(outcomes[0]), status_code=202)
    duplicates = sum(1 for outcome in outcomes if outcome.duplicate)
    batch = {
        "events": [_accepted(outcome) for outcome in outcomes],
        "accepted": len(outcomes) - duplicates,
        "duplicates": duplicates,
    }
    return JSONResponse(batch, status_code=202)


def _accepted(outcome: Outcome) -> dict[str, object]:
    """An ``EventAccepted`` (the routes' response model, which the OpenAPI document shows),
    written as the plain dict it renders to: a batch of 1,000 answers without 1,000 models."""
    return {
        "id": outcome.id,
        "duplicate": outcome.duplicate,
        "points_earned": outcome.points_earned,
        "badges_awarded": outcome.badges_awarded,
    }


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


# --- reversal -----------------------------------------------------------------------------


@router.post(
    "/v1/products/{product_id}/events/{event_id}/reversal",
    response_model=ReversalOut,
    summary="Take back what an event earned (a refund or chargeback)",
    description="Reverses the points the event earned, as `reverse` entries linked to the "
    "lots they take from: pending points are cancelled first, then available points; what "
    "the balance cannot cover is recorded as `unrecovered` and the balance stops at zero. "
    "Idempotent: what was reversed already is never taken again. `event_id` is Plaudit's "
    "event id (`evt_...`) or the id you gave the event. Sends `points.reversed`. A whole "
    "reversal (no `points`) also cancels the referral rewards not yet granted whose "
    "conversion named this event as its `order_id`.",
)
def reverse_event(
    product_id: str,
    event_id: str,
    body: ReversalIn,
    product: ManagedProduct,
    session: DbSession,
    state: State,
) -> Any:
    return reversals.requested(session, product, event_id, body, now=state.now())
