"""/healthz says the process answers and touches nothing; /readyz says it can serve, and
names the check that failed: the store, its migrations, the master key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import text

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN_TOKEN, Clock

ALL_OK = {"store": "ok", "migrations": "ok", "master_key": "ok"}


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[TestClient]:
    """The app on a PostgreSQL address where nothing listens (the discard port)."""
    url = "postgresql+psycopg://plaudit:x@127.0.0.1:9/none?connect_timeout=2"
    settings = Settings(
        data_dir=tmp_path,
        database_url=url,
        admin_token=ADMIN_TOKEN,
        master_key=Fernet.generate_key().decode(),
    )
    app = create_app(settings, db=Database(url), background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_healthz_answers_without_touching_the_store(unreachable: TestClient) -> None:
    """Alive though the store is down: a liveness probe must not restart a process for it."""
    response = unreachable.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_is_200_when_every_check_passes(client: TestClient) -> None:
    """Store reachable, schema current, master key decrypts: 200 listing each check."""
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == ALL_OK


def test_readyz_names_an_unreachable_store(unreachable: TestClient) -> None:
    """503 `not_ready`, the store failed and the checks after it not run, with a hint."""
    response = unreachable.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "not_ready"
    assert body["checks"] == {
        "store": "failed",
        "migrations": "not_checked",
        "master_key": "not_checked",
    }
    assert "PLAUDIT_DATABASE_URL" in body["hint"]


def test_readyz_names_a_schema_behind_this_version(client: TestClient, db: Database) -> None:
    """A store at an older migration: 503 naming migrations, hinting `plaudit migrate`."""
    with db.session() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "failed"
    assert "plaudit migrate" in response.json()["hint"]


def test_readyz_passes_a_schema_a_newer_release_migrated(client: TestClient, db: Database) -> None:
    """A revision this version does not know is a newer release's: during a rolling upgrade
    that migrates first, the old processes stay in rotation."""
    with db.session() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert client.get("/readyz").json()["checks"]["migrations"] == "ok"


def test_readyz_names_a_master_key_that_does_not_decrypt_the_store(
    settings: Settings, db: Database, clock: Clock
) -> None:
    """Secrets stored under one key, the app started with another: 503 naming master_key,
    and the answer quotes nothing of either key."""
    factories.product(db, settings, id="acme")
    other = settings.model_copy(update={"master_key": Fernet.generate_key().decode()})
    app = create_app(other, db=db, clock=clock, background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {**ALL_OK, "master_key": "failed"}
    for key in (settings.master_key or "", other.master_key or ""):
        assert key not in response.text


def test_readyz_passes_a_store_with_nothing_encrypted_yet(client: TestClient) -> None:
    """A fresh store has no secret to decrypt: the master key check passes."""
    assert client.get("/readyz").json()["checks"]["master_key"] == "ok"
