"""Products and their credentials: what the management API, the CLI and the console all call.

Services take the session first and keyword-only arguments after it. Every query of a
product's data starts from ``scoped()``, which puts the product filter in by construction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from plaudit.auth import get_profile, hmac_key, key_from_jwk, public_key_from_pem
from plaudit.auth.algorithms import ALGORITHMS
from plaudit.auth.errors import WeakKey
from plaudit.auth.keys import VerificationKey
from plaudit.auth.signing import generate_secret
from plaudit.errors import Conflict, InvalidInput, NotFound
from plaudit.store.base import utcnow
from plaudit.store.crypto import SecretBox

from .models import (
    ApiKey,
    AuthFailure,
    JwksSource,
    Product,
    ProductSecret,
    PublicKeyRecord,
    Revocation,
)
from .schemas import DEFAULT_THEME, NULLABLE_SETTINGS, ProductSettings

#: The referral platform guide's tokens carry no 'iat' and "not having an expiry works" there:
#: a max age could only refuse its expiry-less tokens, so its products start without one.
NO_MAX_AGE_PROFILES = frozenset({"saasquatch"})

M = TypeVar("M", ProductSecret, PublicKeyRecord, JwksSource, ApiKey, Revocation, AuthFailure)
API_KEY_PREFIX = "pk_"


def scoped(model: type[M], product_id: str) -> Select[M]:
    """A query of one product's rows: tenant data is only ever read through this."""
    return select(model).where(model.product_id == product_id)


def touch(product: Product) -> None:
    """Mark a change that affects verification; every process reloads the product within seconds."""
    product.version = product.version + 1
    product.updated_at = utcnow()


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
    product = Product(
        id=product_id, name=name, profile=profile, required_claims=[], allowed_origins=[]
    )
    session.add(product)
    session.flush()
    if profile in NO_MAX_AGE_PROFILES:
        product.max_token_age_seconds = None  # after the insert: None would take the default
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
        "created_at": product.created_at.isoformat(),
        "updated_at": product.updated_at.isoformat(),
    }


# --- secrets ------------------------------------------------------------------------------


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
    _refuse_taken_kid(session, product, kid)
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
    now = now or utcnow()
    state = (
        "disabled"
        if not secret.enabled
        else (
            "retiring"
            if secret.not_after and secret.not_after > now
            else "expired"
            if secret.not_after
            else "active"
        )
    )
    return {
        "kid": secret.kid,
        "algorithm": secret.algorithm,
        "state": state,
        "enabled": secret.enabled,
        "not_after": secret.not_after.isoformat() if secret.not_after else None,
        "created_at": secret.created_at.isoformat(),
    }


# --- public keys --------------------------------------------------------------------------


def add_key(
    session: Session,
    product: Product,
    *,
    public_key: str | None = None,
    jwk: dict[str, Any] | None = None,
    kid: str | None = None,
    description: str = "",
    enabled: bool = True,
    algorithm: str | None = None,
) -> PublicKeyRecord:
    # The core refuses weak, private and unknown keys with its own precise codes (422).
    if jwk is not None:
        key = key_from_jwk(jwk, kid=kid, algorithm=algorithm)
    elif public_key is not None:
        key = public_key_from_pem(public_key, kid=kid, algorithm=algorithm)
    else:
        raise InvalidInput("Give a PEM 'public_key' or a 'jwk'.", field="public_key")
    if key.kty == "oct":
        raise InvalidInput(
            "An 'oct' JWK is a secret; add it with POST .../secrets instead.", field="jwk"
        )
    _refuse_taken_kid(session, product, key.kid)
    record = PublicKeyRecord(
        product_id=product.id,
        kid=key.kid,
        description=description,
        enabled=enabled,
        kty=key.kty,
        algorithm=algorithm or (jwk or {}).get("alg"),
        public_pem=_pem_of(key),
    )
    session.add(record)
    touch(product)
    session.flush()
    return record


def _pem_of(key: VerificationKey) -> str:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    material: Any = key.material
    return str(
        material.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
    )


def get_key(session: Session, product: Product, kid: str) -> PublicKeyRecord:
    record = session.scalar(scoped(PublicKeyRecord, product.id).where(PublicKeyRecord.kid == kid))
    if record is None:
        raise NotFound(f"Product {product.id!r} has no public key {kid!r}.")
    return record


def list_keys(session: Session, product: Product) -> list[PublicKeyRecord]:
    return list(session.scalars(scoped(PublicKeyRecord, product.id).order_by(PublicKeyRecord.id)))


def update_key(
    session: Session,
    product: Product,
    kid: str,
    *,
    enabled: bool | None = None,
    description: str | None = None,
) -> PublicKeyRecord:
    record = get_key(session, product, kid)
    if enabled is not None:
        record.enabled = enabled
    if description is not None:
        record.description = description
    touch(product)
    return record


def delete_key(session: Session, product: Product, kid: str) -> None:
    session.delete(get_key(session, product, kid))
    touch(product)


def key_info(record: PublicKeyRecord) -> dict[str, Any]:
    return {
        "kid": record.kid,
        "description": record.description,
        "enabled": record.enabled,
        "kty": record.kty,
        "algorithms": sorted(
            public_key_from_pem(
                record.public_pem, kid=record.kid, algorithm=record.algorithm
            ).algorithms
        ),
        "public_key": record.public_pem,
        "created_at": record.created_at.isoformat(),
    }


