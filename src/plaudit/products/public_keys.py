"""Public keys a tenant uploads (PEM or JWK), as the loyalty guide's Authentication tab."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from plaudit.auth import key_from_jwk, public_key_from_pem
from plaudit.auth.keys import VerificationKey
from plaudit.errors import InvalidInput, NotFound

from .models import (
    Product,
    PublicKeyRecord,
)
from .schemas import KeyCreate, KeyOut
from .scope import refuse_taken_kid, scoped, touch


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
    refuse_taken_kid(session, product, key.kid)
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


def add_from(session: Session, product: Product, body: KeyCreate) -> PublicKeyRecord:
    """POST .../keys as the API and the console take it (the loyalty guide's Add Key)."""
    return add_key(
        session,
        product,
        public_key=body.public_key,
        jwk=body.jwk,
        kid=body.kid,
        description=body.description,
        enabled=body.enabled,
        algorithm=body.algorithm,
    )


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
    """A public key as JSON values, for the console and the CLI to show."""
    return KeyOut.model_validate(record).model_dump(mode="json")
