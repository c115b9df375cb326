"""The request's unit of work (``DbSession``): what a client is told happened, happened."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

import plaudit.models  # noqa: F401  # every table, for create_all
from plaudit.access.session import DbSession, changed
from plaudit.access.state import AppState
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.base import Base
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database


class Refused(Exception):
    pass


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'plaudit.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def _app(db: Database, announced: list[str]) -> FastAPI:
    app = FastAPI()
    app.state.plaudit = AppState(
        settings=Settings(),
        db=db,
        box=SecretBox(Fernet.generate_key().decode()),
        http=httpx.Client(),
        on_change=[announced.append],
    )

    @app.post("/products/{product_id}")
    def create(product_id: str, session: DbSession) -> dict[str, str]:
        session.add(Product(id=product_id, name=product_id, required_claims=[], allowed_origins=[]))
        changed(session, product_id)
        if product_id == "refused":
            raise Refused
        return {"id": product_id}

    return app


def _committed(db: Database, product_id: str) -> bool:
    # A second connection of its own (not the app's pool): it sees committed rows only.
    path = db.url.split(":///", 1)[1]
    with sqlite3.connect(path) as connection:
        row = connection.execute("SELECT count(*) FROM products WHERE id = ?", (product_id,))
        return bool(row.fetchone()[0])


def test_a_write_is_committed_before_the_response_starts(db: Database) -> None:
    """The row is in the database when the first byte of the 201 leaves, not after."""
    announced: list[str] = []
    app = _app(db, announced)
    seen_at_start: list[bool] = []

    async def watching(scope: Scope, receive: Receive, send: Send) -> None:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen_at_start.append(_committed(db, "acme"))
                seen_at_start.append(announced == ["acme"])
            await send(message)

        await app(scope, receive, watched)

    with TestClient(watching) as client:
        assert client.post("/products/acme").json() == {"id": "acme"}
    assert seen_at_start == [True, True]


def test_a_failed_handler_writes_nothing_and_announces_nothing(db: Database) -> None:
    announced: list[str] = []
    with TestClient(_app(db, announced), raise_server_exceptions=False) as client:
        response: Any = client.post("/products/refused")
    assert response.status_code == 500
    assert not _committed(db, "refused")
    assert announced == []
