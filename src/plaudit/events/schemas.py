"""The events API's shapes: one validation for the HTTP API and ``plaudit events import``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Field, Tag

from plaudit.responses import Row
from plaudit.shapes import EVENT_TYPE, Identifier, Strict

#: The most events one server call may carry: they are stored in one transaction.
MAX_BATCH = 1000


class EventIn(Strict):
    type: str = Field(min_length=1, max_length=128, pattern=EVENT_TYPE)
    properties: dict[str, Any] = Field(default_factory=dict)
    id: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your id for the event: the same id twice is stored and counted once.",
    )


class ServerEventIn(EventIn):
    user_id: Identifier = Field(
        min_length=1, max_length=255, description="The user's id in your system."
    )


class EventBatchIn(Strict):
    events: list[ServerEventIn] = Field(min_length=1, max_length=MAX_BATCH)


def _shape(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "event"


#: One event, or ``{"events": [...]}``: told apart by the key, so that an error names the field
#: of the shape that was sent rather than of the first one tried.
ServerBody = Annotated[
    Annotated[ServerEventIn, Tag("event")] | Annotated[EventBatchIn, Tag("batch")],
    Discriminator(_shape),
]


class EventAccepted(Row):
    id: str
    duplicate: bool = Field(description="True when an event with this id was stored before.")
    points_earned: int = Field(description="Points this event earned (0 for a duplicate).")
    badges_awarded: list[str] = Field(description="Names of the badges this event awarded.")


class BatchAccepted(BaseModel):
    events: list[EventAccepted] = Field(description="One result per event, in the order sent.")
    accepted: int
    duplicates: int
