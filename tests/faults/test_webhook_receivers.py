"""One slow webhook receiver holds only its own deliveries: another product's endpoint gets its
message within seconds while the slow one drips, and the slow one never has more than
PER_ENDPOINT deliveries in flight."""

from __future__ import annotations

import time

import pytest

from plaudit.store.db import Database
from plaudit.webhooks.worker import PER_ENDPOINT

from .conftest import Serve, admin, create_product
from .hosts import HostileHost

#: Served processes read what each test writes: real commits, tables emptied around it.
pytestmark = pytest.mark.committed

#: Another endpoint's user.created while one receiver drips: ~1 s on an idle machine (the
#: poll); before the bulkhead it came 41 s late.
OTHER_ENDPOINT_BOUND = 8.0


def _endpoint(api: object, product: str, url: str) -> None:
    response = api.post(  # type: ignore[attr-defined]
        f"/v1/products/{product}/webhooks", json={"url": url, "event_types": ["user.created"]}
    )
    assert response.status_code == 201, response.text


def test_a_dripping_receiver_does_not_delay_another_products_webhooks(
    serve: Serve, host: HostileHost, db: Database
) -> None:
    """Product A's receiver drips one byte every 0.5 s to four deliveries; product B's
    user.created reaches B's receiver within 8 s, and A never holds more than 2 senders."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the store plays no part in how deliveries share senders: SQLite only")
    server = serve()
    create_product(server, "slow")
    create_product(server, "quick")
    with admin(server) as api:
        _endpoint(api, "slow", host.drip("/slow", interval=0.5, seconds=30))
        _endpoint(api, "quick", host.serve("/quick", b"ok"))
        for n in range(4):
            response = api.post(
                "/v1/products/slow/events", json={"user_id": f"s{n}", "type": "signed_up"}
            )
            assert response.status_code == 202, response.text
        ends = time.monotonic() + 15
        while host.stat("/slow").open < PER_ENDPOINT and time.monotonic() < ends:
            time.sleep(0.05)
        assert host.stat("/slow").open == PER_ENDPOINT, "A's receiver is dripping"

        started = time.monotonic()
        response = api.post("/v1/products/quick/events", json={"user_id": "q", "type": "signed_up"})
        assert response.status_code == 202, response.text
        while not host.stat("/quick").hits and time.monotonic() - started < OTHER_ENDPOINT_BOUND:
            time.sleep(0.05)
    took = time.monotonic() - started
    print(f"B's webhook arrived {took:.2f} s after its event while A's receiver dripped")
    assert host.stat("/quick").hits == 1
    assert took < OTHER_ENDPOINT_BOUND
    assert host.stat("/slow").max_open <= PER_ENDPOINT
    assert host.stat("/slow").open >= 1, "the drip was still going on"
