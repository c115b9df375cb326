"""Events: from a user's token (scope ``write``) and from the tenant's servers (API key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from sqlalchemy.orm import Session

from plaudit.products.service import get_product
from plaudit.users.service import upsert_user
from plaudit.web.client import authenticate_user
from plaudit.web.management import Manager
from plaudit.web.state import AppState, in_session

from .service import ingest

router = APIRouter(tags=["events"])

#: The most events one server call may carry: one transaction, answered in well under a second.
MAX_BATCH = 1000


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    properties: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your id for the event: the same id twice is stored and counted once.",
    )


class ServerEventIn(EventIn):
    user_id: str = Field(min_length=1, max_length=255, description="The user's id in your system.")


class EventBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[ServerEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventAccepted(BaseModel):
    id: str
    duplicate: bool = Field(description="True when an event with this id was stored before.")
    points_earned: int = Field(description="Points this event earned (0 for a duplicate).")
    badges_awarded: list[str] = Field(description="Names of the badges this event awarded.")


def _shape(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "event"


#: One event, or ``{"events": [...]}``: told apart by the key, so that an error names the field
#: of the shape that was sent rather than of the first one tried.
ServerBody = Annotated[
    Annotated[ServerEventIn, Tag("event")] | Annotated[EventBatchIn, Tag("batch")],
    Discriminator(_shape),
]


class BatchAccepted(BaseModel):
    events: list[EventAccepted] = Field(description="One result per event, in the order sent.")
    accepted: int
    duplicates: int


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
    principal.check_product(product_id)
    single = isinstance(body, ServerEventIn)
    events = [body] if isinstance(body, ServerEventIn) else body.events

    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = get_product(session, product_id)
        now = state.now()
        users: dict[str, Any] = {}
        results = []
        for item in events:
            user = users.get(item.user_id)
            if user is None:
                user = users[item.user_id] = upsert_user(
                    session,
                    product_id=product.id,
                    external_id=item.user_id,
                    profile={},
                    listed=product.published,
                    now=now,
                )
            outcome = ingest(
                session,
                product,
                user,
                type=item.type,
                properties=item.properties,
                client_event_id=item.id,
                source="server",
                now=now,
            )
            results.append(outcome.as_dict())
        if single:
            return results[0]
        duplicates = sum(1 for r in results if r["duplicate"])
        return {
            "events": results,
            "accepted": len(results) - duplicates,
            "duplicates": duplicates,
        }

    return await in_session(request, work)
