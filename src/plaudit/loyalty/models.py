"""Loyalty rows. The ledger is the truth; the account row is its running sum, kept in the same
transaction so that a balance check is one row read and a debit one conditional update."""

from __future__ import annotations

import builtins
import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class EarningRule(Base):
    """An event type earns points: a fixed amount, or a numeric property times a rate."""

    __tablename__ = "earning_rules"
    __table_args__ = (Index("ix_earning_rules_product_event", "product_id", "event_type"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(128))
    points: Mapped[int | None] = mapped_column()
    property: Mapped[str | None] = mapped_column(String(128))
    rate: Mapped[float | None] = mapped_column(Float)
    limit_per_day: Mapped[int | None] = mapped_column()
    once: Mapped[bool] = mapped_column(default=False)
    #: Only events sent with the API key earn by it: a user's browser cannot claim purchases.
    server_only: Mapped[bool] = mapped_column(default=False)
    #: A property rule earns from a user's browser only when the tenant says so: the browser
    #: chooses the property's value. Fixed-amount rules ignore it (server_only governs them).
    client_safe: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The most one event earns under a property rule; None: the ledger's own cap only
    #: (allowed for server-only rules; a client-safe rule must have one).
    max_points_per_event: Mapped[int | None] = mapped_column()
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Days after which a lot this rule earns expires, instead of the product's setting;
    #: 0: never. None: the product's ``points_lot_expiry_days``.
    lot_expiry_days: Mapped[int | None] = mapped_column()
    #: Days this rule's points are pending, instead of the product's setting; 0: available at
    #: once. None: the product's ``points_hold_days``.
    hold_days: Mapped[int | None] = mapped_column()

    # builtins.property: in this class, ``property`` names the column.
    @builtins.property
    def servers_only(self) -> bool:
        """Whether only the tenant's servers earn by the rule: set so, or a property rule (whose
        value a browser would choose) not marked client_safe."""
        return self.server_only or (self.points is None and not self.client_safe)

    @builtins.property
    def description(self) -> str:
        """What the rule gives, in words for the widget."""
        if self.points is not None:
            what = f"{self.points} point{'s' if self.points != 1 else ''}"
        else:
            rate = f"{self.rate:g}"
            what = f"{rate} point{'s' if rate != '1' else ''} per {self.property}"
        if self.points is None and self.max_points_per_event:
            what += f", at most {self.max_points_per_event} per event"
        if self.once:
            what += ", once"
        elif self.limit_per_day:
            times = "once" if self.limit_per_day == 1 else f"up to {self.limit_per_day} times"
            what += f", {times} a day"
        return what


class LoyaltyAccount(Base):
    """One user's running totals: the sum of their ledger, never negative."""

    __tablename__ = "loyalty_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        Index("ix_loyalty_accounts_product_last_earned", "product_id", "last_earned_at"),
    )

    user_pk: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    #: Spendable points: the remaining points of the lots that are not held.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Points earned but held (pending) until their lot's ``available_at``: not spendable.
    pending: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: Points ever earned (earns, referral points, positive adjustments): what tiers count.
    lifetime: Mapped[int] = mapped_column(BigInteger, default=0)
    tier_name: Mapped[str | None] = mapped_column(String(100))
    last_earned_at: Mapped[dt.datetime | None] = mapped_column()


