"""A tenant's JWKS host that drips, floods or stampedes costs other tenants nothing: no request
of theirs waits on it, the server's memory does not grow with it, and however many tokens name
an unknown kid at once, Plaudit asks the host once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest

from plaudit.products.jwks import MAX_JWKS_BYTES
from plaudit.products.jwks_refresh import REFETCH_WAIT_SECONDS
from plaudit.store.db import Database
from tests.support.served import Server
from tests.support.service import RsaPair, _rsa_pair, standard_claims

from .conftest import Serve, admin, create_product, rss_peak_kib
from .hosts import HostileHost

#: Served processes read what each test writes: real commits, tables emptied around it.
pytestmark = pytest.mark.committed

#: Another tenant's request while a host drips: ~20 ms on an idle machine; before the bulkhead
#: it took 30.6 s and ended in a 500 "database is locked".
OTHER_TENANT_BOUND = 5.0
#: /healthz during a stampede: ~10 ms on an idle machine; before: 33 s.
HEALTHZ_BOUND = 5.0
#: A revocation through another process, while a JWKS refresh drips: the poll is 1 s here;
#: before, still accepted after 240 s.
PROPAGATION_BOUND = 5.0
#: Peak memory growth while a 300 MB key set is offered: before, 572 MB.
RSS_GROWTH_BOUND_MIB = 64
STAMPEDE = 60


def _jwk(pair: RsaPair, kid: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_pem_public_key(pair.public_pem.encode())
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def _sqlite_only(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the store plays no part in how a fetch is bounded: SQLite only")


def _register(server: Server, product: str, url: str) -> httpx.Response:
    with admin(server) as api:
        return api.post(f"/v1/products/{product}/jwks-sources", json={"url": url})


def test_a_dripping_jwks_host_never_stalls_another_tenants_writes(
    serve: Serve, host: HostileHost
) -> None:
    """While tenant A registers a JWKS URL that answers one byte every 0.5 s, tenant B's event
    POSTs (writes, on SQLite the write lock) each answer 202 within 5 s."""
    server = serve()
    create_product(server, "slow")
    create_product(server, "busy")
    url = host.drip("/jwks", interval=0.5, seconds=30)

    registered: list[httpx.Response] = []
    registering = threading.Thread(target=lambda: registered.append(_register(server, "slow", url)))
    registering.start()
    while host.stat("/jwks").open == 0:  # the fetch is under way
        time.sleep(0.02)

    slowest = 0.0
    with admin(server) as api:
        ends = time.monotonic() + 3
        n = 0
        while time.monotonic() < ends:
            started = time.monotonic()
            response = api.post(
                "/v1/products/busy/events", json={"user_id": f"u{n}", "type": "signed_up"}
            )
            slowest = max(slowest, time.monotonic() - started)
            assert response.status_code == 202, response.text
            n += 1
    assert host.stat("/jwks").open == 1, "the drip was still going on throughout"
    print(f"tenant B: {n} events, slowest {slowest * 1000:.0f} ms while A's host dripped")
    assert slowest < OTHER_TENANT_BOUND

    host.stop_dripping()  # the fetch fails now rather than at its deadline (tested below)
    registering.join(timeout=30)
    assert registered[0].status_code == 422, registered[0].text
    assert registered[0].json()["field"] == "url"


def test_a_stampede_of_unknown_kids_makes_one_fetch_and_never_blocks_healthz(
    serve: Serve, host: HostileHost, db: Database
) -> None:
    """60 tokens with unknown kids at once, the JWKS host dripping: the host is asked once,
    each token is answered 401 unknown_key within the refetch wait (3 s) plus 10 s (60
    requests at once on a busy 2-CPU machine took up to 6.7 s), and
    /healthz answers within 5 s throughout."""
    _sqlite_only(db)
    pair = _rsa_pair()
    server = serve(PLAUDIT_JWKS_MIN_REFETCH_SECONDS="0")
    create_product(server, "jwks", profile="xtremepush")
    url = host.serve("/jwks", {"keys": [_jwk(pair, "k1")]})
    assert _register(server, "jwks", url).status_code == 201
    host.drip("/jwks", interval=0.5, seconds=30)
    hits_before = host.stat("/jwks").hits

    now = int(time.time())
    tokens = [
        jwt.encode(
            {"sub": f"anon-{n}", "exp": now + 600},
            pair.private_pem,
            algorithm="RS256",
            headers={"kid": f"unknown-{n}"},
        )
        for n in range(STAMPEDE)
    ]
    health: list[float] = []
    stop = threading.Event()

    def watch_health() -> None:
        with httpx.Client(base_url=server.base, timeout=30) as plain:
            while not stop.is_set():
                started = time.monotonic()
                assert plain.get("/healthz").status_code == 200
                health.append(time.monotonic() - started)
                time.sleep(0.05)

    def one(token: str) -> tuple[int, str, float]:
        started = time.monotonic()
        response = httpx.get(
            server.base + "/v1/auth/verify",
            headers={"Authorization": f"Bearer {token}", "X-Plaudit-Product": "jwks"},
            timeout=30,
        )
        return response.status_code, response.json().get("error", ""), time.monotonic() - started

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=STAMPEDE) as pool:
            answers = list(pool.map(one, tokens))
    finally:
        stop.set()
        watcher.join()
    fetches = host.stat("/jwks").hits - hits_before
    slowest = max(seconds for _, _, seconds in answers)
    print(
        f"stampede of {STAMPEDE}: {fetches} fetch(es), slowest answer {slowest:.2f} s, "
        f"slowest /healthz {max(health) * 1000:.0f} ms"
    )
    assert {(status, error) for status, error, _ in answers} == {(401, "unknown_key")}
    assert fetches == 1
    assert host.stat("/jwks").max_open == 1
    assert slowest < REFETCH_WAIT_SECONDS + 10
    assert max(health) < HEALTHZ_BOUND


def test_a_300_mb_key_set_is_cut_off_at_the_cap_while_it_streams(
    serve: Serve, host: HostileHost, db: Database
) -> None:
    """Registering a URL that streams a 300 MB key set is a 422 naming the 256 KB cap; the
    server's peak memory grows by less than 64 MiB and the host gets out only a few MB."""
    _sqlite_only(db)
    server = serve()
    create_product(server, "huge")
    url = host.huge("/jwks", size=300 * 1024 * 1024)
    before = rss_peak_kib(server.process.pid)
    response = _register(server, "huge", url)
    grown_mib = (rss_peak_kib(server.process.pid) - before) / 1024
    sent_mib = host.stat("/jwks").bytes_sent / 2**20
    print(f"300 MB key set: peak RSS +{grown_mib:.1f} MiB, host sent {sent_mib:.1f} MiB")
    assert response.status_code == 422, response.text
    assert f"larger than {MAX_JWKS_BYTES} bytes" in response.json()["message"]
    assert grown_mib < RSS_GROWTH_BOUND_MIB
    assert sent_mib < 32


