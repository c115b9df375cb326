"""The shapes of the webhooks API: one validation for the HTTP API and the CLI."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator

from plaudit.products.schemas import URL_PATTERN
from plaudit.responses import IsoTime, Row
from plaudit.shapes import Strict

#: The notifications an endpoint may subscribe to. Features emit them through ``service.enqueue``.
EVENT_TYPES = (
    "user.created",
    "points.earned",
    "points.redeemed",
    "tier.changed",
    "badge.awarded",
    "referral.converted",
    "reward.granted",
    # points lots, holds and reversal (ledger)
    "points.expiring",
    "points.reversed",
    "points.released",
    "reward_codes.low",
    "redemption.fulfilled",
    "redemption.failed",
    "referral.flagged",
    "referral.reviewed",
)

_EVENT_TYPES_SCHEMA: dict[str, Any] = {"items": {"type": "string", "enum": list(EVENT_TYPES)}}
DeliveryStatus = Literal["pending", "delivered", "failed"]


def _url(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(URL_PATTERN, value):
        raise ValueError("must be an http(s) URL")
    return value


def _known_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    for given in value:
        if given not in EVENT_TYPES:
            raise ValueError(
                f"{given!r} is not an event type; choose from {', '.join(EVENT_TYPES)}"
            )
    return value


class EndpointCreate(Strict):
    url: str = Field(
        max_length=2048,
        description="Where notifications are POSTed: a public https URL.",
        json_schema_extra={"pattern": URL_PATTERN},
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=len(EVENT_TYPES),
        description="The notifications this endpoint receives.",
        json_schema_extra=_EVENT_TYPES_SCHEMA,
    )
    description: str = Field(default="", max_length=500)

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return _known_types(value)

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        return _url(value)


class EndpointUpdate(Strict):
    url: str | None = Field(
        default=None, max_length=2048, json_schema_extra={"pattern": URL_PATTERN}
    )
    event_types: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=len(EVENT_TYPES),
        json_schema_extra=_EVENT_TYPES_SCHEMA,
    )
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=500)

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return _known_types(value)

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        return _url(value)


class EndpointOut(Row):
    id: str
    url: str
    event_types: list[str]
    enabled: bool
    description: str
    created_at: IsoTime


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="The signing secret (whsec_...), shown once: store it with your receiver."
    )


class DeliveryOut(Row):
    id: int
    message_id: str = Field(description="The webhook-id header: the same on every attempt.")
    event_type: str
    user_id: str | None = Field(
        validation_alias=AliasChoices("user_id", "ordering_key"),
        description="The user the message is about (its ordering key).",
    )
    status: DeliveryStatus
    attempts: int = Field(description="Attempts since enqueued or last redelivered.")
    last_status_code: int | None
    last_error: str | None
    created_at: IsoTime
    last_attempt_at: IsoTime | None
    next_attempt_at: IsoTime | None
    delivered_at: IsoTime | None

    @model_validator(mode="after")
    def _due_only_while_pending(self) -> DeliveryOut:
        # The column holds a sender's lease while an attempt is in flight: not a due time.
        if self.status != "pending":
            self.next_attempt_at = None
        return self


class AttemptOut(Row):
    attempted_at: IsoTime
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]


class DeliveriesPage(BaseModel):
    deliveries: list[DeliveryOut]
    total: int
