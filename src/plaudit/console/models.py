"""Console sessions, kept server-side so that signing out (or revoking a key) ends them at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base


class ConsoleSession(Base):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is stored here,
    so a copy of the database opens no session."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_expires", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: None for the operator; else the one product this session may see.
    product_id: Mapped[str | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    #: The API key signed in with: deleting it deletes the session, revoking it ends it.
    api_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    #: For the operator: an HMAC of the admin token signed in with, so that changing
    #: PLAUDIT_ADMIN_TOKEN ends every operator session.
    operator_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column()
    last_seen_at: Mapped[dt.datetime] = mapped_column()
    #: The absolute end, whatever the activity.
    expires_at: Mapped[dt.datetime] = mapped_column()