class LedgerEntry(Base):
    """One change of a balance, with its reason. Rows are only ever added; of an earning
    entry (a lot) only ``remaining``, ``held`` and ``expiring_notified`` change after.

    A lot's ``remaining`` is what is left of its points after the debits that consumed it
    (oldest expiry first, then oldest id): a held lot's remaining counts in the account's
    ``pending``, another's in its ``balance``. Every other entry has ``remaining`` null."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_user", "user_pk", "id"),
        Index("ix_ledger_entries_user_rule", "user_pk", "rule_id", "created_at"),
        Index("ix_ledger_entries_product", "product_id", "id"),
        # The user's lots with points left, in the order debits consume them.
        Index(
            "ix_ledger_entries_lots",
            "user_pk",
            "expires_at",
            "id",
            postgresql_where=text("remaining > 0"),
            sqlite_where=text("remaining > 0"),
        ),
        # The background steps' work: lots to expire, held lots to release.
        Index(
            "ix_ledger_entries_expiring",
            "expires_at",
            postgresql_where=text("remaining > 0"),
            sqlite_where=text("remaining > 0"),
        ),
        Index(
            "ix_ledger_entries_held",
            "available_at",
            # As each store's queries spell the test (SQLite proves an index usable only
            # from the same term).
            postgresql_where=text("held"),
            sqlite_where=text("held = 1"),
        ),
        Index("ix_ledger_entries_lot", "lot_id"),
    )

    #: 64-bit on PostgreSQL; SQLite's autoincrementing key is its 64-bit rowid already.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Points are 64-bit: a single earn may be up to a billion, and sums must not overflow.
    delta: Mapped[int] = mapped_column(BigInteger)
    #: earn | redeem | adjust | expire | referral
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500), default="")
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # Plain ids, not foreign keys: history outlives a deleted rule or reward.
    rule_id: Mapped[str | None] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(40))
    redemption_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Of a lot: its points not yet spent, reversed or expired. Null: not a lot.
    remaining: Mapped[int | None] = mapped_column(BigInteger)
    #: Of a lot: when what remains of it expires. Null: never.
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    #: Of a lot: when it can be spent. Null or past: available; future: pending.
    available_at: Mapped[dt.datetime | None] = mapped_column()
    #: Of a lot: its remaining points are still in the account's ``pending``, not released
    #: into its balance (the release happens once ``available_at`` has passed).
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: ``points.expiring`` was sent for this lot.
    expiring_notified: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Of a reversal or a lot's expiry: the lot (earning entry) it reverses or expires.
    lot_id: Mapped[int | None] = mapped_column(BigInteger)
    #: Of a reversal: the points it should have taken back but could not (the balance was
    #: too small); they count as reversed, so a second reversal does not take them.
    unrecovered: Mapped[int | None] = mapped_column(BigInteger)


class Tier(Base):
    __tablename__ = "tiers"
    __table_args__ = (
        UniqueConstraint("product_id", "threshold"),
        UniqueConstraint("product_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    #: Qualifying points from which a user holds this tier: lifetime points, or the points of
    #: the rolling window when the product's tiers are held that way (``Product.tier_held_by``).
    threshold: Mapped[int] = mapped_column()


class TierStanding(Base):
    """Where a user stands with a product whose tiers are held by a rolling window: the window's
    points at the last evaluation, and the grace period of a pending downgrade. Written only by
    the background step (``tiers.requalify``)."""

    __tablename__ = "tier_standings"
    __table_args__ = (Index("ix_tier_standings_product_review", "product_id", "review_at"),)

    user_pk: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    #: Earned points in the window (net of reversals) when last evaluated.
    qualifying: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The account's lifetime points then: the difference is what was earned since.
    lifetime_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    #: When the user moves down unless they requalify first; None: no downgrade pending.
    review_at: Mapped[dt.datetime | None] = mapped_column()
    downgrade_to: Mapped[str | None] = mapped_column(String(100))


class TierWindow(Base):
    """The background step's place in one product's rolling window."""

    __tablename__ = "tier_windows"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    #: The last entry seen leaving the window, by (created_at, id): where the next pass goes on.
    aged_upto: Mapped[dt.datetime | None] = mapped_column()
    aged_id: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Earners since this (less a margin) are evaluated; None: from the start.
    earned_since: Mapped[dt.datetime | None] = mapped_column()
    #: Where the next look for reversals starts, by (created_at, id); None: a minute ago.
    reversed_since: Mapped[dt.datetime | None] = mapped_column()
    reversed_id: Mapped[int] = mapped_column(BigInteger, default=0)
    #: A sweep of every account (after the policy or the tiers change): the last user pk done;
    #: None: no sweep under way.
    sweep_after: Mapped[int | None] = mapped_column(BigInteger)


class Reward(Base):
    """An item of the rewards catalog."""

    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        Index("ix_rewards_product", "product_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    cost: Mapped[int] = mapped_column()
    #: None: unlimited.
    stock: Mapped[int | None] = mapped_column()
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: How a redemption is delivered: ``instant`` (nothing to hand over), ``code`` (a unique
    #: code from the reward's pool), ``tenant`` (the tenant's server fulfils it, then says so).
    fulfilment: Mapped[str] = mapped_column(String(16), default="instant", server_default="instant")
    #: ``reward_codes.low`` is sent once when the pool's remaining codes fall to this.
    low_codes_at: Mapped[int | None] = mapped_column()
    #: Whether that alert went out for the current fall; an upload above the mark re-arms it.
    low_codes_alerted: Mapped[bool] = mapped_column(default=False, server_default=false())


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (
        # The client's id makes a retried redemption answer the first one, not debit twice.
        UniqueConstraint("user_pk", "client_id"),
        Index("ix_redemptions_product", "product_id", "created_at"),
        Index("ix_redemptions_product_status", "product_id", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reward_id: Mapped[str] = mapped_column(String(32))
    reward_name: Mapped[str] = mapped_column(String(200))
    cost: Mapped[int] = mapped_column()
    client_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: delivered | pending_fulfilment | fulfilled | failed (points refunded)
    status: Mapped[str] = mapped_column(String(24), default="delivered", server_default="delivered")
    #: The code handed out (from the pool, or given by the tenant on fulfilment): the user's only.
    code: Mapped[str | None] = mapped_column(String(200))
    #: When the tenant marked it fulfilled or failed, and why it failed.
    settled_at: Mapped[dt.datetime | None] = mapped_column()
    failure_reason: Mapped[str | None] = mapped_column(String(500))


class RewardCode(Base):
    """One code of a reward's pool; taken (``redemption_id`` set) by exactly one redemption."""

    __tablename__ = "reward_codes"
    __table_args__ = (
        # A pool holds each code once: an upload skips (and counts) the ones it has.
        UniqueConstraint("reward_id", "code"),
        # The free codes in pool order: what a redemption takes from and what is counted.
        Index(
            "ix_reward_codes_free",
            "reward_id",
            "id",
            postgresql_where=text("redemption_id IS NULL"),
            sqlite_where=text("redemption_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    reward_id: Mapped[str] = mapped_column(ForeignKey("rewards.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(200))
    redemption_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PointsTally(Base):
    """Points earned by a user in one period ('all', 'week:2026-W48', 'month:2026-11'): what
    leaderboards rank. Kept by the same statement that credits the ledger."""

    __tablename__ = "points_tallies"
    __table_args__ = (Index("ix_points_tallies_board", "product_id", "period", "points"),)

    user_pk: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(24), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
