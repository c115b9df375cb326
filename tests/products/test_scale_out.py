"""Several processes on one database behave as one: a key disabled, a secret rotated, a setting
changed or a product deleted through one is honoured by every other within seconds (each polls
the products' versions every keystore_refresh_seconds; Keystore.refresh() is one poll)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.served import Server
from tests.support.service import (
    ADMIN,
    ADMIN_TOKEN,
    NOW,
    Clock,
    RsaPair,
    product_header,
    standard_claims,
)

PROPAGATION_LIMIT = 5.0


@pytest.fixture
def apps(settings: Settings, db: Database, clock: Clock) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps on one database, each with its own keystore, as two processes would have."""
    first = TestClient(
        create_app(settings, db=db, clock=clock, background=False), raise_server_exceptions=False
    )
    second = TestClient(
        create_app(settings, db=db, clock=clock, background=False), raise_server_exceptions=False
    )
    with first, second:
        yield first, second


def poll(client: TestClient) -> list[str]:
    """One step of the background loop: reload what other processes changed."""
    changed: list[str] = client.app.state.verification.keystore.refresh()  # type: ignore[attr-defined]
    return changed


def _loyalty(first: TestClient, rsa_pair: RsaPair) -> str:
    first.post(
        "/v1/products", json={"name": "L", "id": "loyalty", "profile": "xtremepush"}, headers=ADMIN
    )
    added = first.post(
        "/v1/products/loyalty/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "primary"},
        headers=ADMIN,
    )
    assert added.status_code == 201, added.text
    return jwt.encode(
        {"sub": "u-1", "exp": int(NOW) + 3600},
        rsa_pair.private_pem,
        algorithm="RS256",
        headers={"kid": "primary"},
    )


