"""Products: create, read, change, delete. What the management API, the CLI and the console
all call; a product's credentials live beside this module (hmac_secrets, public_keys,
api_keys, revocations, failures), each named for what it holds.

Services take the session first and keyword-only arguments after it. Every query of a
product's data starts from ``scope.scoped()``, which puts the product filter in by construction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from plaudit.auth import get_profile
from plaudit.errors import Conflict, InvalidInput, NotFound
from plaudit.gamification.models import LeaderboardRank
from plaudit.store.crypto import SecretBox

from .api_keys import create_api_key
from .hmac_secrets import create_secret
from .models import Product, ProductSecret
from .routing import ROUTING_SETTINGS, refuse_steering, refuse_taken_id
from .schemas import DEFAULT_THEME, NULLABLE_SETTINGS, ProductSettings
from .scope import touch

# --- products -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedProduct:
    product: Product
    api_key: str
    #: None for a product whose profile verifies with uploaded public keys (xtremepush): a
    #: secret nobody asked for would only widen what verifies.
    secret: ProductSecret | None
    secret_value: str | None

    def as_dict(self) -> dict[str, Any]:
        """The creation answer: settings, and the API key and secret shown this once."""
        secret = None
        if self.secret is not None:
            secret = {
                "kid": self.secret.kid,
                "value": self.secret_value,
                "algorithm": self.secret.algorithm,
            }
        return {**product_settings(self.product), "api_key": self.api_key, "secret": secret}


def create_product(
    session: Session,
    *,
    box: SecretBox,
    name: str,
    product_id: str | None = None,
    profile: str = "standard",
) -> CreatedProduct:
    token_profile = get_profile(profile)
    product_id = product_id or "prod_" + secrets.token_hex(6)
    if session.get(Product, product_id) is not None:
        raise Conflict(f"A product with the id {product_id!r} exists already.", field="id")
    refuse_taken_id(session, product_id)
    product = Product(
        id=product_id, name=name, profile=profile, required_claims=[], allowed_origins=[]
    )
    session.add(product)
    session.flush()
    # After the insert: a None given to the constructor would take the column's default.
    product.max_token_age_seconds = token_profile.default_max_age
    secret: ProductSecret | None = None
    value: str | None = None
    algorithm = token_profile.algorithms[0]
    if algorithm.startswith("HS"):
        secret, value = create_secret(session, product, box=box, algorithm=algorithm)
    api_key = create_api_key(session, product)
    session.flush()
    return CreatedProduct(product=product, api_key=api_key, secret=secret, secret_value=value)


def get_product(session: Session, product_id: str) -> Product:
    # A NUL names no product, and PostgreSQL refuses to compare text holding one.
    product = None if "\x00" in product_id else session.get(Product, product_id)
    if product is None:
        raise NotFound(f"No product has the id {product_id!r}.")
    return product


def list_products(session: Session) -> list[Product]:
    return list(session.scalars(select(Product).order_by(Product.created_at, Product.id)))


def update_product(session: Session, product: Product, changes: ProductSettings) -> Product:
    values = changes.model_dump(exclude_unset=True)
    refuse_steering(
        session,
        product.id,
        values={
            name: values[name]
            for name in ROUTING_SETTINGS
            if name in values and values[name] != getattr(product, name)
        },
    )
    for name, value in values.items():
        if value is None and name not in NULLABLE_SETTINGS:
            raise InvalidInput(f"'{name}' cannot be null.", field=name)
        if name == "theme" and value is not None:
            # A PATCH changes the colours it names and keeps the others; a null colour goes
            # back to the default (stored, it would break every read of the product).
            merged = {**(product.theme or {}), **value}
            setattr(product, name, {k: v for k, v in merged.items() if v is not None})
        else:
            setattr(product, name, value)
    touch(product)
    return product


def delete_product(session: Session, product: Product) -> None:
    # Leaderboard ranks carry no foreign key (see LeaderboardRank): the one table that does
    # not follow its product by ON DELETE CASCADE.
    session.execute(delete(LeaderboardRank).where(LeaderboardRank.product_id == product.id))
    session.delete(product)


def product_settings(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "profile": product.profile,
        "issuer": product.issuer,
        "audience": product.audience,
        "required_claims": list(product.required_claims),
        "leeway_seconds": product.leeway_seconds,
        "max_token_age_seconds": product.max_token_age_seconds,
        "max_lifetime_seconds": product.max_lifetime_seconds,
        "require_expiry": product.require_expiry,
        "token_type": product.token_type,
        "user_id_claim": product.user_id_claim,
        "published": product.published,
        "allowed_origins": list(product.allowed_origins),
        "referral_landing_url": product.referral_landing_url,
        "referral_reward_kind": product.referral_reward_kind,
        "referral_reward_amount": product.referral_reward_amount,
        "referral_reward_on": product.referral_reward_on,
        "theme": {**DEFAULT_THEME, **(product.theme or {})},
        "time_zone": product.time_zone,
        "points_expire_after_days": product.points_expire_after_days,
        "created_at": product.created_at.isoformat(),
        "updated_at": product.updated_at.isoformat(),
    }
