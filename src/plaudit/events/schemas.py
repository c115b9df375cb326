"""The events API's shapes: one validation for the HTTP API and ``plaudit events import``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Discriminator, Field, Tag

from plaudit.responses import Row
from plaudit.shapes import EVENT_TYPE, Identifier, JsonObject, Strict

#: The most events one server call may carry: they are stored in one transaction.
MAX_BATCH = 1000
#: How far ahead of the server's clock an event's occurred_at may be: clocks disagree a little.
MAX_AHEAD = dt.timedelta(minutes=5)


class EventIn(Strict):
    type: str = Field(min_length=1, max_length=128, pattern=EVENT_TYPE)
    properties: JsonObject = Field(default_factory=dict)
    id: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Your id for the event: the same id twice is stored and counted once.",
    )
    occurred_at: AwareDatetime | None = Field(
        default=None,
        description="When it happened (ISO 8601 with an offset, e.g. 2026-12-06T09:30:00Z); "
        "default: when Plaudit receives it. Day limits and streaks count it on that day. At "
        "most 5 minutes ahead of the server's clock, and at most 7 days old from a user's "
        "token or 365 days from your servers (API key).",
    )


class ServerEventIn(EventIn):
    user_id: Identifier = Field(
        min_length=1, max_length=255, description="The user's id in your system."
    )
    reverses: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="A refund or chargeback: the id of an earlier event of this user (the "
        "`id` you sent with it, or the id Plaudit answered) whose points this one takes back.",
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
