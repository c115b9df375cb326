"""HMAC secrets: generated or imported, encrypted at rest, rotated with a grace period."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit.auth import get_profile, hmac_key
from plaudit.auth.algorithms import ALGORITHMS
from plaudit.auth.errors import WeakKey
from plaudit.auth.signing import generate_secret
from plaudit.errors import NotFound
from plaudit.store.base import utcnow
from plaudit.store.crypto import SecretBox

from .models import (
    Product,
    ProductSecret,
)
from .schemas import SecretCreate, SecretCreated, SecretOut
from .scope import refuse_taken_kid, scoped, touch


def create_secret(
    session: Session,
    product: Product,
    *,
    box: SecretBox,
    value: str | None = None,
    algorithm: str | None = None,
    kid: str | None = None,
    grace_seconds: int = 3600,
    now: dt.datetime | None = None,
) -> tuple[ProductSecret, str]:
    """Generate or import a secret; the secrets before it keep verifying for ``grace_seconds``."""
    now = now or utcnow()
    value = value if value is not None else generate_secret(64)
    kid = kid or "sec_" + secrets.token_hex(6)
    refuse_taken_kid(session, product, kid)
    hmac_key(value, kid=kid, algorithm=algorithm)  # the core's rules: length, not a key
    if algorithm is None:
        _refuse_too_short_for_profile(product, value)
    grace_end = now + dt.timedelta(seconds=grace_seconds)
    for old in session.scalars(scoped(ProductSecret, product.id).where(ProductSecret.enabled)):
        if old.not_after is None or old.not_after > grace_end:
            old.not_after = grace_end
    secret = ProductSecret(
        product_id=product.id,
        kid=kid,
        algorithm=algorithm,
        ciphertext=box.seal(value),
        enabled=True,
        created_at=now,
    )
    session.add(secret)
    touch(product)
    session.flush()
    return secret, value


def create_from(
    session: Session, product: Product, body: SecretCreate, *, box: SecretBox, now: dt.datetime
) -> SecretCreated:
    """POST .../secrets as the API and the console take it; the answer shows the value once."""
    secret, value = create_secret(
        session,
        product,
        box=box,
        value=body.value,
        algorithm=body.algorithm,
        kid=body.kid,
        grace_seconds=body.grace_seconds,
        now=now,
    )
    return SecretCreated(kid=secret.kid, value=value, algorithm=secret.algorithm)


def _refuse_too_short_for_profile(product: Product, value: str) -> None:
    """A secret too short for the profile's own algorithm would verify none of its tokens."""
    expected = get_profile(product.profile).algorithms[0]
    spec = ALGORITHMS.get(expected)
    if spec is not None and spec.kty == "oct" and len(value.encode()) < spec.min_secret_bytes:
        raise WeakKey(
            f"The {product.profile} profile's tokens are signed {expected}, which needs a secret "
            f"of at least {spec.min_secret_bytes} bytes; this one has {len(value.encode())}.",
            hint="Use a longer secret, or, if your backend signs with another algorithm, say "
            'which: {"algorithm": "HS256"}.',
        )


def reencrypt_secrets(session: Session, *, box: SecretBox) -> int:
    """Seal every stored secret again under the newest master key; returns how many."""
    count = 0
    for secret in session.scalars(select(ProductSecret)):
        secret.ciphertext = box.rotate(secret.ciphertext)
        count += 1
    return count


def list_secrets(session: Session, product: Product) -> list[ProductSecret]:
    return list(session.scalars(scoped(ProductSecret, product.id).order_by(ProductSecret.id)))


def disable_secret(session: Session, product: Product, kid: str) -> ProductSecret:
    secret = session.scalar(scoped(ProductSecret, product.id).where(ProductSecret.kid == kid))
    if secret is None:
        raise NotFound(f"Product {product.id!r} has no secret {kid!r}.")
    secret.enabled = False
    touch(product)
    return secret


def secret_info(secret: ProductSecret, now: dt.datetime | None = None) -> dict[str, Any]:
    """A secret as JSON values, for the console and the CLI to show (never its value)."""
    return SecretOut.model_validate(secret, context={"now": now or utcnow()}).model_dump(
        mode="json"
    )


def signing_secret(session: Session, product: Product, *, box: SecretBox) -> tuple[str, str | None]:
    """The newest active secret's value and algorithm, to sign with (the demo host app does)."""
    row = session.scalar(
        scoped(ProductSecret, product.id)
        .where(ProductSecret.enabled, ProductSecret.not_after.is_(None))
        .order_by(ProductSecret.id.desc())
    )
    if row is None:
        raise NotFound(f"Product {product.id!r} has no active secret.")
    return box.open(row.ciphertext), row.algorithm
