"""Webhook endpoints, the outbox of messages, and one delivery (with its attempts) per pair."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plaudit.store.base import Base, utcnow


class WebhookEndpoint(Base):
    """A URL a product's notifications are posted to. Its signing secret is shown once."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_product", "product_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The ``whsec_...`` signing secret, sealed with the master key (SecretBox).
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookMessage(Base):
    """One notification in the outbox, written in the transaction of the change it reports."""

    __tablename__ = "webhook_messages"
    __table_args__ = (Index("ix_webhook_messages_product_time", "product_id", "created_at"),)

    #: ``msg_<hex>``: the ``webhook-id`` header, the same on every attempt (receivers dedupe).
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    #: The body as sent: ``{"type", "timestamp", "data"}``.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The user the message is about: one user's messages reach an endpoint in order.
    ordering_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One message to one endpoint: pending until delivered, or failed once retries ran out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The worker's scan: pending rows by when they are due.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # The ordering check: an older pending delivery of the same endpoint and user.
        Index("ix_webhook_deliveries_order", "endpoint_id", "ordering_key", "status", "id"),
        Index("ix_webhook_deliveries_message", "message_id"),
    )

    #: Increasing in enqueue order: "older" in the ordering rule means a smaller id.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    #: The message's ordering key, copied so that the worker's ordering check needs no join.
    ordering_key: Mapped[str | None] = mapped_column(String(255))
    #: pending, delivered, or failed (gave up).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: Attempts since the delivery was enqueued or last redelivered by hand.
    attempts: Mapped[int] = mapped_column(default=0)
    #: None: due at once. While an attempt is in flight, the end of the sender's lease.
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    #: Failing attempts stop here: a day after the message, or after a manual redelivery.
    give_up_at: Mapped[dt.datetime] = mapped_column()
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Loaded with the delivery where it is shown (its event type), never on its own: reading
    #: it unloaded raises rather than query once per row.
    message: Mapped[WebhookMessage] = relationship(lazy="raise")

    @property
    def event_type(self) -> str:
        return self.message.event_type


class WebhookAttempt(Base):
    """One try at a delivery: what the receiver answered (a short excerpt at most) or why not."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(String(512))
    duration_ms: Mapped[int] = mapped_column(default=0)
