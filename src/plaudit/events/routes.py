"""Events from a user's token (scope ``write``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from plaudit.users.service import upsert_user
from plaudit.web.client import authenticate_user
from plaudit.web.state import AppState, in_session

from .service import record_event

router = APIRouter(tags=["client"])


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    properties: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your id for the event: the same id twice is stored once.",
    )


class EventAccepted(BaseModel):
    id: str
    duplicate: bool = Field(description="True when an event with this id was stored before.")


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventAccepted,
    summary="Send an event for the token's user (scope 'write')",
)
async def send_event(request: Request, body: EventIn) -> Any:
    context = await authenticate_user(request, scopes=("write",))
    verified = context.verified

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        # Committed before the 202 leaves: an accepted event is never lost.
        user = upsert_user(
            session,
            product_id=context.product_id,
            external_id=verified.user_id,
            profile=verified.profile,
            listed=context.runtime.published,
        )
        event, new = record_event(
            session,
            user=user,
            type=body.type,
            properties=body.properties,
            client_event_id=body.id,
        )
        return {"id": event.id, "duplicate": not new}

    return await in_session(request, work)