def _refuse_taken_kid(session: Session, product: Product, kid: str) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(ProductSecret)
        .where(ProductSecret.product_id == product.id, ProductSecret.kid == kid)
    ) or session.scalar(
        select(func.count())
        .select_from(PublicKeyRecord)
        .where(PublicKeyRecord.product_id == product.id, PublicKeyRecord.kid == kid)
    )
    if taken:
        raise Conflict(
            f"Product {product.id!r} already has a key or secret with kid {kid!r}.",
            hint="Give each key its own kid, or delete the old one first.",
            field="kid",
        )


# --- API keys -----------------------------------------------------------------------------


def _hash_api_key(value: str) -> str:
    # API keys are 256 random bits: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(value.encode()).hexdigest()


def create_api_key(session: Session, product: Product, *, name: str = "default") -> str:
    key_id = secrets.token_hex(8)
    value = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(id=key_id, product_id=product.id, secret_hash=_hash_api_key(value), name=name)
    )
    session.flush()
    return value


def authenticate_api_key(session: Session, presented: str) -> ApiKey | None:
    """The live API key ``presented`` is, or None. Compared in constant time."""
    if not presented.startswith(API_KEY_PREFIX):
        return None
    key_id = presented[len(API_KEY_PREFIX) :].split("_", 1)[0]
    # A NUL (possible in a Basic password) is no key id, and PostgreSQL refuses to compare it.
    record = None if "\x00" in key_id else session.get(ApiKey, key_id)
    if record is None or record.revoked_at is not None:
        # Hash anyway so that unknown and known ids take the same time.
        hmac.compare_digest(_hash_api_key(presented), "0" * 64)
        return None
    if not hmac.compare_digest(_hash_api_key(presented), record.secret_hash):
        return None
    return record


def list_api_keys(session: Session, product: Product) -> list[ApiKey]:
    return list(session.scalars(scoped(ApiKey, product.id).order_by(ApiKey.created_at)))


def revoke_api_key(session: Session, product: Product, key_id: str) -> ApiKey:
    record = session.scalar(scoped(ApiKey, product.id).where(ApiKey.id == key_id))
    if record is None:
        raise NotFound(f"Product {product.id!r} has no API key {key_id!r}.")
    record.revoked_at = record.revoked_at or utcnow()
    return record


# --- revocations --------------------------------------------------------------------------


def add_revocation(
    session: Session,
    product: Product,
    *,
    jti: str | None = None,
    user_id: str | None = None,
    issued_before: dt.datetime | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Revocation:
    if user_id is not None and issued_before is None:
        issued_before = now or utcnow()
    record = Revocation(
        product_id=product.id, jti=jti, user_id=user_id, issued_before=issued_before, reason=reason
    )
    session.add(record)
    touch(product)
    session.flush()
    return record


def list_revocations(session: Session, product: Product) -> list[Revocation]:
    return list(session.scalars(scoped(Revocation, product.id).order_by(Revocation.id)))


def revocation_info(record: Revocation) -> dict[str, Any]:
    return {
        "id": record.id,
        "jti": record.jti,
        "user_id": record.user_id,
        "issued_before": record.issued_before.isoformat() if record.issued_before else None,
        "reason": record.reason,
        "created_at": record.created_at.isoformat(),
    }


# --- auth failures ------------------------------------------------------------------------

RECENT_FAILURES_KEPT = 1000


def record_failures(session: Session, failures: list[dict[str, Any]]) -> None:
    """Store refused tokens' header and claims (already stripped of signatures) for debugging."""
    for failure in failures:
        session.add(AuthFailure(**failure))
    session.flush()
    for product_id in {f["product_id"] for f in failures}:
        cutoff = session.scalar(
            scoped(AuthFailure, product_id)
            .with_only_columns(AuthFailure.id)
            .order_by(AuthFailure.id.desc())
            .offset(RECENT_FAILURES_KEPT)
            .limit(1)
        )
        if cutoff is not None:
            session.execute(
                delete(AuthFailure).where(
                    AuthFailure.product_id == product_id, AuthFailure.id <= cutoff
                )
            )


def failure_report(
    session: Session, product: Product, *, limit: int = 50, since: dt.datetime | None = None
) -> dict[str, Any]:
    counts_query = (
        select(AuthFailure.code, func.count())
        .where(AuthFailure.product_id == product.id)
        .group_by(AuthFailure.code)
    )
    recent_query = scoped(AuthFailure, product.id)
    if since is not None:
        counts_query = counts_query.where(AuthFailure.occurred_at >= since)
        recent_query = recent_query.where(AuthFailure.occurred_at >= since)
    # Not dict(result): a Result has .keys(), so dict() would treat it as a mapping.
    counts: dict[str, int] = {code: n for code, n in session.execute(counts_query)}  # noqa: C416
    recent = session.scalars(recent_query.order_by(AuthFailure.id.desc()).limit(limit))
    return {
        "counts": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        "total": sum(counts.values()),
        "recent": [
            {
                "occurred_at": f.occurred_at.isoformat(),
                "error": f.code,
                "message": f.message,
                "header": f.header,
                "claims": f.claims,
            }
            for f in recent
        ],
    }


def safe_json(value: Any, limit: int = 4096) -> Any:
    """A JSON value small enough to store, or None (a hostile token's claims may be anything)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value if len(text) <= limit else {"_truncated": text[:limit]}


def bump_versions(session: Session, product_ids: list[str]) -> None:
    if product_ids:
        session.execute(
            update(Product)
            .where(Product.id.in_(product_ids))
            .values(version=Product.version + 1, updated_at=utcnow())
        )
