"""A hostile tenant, browser and anonymous client against the fast event write path (issue 13):
users read and marked seen with raw ``where_in`` statements, multi-row INSERTs sent through
psycopg's RawCursor on PostgreSQL, event and webhook message ids drawn once per batch, and the
served process's frozen heap.

Each test is one attack; each asserts the refusal (or that the attack changed nothing), so that
a regression reopens a hole loudly. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from plaudit.events.models import Event
from plaudit.loyalty.models import LoyaltyAccount
from plaudit.operations import collector
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.shapes import storable_json
from plaudit.store import bulk
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookMessage
from tests.support import factories
from tests.support.service import Clock, bearer
from tests.support.tenant import Tenant

#: User ids that would break a statement built by pasting values, by ``str.format`` (the
#: ``{marks}`` and ``{0}`` of ``where_in``), or by a driver's placeholder rewriting; ids that
#: differ only by case or a trailing space; unicode; the longest id the API takes.
HOSTILE_IDS = [
    "ann",
    "ANN",
    "ann ",
    "o'brien",
    'quote"d',
    "x'); DELETE FROM users; --",
    "' OR '1'='1",
    "{marks}",
    "{0}",
    "{0!r:>{1}}",
    "$1",
    "$2, $3",
    "%s",
    "%(name)s",
    "%%",
    "?",
    "\\",
    "ümlaut-名前-🎉",
    "\u202eevil",
    "z" * 255,
]


def _raw_batch(tenant: Tenant, body: str) -> Any:
    """POST a batch's JSON text as sent (escapes and numbers ``json.dumps`` would not write)."""
    return tenant.client.post(
        f"/v1/products/{tenant.id}/events",
        headers={**bearer(tenant.product["api_key"]), "Content-Type": "application/json"},
        content=body.encode(),
    )


def _batch(tenant: Tenant, events: list[dict[str, Any]], expect: int = 202) -> Any:
    response = tenant.client.post(
        f"/v1/products/{tenant.id}/events",
        headers=bearer(tenant.product["api_key"]),
        json={"events": events},
    )
    assert response.status_code == expect, response.text
    return response.json()


def _users(db: Database, product_id: str) -> dict[str, tuple[int, Any, Any]]:
    """A product's users by external id: (pk, last_seen_at, listed_at)."""
    with db.session() as session:
        rows = session.execute(
            select(User.external_id, User.id, User.last_seen_at, User.listed_at).where(
                User.product_id == product_id
            )
        )
        return {name: (pk, seen, listed) for name, pk, seen, listed in rows}


def _balances(db: Database, product_id: str) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(
            select(User.external_id, LoyaltyAccount.balance)
            .join(User, User.id == LoyaltyAccount.user_pk)
            .where(User.product_id == product_id)
        )
        return {name: int(balance) for name, balance in rows}


def _count(db: Database, model: Any, product_id: str) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(model).where(model.product_id == product_id)
            )
            or 0
        )


def _nested(depth: int) -> list[Any]:
    """A list inside a list ``depth`` times."""
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _publish(db: Database, product_id: str) -> None:
    with db.session() as session:
        product = session.get(Product, product_id)
        assert product is not None
        product.published = True
        session.commit()


# --- 1. the batch's users: read, marked seen, listed, credited only in the sender's product ---


def test_a_rivals_batch_naming_another_tenants_hostile_user_ids_reads_marks_and_credits_only_its_own(
    acme: Tenant, rival: Tenant, db: Database, clock: Clock
) -> None:
    """acme knows users with every hostile id (unlisted, seen at the start); rival, published,
    sends a batch naming the same ids: rival gets users of its own with those exact ids, acme's
    users are neither marked seen nor listed nor credited, and rival's second batch finds its
    own users again (no user twice) however the id is spelled."""
    factories.users(db, "acme", [(name, {}) for name in HOSTILE_IDS], listed=False)
    _publish(db, "rival")
    rival.rule(event_type="buy", points=7)
    acme.rule(event_type="buy", points=7)
    before = _users(db, "acme")
    clock.advance(3600)
    for _ in range(2):  # the first batch creates rival's users, the second finds them
        answer = _batch(rival, [{"type": "buy", "user_id": name} for name in HOSTILE_IDS])
        assert [e["points_earned"] for e in answer["events"]] == [7] * len(HOSTILE_IDS)
        clock.advance(60)
    assert _users(db, "acme") == before  # not seen, not listed
    assert _balances(db, "acme") == {}
    theirs = _users(db, "rival")
    assert sorted(theirs) == sorted(HOSTILE_IDS)  # each id verbatim, each once
    assert all(listed is not None for _, _, listed in theirs.values())
    assert _balances(db, "rival") == dict.fromkeys(HOSTILE_IDS, 14)
    assert not {pk for pk, _, _ in theirs.values()} & {pk for pk, _, _ in before.values()}


