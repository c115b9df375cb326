"""A known user's new token writes nothing: the user is mapped once, remembered per product
build, its last_seen_at written by the background flush; anything that could change the row
(a new profile value, publishing, any change to the product) goes through the store again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select
from sqlalchemy.engine import Engine

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.memory import UserMemory
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookMessage
from tests.support import factories
from tests.support.service import ADMIN, Clock, standard_claims, verify


@pytest.fixture
def product(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme", published=True)


def _sign(product: dict[str, Any], sub: str, jti: str, **profile: Any) -> str:
    return jwt.encode(
        standard_claims(product["id"], sub=sub, jti=jti, **profile),
        product["secret"]["value"],
        algorithm="HS256",
    )


@contextmanager
def _statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _memory(client: TestClient) -> UserMemory:
    memory: UserMemory = client.app.state.users  # type: ignore[attr-defined]
    return memory


def _row(db: Database, sub: str) -> User | None:
    with db.session() as session:
        return session.scalar(select(User).where(User.external_id == sub))


def test_a_known_users_new_token_is_answered_without_the_database(
    client: TestClient, product: dict[str, Any]
) -> None:
    """The first token maps the user; a second, new token for the same user runs no SQL."""
    assert verify(client, _sign(product, "ann", "1")).status_code == 200
    with _statements() as statements:
        assert verify(client, _sign(product, "ann", "2")).status_code == 200
    assert statements == []
    assert _memory(client).pending() == 1  # its last_seen_at waits for the flush


def test_a_first_sight_maps_the_user_once_per_request(
    client: TestClient, product: dict[str, Any]
) -> None:
    """A client route's first token inserts the user and reads it back by its key: no second
    upsert (no UPDATE of the row) in the same request."""
    with _statements() as statements:
        answer = client.get(
            "/v1/me", headers={"Authorization": f"Bearer {_sign(product, 'ann', '1')}"}
        )
    assert answer.status_code == 200, answer.text
    users = [s for s in statements if "users" in s.lower().split(" where ")[0]]
    assert sum(s.lstrip().upper().startswith("INSERT INTO USERS") for s in users) == 1
    assert not [s for s in users if s.lstrip().upper().startswith("UPDATE USERS")]


def test_a_new_profile_value_is_written_at_once(
    client: TestClient, product: dict[str, Any], db: Database
) -> None:
    """A known user's token that carries a new email writes it before the answer."""
    verify(client, _sign(product, "ann", "1", email="old@example.com"))
    verify(client, _sign(product, "ann", "2", email="new@example.com"))
    row = _row(db, "ann")
    assert row is not None
    assert row.email == "new@example.com"
    with _statements() as statements:  # the same value again: nothing to write
        verify(client, _sign(product, "ann", "3", email="new@example.com"))
    assert statements == []


def test_a_tokens_values_overwrite_a_server_write_as_before(
    client: TestClient, product: dict[str, Any], db: Database
) -> None:
    """The server sets another email through the open endpoint; the user's next token (with
    its own email) writes its value back, as every token did before users were remembered."""
    verify(client, _sign(product, "ann", "1", email="ann@example.com"))
    written = client.post(
        "/api/v1/acme/open/account/acct-1/user/ann",
        json={"email": "server@example.com"},
        headers={"Authorization": f"Bearer {product['api_key']}"},
    )
    assert written.status_code == 200, written.text
    verify(client, _sign(product, "ann", "2", email="ann@example.com"))
    row = _row(db, "ann")
    assert row is not None
    assert row.email == "ann@example.com"


