"""Referral codes, clicks, referrals and the rewards they grant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
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


class ReferralReward(Base):
    """What a referrer earned for one referred user: granted at most once per referral."""

    __tablename__ = "referral_rewards"
    __table_args__ = (Index("ix_referral_rewards_user", "user_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
