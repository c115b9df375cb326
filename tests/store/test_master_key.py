"""The master key that encrypts secrets at rest can be rotated without losing a secret."""

from __future__ import annotations

import jwt
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.app import create_app
from plaudit.products.hmac_secrets import reencrypt_secrets
from plaudit.products.models import ProductSecret
from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from tests.support.service import NOW, Clock, bearer, create_product


def test_secrets_are_stored_encrypted_never_in_the_clear(client: TestClient, db: Database) -> None:
    """The database holds no product secret in plain text."""
    product = create_product(client)
    with db.session() as session:
        stored = session.scalars(select(ProductSecret.ciphertext)).all()
    assert stored
    assert all(product["secret"]["value"] not in c for c in stored)


def test_a_rotated_master_key_keeps_every_secret_verifying(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """New key first, re-encrypt, drop the old key: the product's tokens still verify."""
    product = create_product(client, id="acme")
    token = jwt.encode(
        {"sub": "u1", "iss": "t", "aud": "acme", "iat": int(NOW), "exp": int(NOW) + 600},
        product["secret"]["value"],
        algorithm="HS256",
    )
    new_key = Fernet.generate_key().decode()
    with db.session() as session:
        assert reencrypt_secrets(session, box=SecretBox(f"{new_key},{settings.master_key}")) == 1
    only_new = settings.model_copy(update={"master_key": new_key})
    with TestClient(create_app(only_new, db=db, clock=clock, background=False)) as fresh:
        response = fresh.get("/v1/auth/verify", headers=bearer(token))
    assert response.status_code == 200, response.text


def test_a_wrong_master_key_is_a_clear_server_error_not_a_leak(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """A server started with a master key that cannot read the store says so, on every path."""
    product = create_product(client, id="acme")
    token = jwt.encode(
        {"sub": "u1", "iss": "t", "aud": "acme", "iat": int(NOW), "exp": int(NOW) + 600},
        product["secret"]["value"],
        algorithm="HS256",
    )
    wrong = settings.model_copy(update={"master_key": Fernet.generate_key().decode()})
    with TestClient(
        create_app(wrong, db=db, clock=clock, background=False), raise_server_exceptions=False
    ) as broken:
        for path in ("/v1/auth/verify", "/v1/referrals/me"):
            response = broken.get(path, headers=bearer(token))
            assert response.status_code == 500
            assert response.json()["error"] == "server_misconfigured"
            assert product["secret"]["value"] not in response.text