def test_a_known_users_batch_in_one_product_never_lists_or_marks_seen_the_same_ids_elsewhere(
    acme: Tenant, rival: Tenant, db: Database, clock: Clock
) -> None:
    """Both products know the same ids; only the sender's users are marked seen and (its
    product published) listed: the raw UPDATEs take the ids the scoped read found, no more."""
    names = [f"user-{n}" for n in range(50)]
    factories.users(db, "acme", [(name, {}) for name in names], listed=False)
    factories.users(db, "rival", [(name, {}) for name in names], listed=False)
    _publish(db, "acme")
    _publish(db, "rival")
    before = _users(db, "rival")
    clock.advance(3600)
    _batch(acme, [{"type": "visit", "user_id": name} for name in names])
    assert _users(db, "rival") == before
    seen = _users(db, "acme")
    assert {pk for pk, _, _ in seen.values()}.isdisjoint({pk for pk, _, _ in before.values()})
    moment = factories.at(clock.now)
    assert all(s.replace(tzinfo=dt.UTC) == moment for _, s, _ in seen.values())
    assert all(lst.replace(tzinfo=dt.UTC) == moment for _, _, lst in seen.values())


def test_a_thousand_known_users_and_a_thousand_events_of_one_user_are_each_counted_exactly(
    acme: Tenant, db: Database
) -> None:
    """A full batch of distinct known users (every id in one IN list), then a full batch that
    names one user a thousand times: every user credited once, the one user a thousand times."""
    names = [f"member-{n:04d}" for n in range(1000)]
    factories.users(db, "acme", [(name, {}) for name in names], listed=False)
    acme.rule(event_type="buy", points=3)
    _batch(acme, [{"type": "buy", "user_id": name} for name in names])
    _batch(acme, [{"type": "buy", "user_id": "member-0007"} for _ in range(1000)])
    balances = _balances(db, "acme")
    assert len(balances) == 1000
    assert balances["member-0007"] == 3 + 3000
    assert sum(balances.values()) == 3 * 1000 + 3000
    assert len(_users(db, "acme")) == 1000


def test_a_browsers_hostile_sub_and_a_server_batch_naming_it_reach_one_user_of_one_product(
    acme: Tenant, rival: Tenant, db: Database
) -> None:
    """A user first seen through a token (the ORM writes the row) is found again by the
    batch's raw read, whatever the id holds: one user, credited by both; rival's batch with the
    same ids makes rival's own users and leaves acme's balances alone."""
    acme.rule(event_type="buy", points=4)
    rival.rule(event_type="buy", points=1)
    names = ["{marks}", "$1", "%s", "o'brien", "ümlaut-名前-🎉"]
    for name in names:
        acme.send(name, "visit")
    _batch(acme, [{"type": "buy", "user_id": name} for name in names])
    _batch(rival, [{"type": "buy", "user_id": name} for name in names])
    assert sorted(_users(db, "acme")) == sorted(names)
    assert _balances(db, "acme") == dict.fromkeys(names, 4)
    assert _balances(db, "rival") == dict.fromkeys(names, 1)
    assert [acme.balance(name) for name in names] == [4] * len(names)


def test_a_batch_without_a_key_or_with_another_tenants_key_writes_nothing(
    acme: Tenant, rival: Tenant, db: Database
) -> None:
    """An anonymous client, a user's token and rival's API key at acme's events route: each
    refused before a user is read or marked seen."""
    factories.users(db, "acme", [("ann", {})], listed=False)
    before = _users(db, "acme")
    body = {"events": [{"type": "buy", "user_id": "ann"}, {"type": "buy", "user_id": "new"}]}
    for headers in (
        {},
        bearer(acme.token("ann")),
        bearer(rival.product["api_key"]),
        bearer("plk_" + "x" * 40),
    ):
        response = acme.client.post("/v1/products/acme/events", headers=headers, json=body)
        assert response.status_code in (401, 403, 404), response.text
    assert _users(db, "acme") == before
    assert _count(db, Event, "acme") == 0


