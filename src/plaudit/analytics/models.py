"""Daily rollups: a product's figures of each day that has ended, counted once and kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class AnalyticsDay(Base):
    """One figure of one product on one UTC day that has ended.

    ``series`` names the figure: ``clicks``, ``signups``, ``conversions``, ``rewards``,
    ``active``, a ledger kind's sum (``ledger:earn``, ``ledger:redeem``, ...), an earning rule's
    earns and points (``rule:<id>:count``, ``rule:<id>:points``), a reward's redemptions and
    points (``reward:<id>:count``, ``reward:<id>:points``). The ``active:sketch`` row holds, in
    ``sketch``, the day's HyperLogLog registers of active users (analytics/sketch.py). A day's
    ``rolled`` row says the day is complete: its other figures that are absent are zero.
    """

    __tablename__ = "analytics_days"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    sketch: Mapped[bytes | None] = mapped_column(LargeBinary)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
