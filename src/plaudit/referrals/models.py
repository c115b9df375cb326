"""Referral codes, clicks, referrals and the rewards they grant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class ReferralCode(Base):
    """A user's share code. Codes are unique across products: a link names only its code."""

    __tablename__ = "referral_codes"

    #: Upper-case; links are matched case-insensitively.
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReferralClick(Base):
    __tablename__ = "referral_clicks"
    __table_args__ = (Index("ix_referral_clicks_referrer", "referrer_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    referrer_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Keyed digests (referrals/fingerprint.py) of the visitor's address and device cookie:
    #: never the values themselves.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))


#: A referral's review: none (nothing fired), "flagged" (in the queue), then a decision.
REVIEW_STATES = ("flagged", "approved", "rejected")
#: A reward's life: "held" while its referral is flagged, "pending" through the product's hold
#: days, then "granted"; or "rejected" by a reviewer, "cancelled" by the tenant (a refund).
REWARD_STATES = ("held", "pending", "granted", "rejected", "cancelled")


class Referral(Base):
    """A referred user: signed up through a referrer, later perhaps converted. Once each."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("product_id", "referred_external_id"),
        Index("ix_referrals_referrer", "referrer_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    referrer_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The referred user's id in the tenant's system (they may never have opened the widget).
    referred_external_id: Mapped[str] = mapped_column(String(255))
    signed_up_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    converted_at: Mapped[dt.datetime | None] = mapped_column()
    #: Keyed digests of the signup's client address and device, as the tenant's server gave them.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))
    #: The device cookie of the click on the share link that led to this signup (by address).
    click_device_hash: Mapped[str | None] = mapped_column(String(64))
    #: None while no screening rule fired; else one of REVIEW_STATES.
    review: Mapped[str | None] = mapped_column(String(16))
    #: What fired, in plain words: [{"rule", "check", "message"}], oldest first.
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    #: The reviewer's reason (required to reject) or note.
    review_note: Mapped[str | None] = mapped_column(String(500))


class ReferralReward(Base):
    """What a referrer earned for one referred user: granted at most once per referral."""

    __tablename__ = "referral_rewards"
    __table_args__ = (
        Index("ix_referral_rewards_user", "user_pk"),
        Index("ix_referral_rewards_order", "product_id", "order_id"),
        Index("ix_referral_rewards_due", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: One of REWARD_STATES; rows from before screening were all granted.
    status: Mapped[str] = mapped_column(String(16), default="granted", server_default="granted")
    #: The tenant's id of the order whose conversion triggered it: a refund cancels by it.
    order_id: Mapped[str | None] = mapped_column(String(255))
    #: When a pending reward is granted (the product's hold days after it was earned).
    available_at: Mapped[dt.datetime | None] = mapped_column()
    granted_at: Mapped[dt.datetime | None] = mapped_column()
    #: Why it was rejected or cancelled.
    status_reason: Mapped[str | None] = mapped_column(String(500))


class FraudRule(Base):
    """A product's setting of one screening rule (referrals/fraud.py names the rules and their
    defaults; a rule without a row runs with its defaults)."""

    __tablename__ = "referral_fraud_rules"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    rule: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column()
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