# --- 2. where_in and multi-row INSERTs past the store's limit on bound values ------------------


def test_where_in_reads_a_list_longer_than_either_stores_parameter_limit_in_slices(
    db: Database, settings: Settings
) -> None:
    """70,000 ids (SQLite takes 32,766 bound values a statement, PostgreSQL 65,535), with the
    known ones placed at the slices' edges: every one found, once, and only the tenant's."""
    factories.product(db, settings, id="acme")
    factories.product(db, settings, id="rival")
    per = bulk.MAX_PARAMETERS - 1  # beside the product's id
    edges = [0, per - 1, per, 2 * per - 1, 2 * per, 69_999]
    known = [f"k{n}" for n in edges]
    factories.users(db, "acme", [(name, {}) for name in known], listed=False)
    factories.users(db, "rival", [(name, {}) for name in known], listed=False)
    wanted = [f"k{n}" if n in edges else f"nobody-{n}" for n in range(70_000)]
    with db.session() as session:
        rows = bulk.where_in(
            session,
            "SELECT id, external_id FROM users WHERE product_id = {0} AND external_id IN ({marks})",
            wanted,
            fixed=("acme",),
        )
    acme_users = _users(db, "acme")
    assert sorted(name for _, name in rows) == sorted(known)
    assert {pk for pk, _ in rows} == {pk for pk, _, _ in acme_users.values()}