def _verify(client: TestClient, token: str, product: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", **(product_header(product) if product else {})}
    return client.get("/v1/auth/verify", headers=headers)


def test_a_key_disabled_through_one_app_is_refused_by_the_other_after_its_poll(
    apps: tuple[TestClient, TestClient], rsa_pair: RsaPair
) -> None:
    """App 2 answers a cached token until its next poll, and refuses it from then on."""
    first, second = apps
    token = _loyalty(first, rsa_pair)
    assert _verify(second, token, "loyalty").status_code == 200
    assert _verify(second, token, "loyalty").status_code == 200  # from memory
    assert first.patch(
        "/v1/products/loyalty/keys/primary", json={"enabled": False}, headers=ADMIN
    ).is_success
    assert (
        _verify(first, token, "loyalty").json()["error"] == "key_disabled"
    )  # at once where changed
    assert poll(second) == ["loyalty"]
    assert _verify(second, token, "loyalty").json()["error"] == "key_disabled"
    assert poll(second) == []  # nothing further changed


def test_a_secret_rotated_through_one_app_is_honoured_by_the_other(
    apps: tuple[TestClient, TestClient],
) -> None:
    """A rotation with no grace retires the old secret in app 2 after its poll; the new one works."""
    first, second = apps
    created = first.post("/v1/products", json={"name": "G", "id": "game"}, headers=ADMIN).json()
    old = jwt.encode(standard_claims("game"), created["secret"]["value"], algorithm="HS256")
    assert _verify(second, old).status_code == 200
    rotated = first.post(
        "/v1/products/game/secrets", json={"grace_seconds": 0}, headers=ADMIN
    ).json()
    new = jwt.encode(standard_claims("game", jti="n"), rotated["value"], algorithm="HS256")
    poll(second)
    assert _verify(second, old).status_code == 401
    assert _verify(second, new).status_code == 200


def test_settings_revocations_and_deletion_reach_the_other_app(
    apps: tuple[TestClient, TestClient],
) -> None:
    """An issuer change, a revocation (and its deletion) and a product's deletion made in app 1
    apply in app 2 after a poll."""
    first, second = apps
    created = first.post("/v1/products", json={"name": "G", "id": "game"}, headers=ADMIN).json()
    secret = created["secret"]["value"]
    token = jwt.encode(standard_claims("game", jti="j1"), secret, algorithm="HS256")
    other = jwt.encode(standard_claims("game", jti="j2"), secret, algorithm="HS256")
    assert _verify(second, token).status_code == 200
    first.post("/v1/products/game/revocations", json={"jti": "j1"}, headers=ADMIN)
    poll(second)
    assert _verify(second, token).json()["error"] == "token_revoked"
    assert _verify(second, other).status_code == 200
    revocation = first.get("/v1/products/game/revocations", headers=ADMIN).json()[0]
    first.delete(f"/v1/products/game/revocations/{revocation['id']}", headers=ADMIN)
    poll(second)
    assert _verify(second, token).status_code == 200  # a deleted revocation spreads too
    first.patch("/v1/products/game", json={"issuer": "someone-else"}, headers=ADMIN)
    poll(second)
    assert _verify(second, other).json()["error"] == "invalid_issuer"
    first.delete("/v1/products/game", headers=ADMIN)
    poll(second)
    assert _verify(second, other).json()["error"] == "unknown_product"


def test_a_product_created_through_one_app_is_reachable_from_the_other(
    settings: Settings, db: Database, clock: Clock
) -> None:
    """A token naming a product app 2 had not heard of verifies once app 1 created it."""
    quick = settings.model_copy(update={"keystore_refresh_seconds": 0.2})
    with (
        TestClient(create_app(quick, db=db, clock=clock, background=False)) as first,
        TestClient(create_app(quick, db=db, clock=clock, background=False)) as second,
    ):
        secret = "s" * 64
        token = jwt.encode(standard_claims("newcomer"), secret, algorithm="HS256")
        assert _verify(second, token).json()["error"] == "unknown_product"
        first.post("/v1/products", json={"name": "N", "id": "newcomer"}, headers=ADMIN)
        first.post("/v1/products/newcomer/secrets", json={"value": secret}, headers=ADMIN)
        time.sleep(0.3)  # a miss is remembered for keystore_refresh_seconds, no longer
        assert _verify(second, token).status_code == 200


# --- real processes -----------------------------------------------------------------------


@pytest.fixture
def servers(settings: Settings, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two `plaudit serve` processes on the test store, polling for changes every second."""
    env = {
        **os.environ,
        "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_KEYSTORE_REFRESH_SECONDS": "1",
        "PLAUDIT_LOG_LEVEL": "warning",
    }
    started: list[Server] = []
    try:
        for n in (1, 2):
            started.append(Server(env, tmp_path / f"serve-{n}.log"))
        deadline = time.monotonic() + 60  # two cold starts on a loaded 2-CPU machine
        for server in started:
            server.wait_ready(deadline)
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def _until_refused(url: str, headers: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Poll url until it answers 401; the seconds it took and the last body. Bounded."""
    start = time.monotonic()
    body: dict[str, Any] = {}
    while time.monotonic() - start < PROPAGATION_LIMIT + 1:
        response = httpx.get(url, headers=headers, timeout=2)
        body = response.json()
        if response.status_code == 401:
            return time.monotonic() - start, body
        time.sleep(0.05)
    return time.monotonic() - start, body


@pytest.mark.committed
@pytest.mark.slow
def test_two_served_processes_honour_each_others_changes_within_5_seconds(
    servers: tuple[Server, Server], rsa_pair: RsaPair
) -> None:
    """A key disabled and a secret rotated through process 1 are refused by process 2 within 5 s."""
    one, two = servers
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=one.base, headers=admin, timeout=5) as api:
        assert (
            api.post(
                "/v1/products", json={"name": "L", "id": "loyalty", "profile": "xtremepush"}
            ).status_code
            == 201
        )
        added = api.post(
            "/v1/products/loyalty/keys", json={"public_key": rsa_pair.public_pem, "kid": "primary"}
        )
        assert added.status_code == 201, added.text
        created = api.post("/v1/products", json={"name": "G", "id": "game"})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]["value"]

        now = int(time.time())
        key_token = jwt.encode(
            {"sub": "u-1", "exp": now + 600},
            rsa_pair.private_pem,
            algorithm="RS256",
            headers={"kid": "primary"},
        )
        key_headers = {"Authorization": f"Bearer {key_token}", **product_header("loyalty")}
        secret_token = jwt.encode(
            {"sub": "u-2", "iss": "t", "aud": "game", "iat": now, "exp": now + 600},
            secret,
            algorithm="HS256",
        )
        secret_headers = {"Authorization": f"Bearer {secret_token}"}
        for headers in (key_headers, secret_headers):
            response = httpx.get(two.base + "/v1/auth/verify", headers=headers, timeout=5)
            assert response.status_code == 200, response.text

        assert api.patch("/v1/products/loyalty/keys/primary", json={"enabled": False}).is_success
        took, body = _until_refused(two.base + "/v1/auth/verify", key_headers)
        assert body.get("error") == "key_disabled", body
        assert took <= PROPAGATION_LIMIT, f"process 2 took {took:.1f} s to honour the disabled key"

        assert api.post("/v1/products/game/secrets", json={"grace_seconds": 0}).status_code == 201
        took, body = _until_refused(two.base + "/v1/auth/verify", secret_headers)
        assert body.get("error") in ("invalid_signature", "key_disabled"), body
        assert took <= PROPAGATION_LIMIT, f"process 2 took {took:.1f} s to honour the rotation"
