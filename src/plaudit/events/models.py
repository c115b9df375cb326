"""Stored events: the same client-supplied id twice is stored once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Per user: one user's event ids never collide with, or reveal, another's.
        UniqueConstraint("product_id", "user_pk", "client_event_id"),
        Index("ix_events_user_time", "user_pk", "created_at"),
        # Badges for "an event type N times" count here.
        Index("ix_events_user_type", "user_pk", "type"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(128))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_event_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: When it happened: the sender's ``occurred_at``, else when it was stored (day limits and
    #: streaks count on its day). Null on events stored before migration 0018.
    occurred_at: Mapped[dt.datetime | None] = mapped_column()