def test_a_multi_row_insert_longer_than_the_parameter_limit_is_stored_whole(
    db: Database, settings: Settings
) -> None:
    """Rows of five values past 30,000 values a statement: several statements, every row
    stored exactly once, values read back as written."""
    factories.product(db, settings, id="acme")
    moment = factories.at()
    names = [f"bulk-{n}" for n in range(bulk.MAX_PARAMETERS // 5 * 2 + 7)]
    with db.session() as session:
        bulk.insert_rows(
            session,
            User.__table__,  # type: ignore[arg-type]
            ("product_id", "external_id", "extra", "first_seen_at", "last_seen_at"),
            [("acme", name, {"n": name}, moment, moment) for name in names],
        )
        session.commit()
    stored = _users(db, "acme")
    assert sorted(stored) == sorted(names)
    assert all(seen.replace(tzinfo=dt.UTC) == moment for _, seen, _ in stored.values())


# --- 3. the pooled connection after a statement the store refuses ------------------------------


def test_a_batch_the_store_refuses_part_way_stores_nothing_and_the_next_tenant_is_served(
    acme: Tenant, rival: Tenant, db: Database
) -> None:
    """A batch whose last event carries a number PostgreSQL's JSON refuses (NaN), after its
    users were read, marked seen and created: refused whole (422) on PostgreSQL, where the
    multi-row INSERT is a RawCursor statement, or stored whole on SQLite; either way the
    connection is left with its own cursors, so rival's next batch (same connection: the
    tests' store has one) runs its ORM statements as always."""
    factories.users(db, "acme", [("known", {})], listed=False)
    acme.rule(event_type="buy", points=5)
    before = _users(db, "acme")
    events: list[dict[str, Any]] = [
        {"type": "buy", "user_id": "known"},
        {"type": "buy", "user_id": "fresh"},
        {"type": "buy", "user_id": "fresh", "properties": {"x": float("nan")}},
    ]
    response = acme.client.post(
        "/v1/products/acme/events",
        headers={**bearer(acme.product["api_key"]), "Content-Type": "application/json"},
        content=json.dumps({"events": events}).encode(),
    )
    assert response.status_code in (202, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"] == "invalid_request"
        assert _users(db, "acme") == before  # "fresh" not created, "known" not marked seen
        assert _count(db, Event, "acme") == 0
        assert _balances(db, "acme") == {}
    else:
        assert _balances(db, "acme") == {"known": 5, "fresh": 10}
    with db.session() as session:
        driver = session.connection().connection.driver_connection
        factory = getattr(driver, "cursor_factory", None)
        assert factory is None or factory.__name__ != "RawCursor"
    rival.rule(event_type="buy", points=2)
    _batch(rival, [{"type": "buy", "user_id": "known"}, {"type": "buy", "user_id": "new"}])
    assert _balances(db, "rival") == {"known": 2, "new": 2}
    assert rival.balance("new") == 2  # a token-routed read with the ORM's own placeholders


def test_a_statement_the_driver_cannot_even_send_leaves_the_connection_with_its_own_cursors(
    db: Database, settings: Settings
) -> None:
    """A value no driver can adapt fails before it reaches the server (psycopg's dumper,
    sqlite3's binding): the RawCursor swap is undone all the same, and the session's next ORM
    statement, with SQLAlchemy's own placeholders, runs on that connection."""
    factories.product(db, settings, id="acme")
    factories.users(db, "acme", [("ann", {})], listed=False)
    with db.session() as session:
        driver = session.connection().connection.driver_connection
        before = getattr(driver, "cursor_factory", None)
        with pytest.raises(StatementError):
            bulk.where_in(
                session,
                "SELECT id FROM users WHERE product_id = {0} AND external_id IN ({marks})",
                ["ann", object()],
                fixed=("acme",),
            )
        assert getattr(driver, "cursor_factory", None) is before
    with db.session() as session:  # the tests' store: the same connection again
        assert session.connection().connection.driver_connection is driver
        found = session.scalar(
            select(User.id).where(User.product_id == "acme", User.external_id == "ann")
        )
        assert found is not None


# --- 4. precise errors, never a 500 ------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"type": "buy", "user_id": "a", "id": "\udfff"},
        {"type": "buy", "user_id": "a", "id": "ok\ud800"},
        {"type": "buy", "user_id": "a", "reverses": "\ud800"},
        {"type": "buy", "user_id": "a\ud800"},
        {"type": "buy", "user_id": "a\x00"},
        {"type": "buy", "user_id": "a", "id": "x\x00"},
        {"type": "buy\x00", "user_id": "a"},
        {"type": "buy", "user_id": "z" * 256},
        {"type": "buy", "user_id": "a", "id": "z" * 256},
    ],
    ids=[
        "lone-low-surrogate-id",
        "trailing-surrogate-id",
        "surrogate-reverses",
        "surrogate-user",
        "nul-user",
        "nul-id",
        "nul-type",
        "long-user",
        "long-id",
    ],
)
def test_an_id_with_a_lone_surrogate_nul_or_too_many_characters_is_a_precise_422(
    acme: Tenant, db: Database, event: dict[str, Any]
) -> None:
    """Ids in an event a JSON escape can make unstorable: refused before anything is written,
    never a 500 (a lone surrogate cannot be encoded as UTF-8 by either driver)."""
    body = json.dumps({"events": [{"type": "ok", "user_id": "a"}, event]})
    response = _raw_batch(acme, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] in ("invalid_request", "invalid_identifier")
    assert _count(db, Event, "acme") == 0
    assert _users(db, "acme") == {}


@pytest.mark.parametrize(
    "properties",
    [
        {"k\x00": "v\x00"},
        {"n": 10**4000},
        {"n": -(10**30), "m": 1e308},
        {"deep": _nested(500)},
    ],
    ids=["nul", "huge-int", "huge-numbers", "deep"],
)
def test_hostile_properties_are_stored_or_refused_whole_never_a_500(
    acme: Tenant, db: Database, properties: dict[str, Any]
) -> None:
    """Properties go into a multi-row INSERT as JSON text: a NUL or a surrogate escaped, a huge
    number or a deep nest stored or refused as one 422, and a property rule's points capped."""
    acme.rule(event_type="buy", property="n", rate=1, server_only=True)
    body = json.dumps({"events": [{"type": "buy", "user_id": "a", "properties": properties}]})
    response = _raw_batch(acme, body)
    assert response.status_code in (202, 422), response.text
    stored = _count(db, Event, "acme")
    assert stored == (1 if response.status_code == 202 else 0)


# --- 5. ids: unique, unpredictable in form, and retries still idempotent -----------------------


def test_event_and_message_ids_are_distinct_random_hex_and_a_retried_batch_reuses_them(
    acme: Tenant, db: Database
) -> None:
    """Two full batches (ids drawn once a batch): 2,000 distinct ``evt_`` ids of 96 random
    bits and as many distinct ``msg_`` ids; the first batch sent again answers the same ids as
    duplicates, earns nothing and queues nothing."""
    acme.admin(
        "POST",
        "/webhooks",
        201,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["points.earned"]},
    )
    acme.rule(event_type="buy", points=1)
    first = [{"type": "buy", "user_id": f"u{n % 10}", "id": f"order-{n}"} for n in range(1000)]
    second = [{"type": "buy", "user_id": f"u{n % 10}", "id": f"other-{n}"} for n in range(1000)]
    answered = [e["id"] for e in _batch(acme, first)["events"]]
    answered += [e["id"] for e in _batch(acme, second)["events"]]
    assert len(set(answered)) == 2000
    assert all(re.fullmatch(r"evt_[0-9a-f]{24}", one) for one in answered)
    with db.session() as session:
        messages = list(
            session.scalars(
                select(WebhookMessage.id).where(WebhookMessage.event_type == "points.earned")
            )
        )
    assert len(messages) == len(set(messages)) == 2000
    assert all(re.fullmatch(r"msg_[0-9a-f]{24}", one) for one in messages)
    retried = _batch(acme, first)
    assert [e["id"] for e in retried["events"]] == answered[:1000]
    assert (retried["accepted"], retried["duplicates"]) == (0, 1000)
    assert sum(e["points_earned"] for e in retried["events"]) == 0
    assert _count(db, Event, "acme") == 2000
    assert sum(_balances(db, "acme").values()) == 2000
    with db.session() as session:
        queued = session.scalar(
            select(func.count())
            .select_from(WebhookMessage)
            .where(WebhookMessage.event_type == "points.earned")
        )
    assert queued == 2000


