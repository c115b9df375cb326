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

from sqlalchemy.orm import Session

from plaudit.auth import get_profile
from plaudit.errors import Conflict, InvalidInput
from plaudit.store.crypto import SecretBox

from .api_keys import create_api_key
from .hmac_secrets import create_secret
from .models import Product, ProductSecret
from .repository import get_product, list_products
from .routing import ROUTING_SETTINGS, refuse_steering, refuse_taken_id
from .schemas import (
    NULLABLE_SETTINGS,
    ProductCreated,
    ProductOut,
    ProductSettings,
    SecretCreated,
)
from .scope import touch

__all__ = [
    "CreatedProduct",
    "create_product",
    "created_answer",
    "delete_product",
    "get_product",
    "list_products",
    "product_settings",
    "update_product",
]

# --- products -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedProduct:
    product: Product
    api_key: str
    #: None for a product whose profile verifies with uploaded public keys (xtremepush): a
    #: secret nobody asked for would only widen what verifies.
    secret: ProductSecret | None
    secret_value: str | None


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
    """Every table of the product's data follows it by ON DELETE CASCADE."""
    session.delete(product)


def product_settings(product: Product) -> dict[str, Any]:
    """A product's settings as JSON values, for the console and the CLI to show."""
    return ProductOut.model_validate(product).model_dump(mode="json")


def created_answer(created: CreatedProduct) -> ProductCreated:
    """The creation answer: settings, and the API key and secret shown this once."""
    secret = None
    if created.secret is not None and created.secret_value is not None:
        secret = SecretCreated(
            kid=created.secret.kid, value=created.secret_value, algorithm=created.secret.algorithm
        )
    return ProductCreated.model_validate(
        {
            **ProductOut.model_validate(created.product).model_dump(),
            "api_key": created.api_key,
            "secret": secret,
        }
    )
