"""The tables of a product and of everything that authenticates against it."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plaudit.store.base import Base, utcnow


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(32), default="standard")
    issuer: Mapped[str | None] = mapped_column(String(255))
    audience: Mapped[str | None] = mapped_column(String(255))
    required_claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    leeway_seconds: Mapped[int] = mapped_column(default=30)
    max_token_age_seconds: Mapped[int | None] = mapped_column(default=86_400)
    max_lifetime_seconds: Mapped[int | None] = mapped_column()
    require_expiry: Mapped[bool] = mapped_column(default=False)
    token_type: Mapped[str | None] = mapped_column(String(64))
    user_id_claim: Mapped[str | None] = mapped_column(String(255))
    published: Mapped[bool] = mapped_column(default=False)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    referral_landing_url: Mapped[str | None] = mapped_column(String(2048))
    #: What a referrer earns per referred user, and when: at "signup" or at "conversion".
    referral_reward_kind: Mapped[str] = mapped_column(
        String(64), default="credit", server_default="credit"
    )
    referral_reward_amount: Mapped[int] = mapped_column(default=10, server_default="10")
    referral_reward_on: Mapped[str] = mapped_column(
        String(16), default="conversion", server_default="conversion"
    )
    #: The widget's colours: {"primary", "background", "text"} as #rrggbb.
    theme: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: IANA zone in which streak days, weekly and monthly leaderboards are counted.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    #: A balance untouched by any earn for this many days expires; None: points never expire.
    points_expire_after_days: Mapped[int | None] = mapped_column()
    #: Bumped on every change that affects verification, so other processes reload within seconds.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Tiers (loyalty/tiers.py): how they are held; set with the tiers (PUT .../loyalty/tiers).
    #: "lifetime": by lifetime points, never lost; "rolling": by the points of the last
    #: ``tier_window_days``, with ``tier_grace_days`` before a downgrade.
    tier_held_by: Mapped[str] = mapped_column(
        String(16), default="lifetime", server_default="lifetime"
    )
    tier_window_days: Mapped[int | None] = mapped_column()
    tier_grace_days: Mapped[int] = mapped_column(default=0, server_default="0")

    # --- points lots and holds (ledger) ---
    #: Each earned lot expires this many days after it was earned; None: lots never expire.
    points_lot_expiry_days: Mapped[int | None] = mapped_column()
    #: Earned points are pending this many days before they can be spent; None: available at once.
    points_hold_days: Mapped[int | None] = mapped_column()
    #: ``points.expiring`` is sent this many days before a lot expires; None: not sent.
    points_expiring_notice_days: Mapped[int | None] = mapped_column()

    secrets: Mapped[list[ProductSecret]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductSecret.id"
    )
    keys: Mapped[list[PublicKeyRecord]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="PublicKeyRecord.id"
    )
    jwks_sources: Mapped[list[JwksSource]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="JwksSource.id"
    )

    # --- referral reward holds (issue 14, referrals/) ---
    #: A referral reward stays pending this many days before it is granted; 0: at once.
    referral_reward_hold_days: Mapped[int] = mapped_column(default=0, server_default="0")
    # The event pipeline (pipeline/programs.py): a fresh random value whenever the product's
    # earning rules, tiers, badges or webhook endpoints change, so every process's copy of
    # them is read again; random, not a counter, so that no two states ever share one.
    programs_version: Mapped[str] = mapped_column(
        String(32), default=lambda: secrets.token_hex(8), server_default="0"
    )


class ProductSecret(Base):
    """An HMAC secret, encrypted with the master key. Its value is shown once, at creation."""

    __tablename__ = "product_secrets"
    __table_args__ = (UniqueConstraint("product_id", "kid"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    kid: Mapped[str] = mapped_column(String(256))
    algorithm: Mapped[str | None] = mapped_column(String(16))
    ciphertext: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    #: The end of a rotated secret's grace period.
    not_after: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="secrets")


class PublicKeyRecord(Base):
    """A public key a tenant uploaded (PEM or JWK), as the loyalty guide's Authentication tab."""

    __tablename__ = "public_keys"
    __table_args__ = (UniqueConstraint("product_id", "kid"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    kid: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(String(500), default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    kty: Mapped[str] = mapped_column(String(8))
    algorithm: Mapped[str | None] = mapped_column(String(16))
    #: The public key as a PEM SubjectPublicKeyInfo, whatever form it was uploaded in.
    public_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="keys")


class JwksSource(Base):
    """A JWKS URL a tenant publishes; Plaudit fetches it itself, never because a token asks."""

    __tablename__ = "jwks_sources"
    __table_args__ = (UniqueConstraint("product_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    refresh_seconds: Mapped[int] = mapped_column(default=3600)
    #: The last JWK Set that was fetched and parsed successfully.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fetched_at: Mapped[dt.datetime | None] = mapped_column()
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="jwks_sources")


class Revocation(Base):
    """A revoked token id, or every token of a user issued before a moment."""

    __tablename__ = "revocations"
    __table_args__ = (Index("ix_revocations_product", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    jti: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    issued_before: Mapped[dt.datetime | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuthFailure(Base):
    """A refused token, kept so a tenant can debug its integration: never its signature."""

    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_product_time", "product_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    header: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
