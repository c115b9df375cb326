"""Refusals by a rate limit, counted per product, UTC day and code (integration health)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base


class LimitedCount(Base):
    """How many calls of a product a rate limit refused on one UTC day, by error code.

    Counts, not rows per call: a flood of refused calls is the very thing being limited, and
    must not become a flood of writes, nor push the refused tokens a tenant debugs with out of
    the auth-failure log.
    """

    __tablename__ = "limited_counts"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
