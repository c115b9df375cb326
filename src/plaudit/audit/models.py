"""The audit log's one table: an entry per management change, only ever added to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_product", "product_id", "id"),
        Index("ix_audit_entries_origin", "origin_product_id", "id"),
    )

    #: Increasing in the order entries were written: the cursor pages by it.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    #: The product the change belongs to, for its tenant's view. SET NULL when the product is
    #: deleted: a later product given the same id must not read its predecessor's log.
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    #: The same id, never cleared: the operator's view still says which product it was.
    origin_product_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: operator | api_key | cli
    actor_kind: Mapped[str] = mapped_column(String(16))
    #: The API key's id when an API key (or a console session opened with one) acted.
    actor_key_id: Mapped[str | None] = mapped_column(String(32))
    #: api | console | cli
    via: Mapped[str] = mapped_column(String(16))
    #: A console session's reference (a prefix of its stored digest, never its cookie).
    session_ref: Mapped[str | None] = mapped_column(String(16))
    #: ``<target type>.<verb>``: secret.create, api_key.revoke, privacy.erase, ...
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(255))
    #: ``{field: {"before": ..., "after": ...}}`` of the fields that changed; secrets redacted.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