# --- 6. the frozen heap of a long-lived process ------------------------------------------------


@pytest.fixture
def settled_heap() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.collect()
    collector.settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("settled_heap")
def test_cyclic_garbage_made_after_the_heap_is_settled_is_collected_without_being_asked() -> None:
    """What a serving process makes after the freeze is never frozen: request after request
    of reference cycles (as a batch's ORM rows and closures make) leaves the tracked heap no
    larger than a few young generations, by the collector's own thresholds alone."""

    class Node:
        other: object

    def request() -> None:
        for _ in range(2_000):
            first, second = Node(), Node()
            first.other, second.other = second, first

    request()
    baseline = len(gc.get_objects())
    for _ in range(200):  # 400,000 cycles of garbage
        request()
    grown = len(gc.get_objects()) - baseline
    assert gc.isenabled()
    assert grown < 20 * collector.YOUNG_THRESHOLD, grown
    assert gc.get_freeze_count() > 0  # the startup heap stayed frozen throughout


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_number_json_does_not_have_is_refused_alike_on_both_stores(
    acme: Tenant, db: Database, number: str
) -> None:
    """Python's parser reads NaN and Infinity (and 1e400 as Infinity): PostgreSQL refused to
    store them while SQLite stored them; now both answer one 422, nested or not, and store
    nothing."""
    body = (
        '{"events": [{"type": "buy", "user_id": "a", "properties": {"n": 1}},'
        ' {"type": "buy", "user_id": "b", "properties": {"deep": [{"n": ' + number + "}]}}]}"
    )
    response = _raw_batch(acme, body)
    assert response.status_code == 422, response.text
    assert "finite" in response.text
    assert _count(db, Event, "acme") == 0


@pytest.mark.parametrize(
    "properties",
    [{"\ud800": "v"}, {"k": "a\udfffb"}, {"deep": [{"k": ["\udbff"]}]}],
    ids=["key", "value", "nested"],
)
def test_a_lone_surrogate_anywhere_in_properties_is_refused_and_the_users_export_still_answers(
    acme: Tenant, db: Database, properties: dict[str, Any]
) -> None:
    """JSON's ``\\ud800`` escape makes half a UTF-16 pair, which Python's parser reads: stored,
    it made the user's export a 500 on both stores. It is one 422 now, nothing is stored, and the
    user's export answers."""
    _batch(acme, [{"type": "buy", "user_id": "a"}])
    body = json.dumps({"events": [{"type": "buy", "user_id": "a", "properties": properties}]})
    response = _raw_batch(acme, body)
    assert response.status_code == 422, response.text
    assert "Unicode" in response.text
    assert _count(db, Event, "acme") == 1
    acme.admin("GET", "/users/a/export")


def test_properties_in_any_script_with_emoji_and_big_numbers_pass_the_check() -> None:
    """The refusals above leave valid JSON alone: every script, emoji (a surrogate pair in
    JSON's escapes, one character once read), bools, big ints, tiny and huge finite floats."""
    properties = {"名前": "テスト", "emoji": "\U0001f600", "ok": True, "n": 10**30, "f": 1e308}
    properties |= {"tiny": -1e-300, "none": None, "list": [1, "two", {"three": 3.0}]}
    escaped = json.loads(json.dumps(properties))  # \\ud83d\\ude00 read back as one character
    assert storable_json(escaped) == properties
