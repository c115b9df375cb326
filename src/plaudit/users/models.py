"""A tenant's user as Plaudit knows it: created on the first valid token, refreshed by later ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plaudit.store.base import Base, utcnow


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("product_id", "external_id"),
        Index("ix_users_product_listed", "product_id", "listed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    #: The user id the tenant's tokens carry (sub, UserId, user.id, ...).
    external_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(512))
    first_name: Mapped[str | None] = mapped_column(String(512))
    last_name: Mapped[str | None] = mapped_column(String(512))
    name: Mapped[str | None] = mapped_column(String(512))
    locale: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(512))
    #: The referral code the tenant chose for the user (the referral platform's referralCode).
    referral_code: Mapped[str | None] = mapped_column(String(512))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: When the user joined the "All Users" list: the first sight once the product was published.
    listed_at: Mapped[dt.datetime | None] = mapped_column()

    PROFILE_FIELDS = (
        "email",
        "first_name",
        "last_name",
        "name",
        "locale",
        "account_id",
        "referral_code",
    )