def test_revocations_reach_another_process_while_its_jwks_refresh_drips(
    serve: Serve, host: HostileHost, settings: Any
) -> None:
    """Process 1's scheduled JWKS refresh is in a dripping host; a token revoked through
    process 2 is refused by process 1 within 5 s all the same (before: still accepted 240 s
    later), while the drip is still going on."""
    from plaudit.products.models import JwksSource

    two = serve()
    created = create_product(two, "game")
    secret = created["secret"]["value"]
    # A source that is due at once: process 1's JWKS loop fetches it on its first look.
    create_product(two, "dripping", profile="xtremepush")
    url = host.drip("/jwks", interval=0.5, seconds=30)
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as session:
            session.add(JwksSource(product_id="dripping", url=url, refresh_seconds=3600))
    finally:
        db.dispose()
    one = serve()
    token = jwt.encode(standard_claims("game", jti="j1", iat=time.time()), secret, "HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(one.base + "/v1/auth/verify", headers=headers).status_code == 200
    ends = time.monotonic() + 10
    while host.stat("/jwks").open < 1 and time.monotonic() < ends:
        time.sleep(0.05)
    assert host.stat("/jwks").open == 1, "process 1's refresh loop is in the drip"

    with admin(two) as api:
        assert api.post("/v1/products/game/revocations", json={"jti": "j1"}).status_code == 201
    started = time.monotonic()
    body: dict[str, Any] = {}
    while time.monotonic() - started < 6:
        response = httpx.get(one.base + "/v1/auth/verify", headers=headers, timeout=5)
        body = response.json()
        if response.status_code == 401:
            break
        time.sleep(0.05)
    took = time.monotonic() - started
    print(f"revocation reached process 1 in {took:.2f} s while its JWKS refresh dripped")
    assert body.get("error") == "token_revoked", body
    assert took < PROPAGATION_BOUND
    assert host.stat("/jwks").open >= 1, "the drip had not ended: propagation did not wait"