def test_a_change_to_the_product_forgets_its_known_users(
    client: TestClient, product: dict[str, Any]
) -> None:
    """After any change to the product (a new build of its verifier) the next token maps the
    user through the store again."""
    verify(client, _sign(product, "ann", "1"))
    patched = client.patch("/v1/products/acme", json={"leeway_seconds": 5}, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    with _statements() as statements:
        assert verify(client, _sign(product, "ann", "2")).status_code == 200
    assert any("users" in s.lower() for s in statements)


def test_a_change_seen_by_another_process_forgets_its_known_users(
    settings: Settings, db: Database, clock: Clock, product: dict[str, Any]
) -> None:
    """Two apps on one store: a change made through the first reaches the second's memory
    with its next poll of the products' versions."""
    first = TestClient(create_app(settings, db=db, clock=clock, background=False))
    second = TestClient(create_app(settings, db=db, clock=clock, background=False))
    with first, second:
        verify(second, _sign(product, "ann", "1"))
        first.patch("/v1/products/acme", json={"leeway_seconds": 5}, headers=ADMIN)
        second.app.state.verification.keystore.refresh()  # type: ignore[attr-defined]
        with _statements() as statements:
            assert verify(second, _sign(product, "ann", "2")).status_code == 200
        assert any("users" in s.lower() for s in statements)


def test_forget_user_makes_the_next_token_map_it_again(
    client: TestClient, product: dict[str, Any], db: Database
) -> None:
    """The eviction an erase calls: the user's pending last_seen_at is dropped and its next
    token recreates it."""
    verify(client, _sign(product, "ann", "1"))
    verify(client, _sign(product, "ann", "2"))
    with db.session() as session:
        session.execute(delete(User).where(User.external_id == "ann"))
    _memory(client).forget_user("acme", "ann")
    assert _memory(client).pending() == 0
    assert verify(client, _sign(product, "ann", "3")).status_code == 200
    assert _row(db, "ann") is not None


def test_the_flush_writes_last_seen_and_never_moves_it_back(
    client: TestClient, product: dict[str, Any], db: Database
) -> None:
    """The background flush writes a known user's latest sighting; an older one is ignored."""
    verify(client, _sign(product, "ann", "1"))
    first = _row(db, "ann")
    assert first is not None
    memory = _memory(client)
    later = time.time() + 60
    memory.clock = lambda: later
    verify(client, _sign(product, "ann", "2"))
    assert memory.flush(db) == 1
    row = _row(db, "ann")
    assert row is not None
    assert row.last_seen_at.timestamp() == pytest.approx(later, abs=1e-3)
    assert row.first_seen_at == first.first_seen_at
    memory.clock = lambda: later - 30
    verify(client, _sign(product, "ann", "3"))
    memory.flush(db)
    row = _row(db, "ann")
    assert row is not None
    assert row.last_seen_at.timestamp() == pytest.approx(later, abs=1e-3)


def test_a_flush_forgets_users_whose_row_is_gone(
    client: TestClient, product: dict[str, Any], db: Database
) -> None:
    """A user deleted by another process (so no eviction here) is forgotten at the next flush,
    and its next token creates it again."""
    verify(client, _sign(product, "ann", "1"))
    verify(client, _sign(product, "ann", "2"))
    with db.session() as session:
        session.execute(delete(User).where(User.external_id == "ann"))
    _memory(client).flush(db)
    assert verify(client, _sign(product, "ann", "3")).status_code == 200
    assert _row(db, "ann") is not None


def test_a_failed_flush_keeps_the_sightings_for_the_next(
    client: TestClient, product: dict[str, Any], db: Database, tmp_path: Path
) -> None:
    """A store that cannot be written keeps the noted moves; the next flush writes them."""
    verify(client, _sign(product, "ann", "1"))
    memory = _memory(client)
    later = time.time() + 60
    memory.clock = lambda: later
    verify(client, _sign(product, "ann", "2"))
    unreachable = Database(f"sqlite:///{tmp_path}/missing/dir/plaudit.db")
    with pytest.raises(Exception):  # noqa: B017, PT011  # whatever the driver raises
        memory.flush(unreachable)
    assert memory.pending() == 1
    assert memory.flush(db) == 1
    row = _row(db, "ann")
    assert row is not None
    assert row.last_seen_at.timestamp() == pytest.approx(later, abs=1e-3)


@pytest.mark.committed
def test_shutting_down_flushes_last_seen(
    settings: Settings, db: Database, clock: Clock, product: dict[str, Any]
) -> None:
    """What is noted when the app stops is written by its shutdown, not lost."""
    app = create_app(settings, db=db, clock=clock, background=False)
    later = time.time() + 60
    with TestClient(app) as client:
        verify(client, _sign(product, "ann", "1"))
        _memory(client).clock = lambda: later
        verify(client, _sign(product, "ann", "2"))
        assert _memory(client).pending() == 1
    row = _row(db, "ann")
    assert row is not None
    assert row.last_seen_at.timestamp() == pytest.approx(later, abs=1e-3)


# --- the first sight, raced by several processes -------------------------------------------

PROCESSES = 4

#: One racer: marks itself ready, waits (60 s at most) until all are, then maps the user.
RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    from plaudit.auth import VerifiedToken, get_profile
    from plaudit.store.db import Database
    from plaudit.users.service import map_user

    url, folder, me, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    db = Database(url)
    with db.engine.connect():
        pass  # connected before the start, so that the racers start together
    verified = VerifiedToken(
        user_id="newcomer", claims={"sub": "newcomer"}, header={"alg": "HS256"},
        scopes=frozenset(), key_id="k", algorithm="HS256", expires_at=None, issued_at=None,
        token_id=None, token_profile=get_profile("standard"),
    )
    (folder / me).touch()
    deadline = time.monotonic() + 60
    while len(list(folder.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    with db.session() as session:
        map_user(session, product_id="acme", published=True, verified=verified)
    db.dispose()
    """
)


@pytest.mark.committed
def test_racing_processes_create_a_first_seen_user_once(
    client: TestClient, product: dict[str, Any], db: Database, tmp_path: Path
) -> None:
    """Four processes map one new user at the same moment: one row, one user.created."""
    hooked = client.post(
        "/v1/products/acme/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["user.created"]},
        headers=ADMIN,
    )
    assert hooked.status_code == 201, hooked.text
    ready = tmp_path / "ready"
    ready.mkdir()
    racers = [
        subprocess.Popen(  # noqa: S603  # our own interpreter and script
            [sys.executable, "-c", RACER, db.url, str(ready), str(n), str(PROCESSES)],
            stderr=subprocess.PIPE,
        )
        for n in range(PROCESSES)
    ]
    outcomes = [(racer.wait(timeout=120), racer.stderr) for racer in racers]
    for code, stderr in outcomes:
        assert code == 0, stderr.read() if stderr else ""
    with db.session() as session:
        users = session.scalar(
            select(func.count()).select_from(User).where(User.external_id == "newcomer")
        )
        created = session.scalar(
            select(func.count())
            .select_from(WebhookMessage)
            .where(WebhookMessage.event_type == "user.created")
        )
    assert (users, created) == (1, 1)
