"""Badges, streaks and the ranked leaderboard snapshots."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class Badge(Base):
    """A badge and the rule that awards it: an event type N times, a points total, or a
    streak of N days."""

    __tablename__ = "badges"
    __table_args__ = (Index("ix_badges_product", "product_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    icon: Mapped[str] = mapped_column(String(16), default="")
    #: event_count | points_total | streak
    kind: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str | None] = mapped_column(String(128))
    #: The count, the points or the days the rule asks for.
    threshold: Mapped[int] = mapped_column()
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def criteria(self) -> dict[str, str | int]:
        """The rule as the API spells it (``BadgeCreate.criteria``)."""
        if self.kind == "event_count":
            return {"kind": self.kind, "event_type": self.event_type or "", "count": self.threshold}
        if self.kind == "points_total":
            return {"kind": self.kind, "points": self.threshold}
        return {"kind": self.kind, "event_type": self.event_type or "", "days": self.threshold}


class UserBadge(Base):
    """A badge a user holds: the primary key makes "once each" a fact of the store."""

    __tablename__ = "user_badges"

    user_pk: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    badge_id: Mapped[str] = mapped_column(
        ForeignKey("badges.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    awarded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Streak(Base):
    """Consecutive days, in the product's time zone, on which the user sent an event type."""

    __tablename__ = "streaks"

    user_pk: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(128), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    current: Mapped[int] = mapped_column(default=0)
    best: Mapped[int] = mapped_column(default=0)
    last_day: Mapped[dt.date] = mapped_column(Date)


class LeaderboardRank(Base):
    """A ranked row of a board's latest snapshot: reading the top N or one user's rank is an
    index lookup, whatever the number of users.

    No foreign key to the users, on purpose: a refresh writes a row per player, and at a million
    players PostgreSQL spent most of the refresh in the foreign-key triggers
    (bench/leaderboard.py). The rows are derived: reads join the users (a deleted user drops
    out at once) and the next refresh rewrites them. The product's key stays, so that the ranks
    go with their product by ON DELETE CASCADE, like every other table of it.
    """

    __tablename__ = "leaderboard_ranks"
    __table_args__ = (Index("ix_leaderboard_ranks_rank", "product_id", "board", "rank"),)

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    board: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_pk: Mapped[int] = mapped_column(primary_key=True)
    rank: Mapped[int] = mapped_column()
    points: Mapped[int] = mapped_column(BigInteger)


class LeaderboardSnapshot(Base):
    """When a board was last ranked, for which period, and up to which ledger entry."""

    __tablename__ = "leaderboard_snapshots"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    board: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(24))
    as_of: Mapped[dt.datetime] = mapped_column()
    last_entry_id: Mapped[int] = mapped_column(BigInteger, default=0)
    users: Mapped[int] = mapped_column(default=0)
