"""The record of each privacy request a product's tenant made."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class PrivacyRequest(Base):
    __tablename__ = "privacy_requests"
    __table_args__ = (
        Index("ix_privacy_requests_product", "product_id", "created_at"),
        Index("ix_privacy_requests_subject", "product_id", "subject_digest"),
    )

    #: ``prq_<hex>``.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    #: export | erase
    kind: Mapped[str] = mapped_column(String(16))
    #: The user's id; once the user is erased, the pseudonym (rewritten by the erasure).
    user_id: Mapped[str] = mapped_column(String(255))
    #: A keyed digest of the original user id: an erasure asked again is recognised by it
    #: (idempotent) without the id itself being kept.
    subject_digest: Mapped[str] = mapped_column(String(64))
    #: The audit log's actor label: operator, cli, api_key:<id>.
    requested_by: Mapped[str] = mapped_column(String(64))
    #: What the request did: counts of rows exported, removed and kept.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
