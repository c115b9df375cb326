"""One token, one refusal: ``/v1/auth/verify``, the console's test box, the token-explanations
API and the ``plaudit token verify`` command a 401's hint gives all answer the same code, message
and hint, and each says what was checked (product, route, key) and the likeliest fix."""

from __future__ import annotations

import html
import re
import secrets
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.console.conftest import ConsoleClient
from tests.support.service import (
    ADMIN,
    ADMIN_TOKEN,
    NOW,
    Run,
    bearer,
    cli_json,
    create_product,
    standard_claims,
)

TEST_BOX = "http://plaudit.test/console/products/{}/authentication#test-heading"
COMMAND = re.compile(r"`(plaudit token verify [^`]+)`")


@pytest.fixture
def console(client: TestClient) -> ConsoleClient:
    """The operator, signed in to the console."""
    signed_in = ConsoleClient(client)
    assert signed_in.sign_in(ADMIN_TOKEN).status_code == 303
    return signed_in


@pytest.fixture
def products(client: TestClient) -> dict[str, dict[str, Any]]:
    """'acme' signs referral widget tokens (HS512), 'bravo' standard ones (HS256)."""
    return {
        "acme": create_product(client, id="acme", profile="reditus"),
        "bravo": create_product(client, id="bravo", profile="standard"),
    }


def _secret(products: dict[str, dict[str, Any]], product: str) -> str:
    return str(products[product]["secret"]["value"])


def _widget(product_id: str, **extra: Any) -> dict[str, Any]:
    return {"ProductId": product_id, "UserId": "42", "iat": int(NOW), **extra}


Signer = Callable[[dict[str, dict[str, Any]]], str]

#: (case, the token, headers sent, the product that checks it, code, words the message holds)
CASES: list[tuple[str, Signer, dict[str, str], str, str, tuple[str, ...]]] = [
    (
        "wrong product by aud",
        lambda p: jwt.encode(standard_claims("acme"), _secret(p, "bravo"), "HS256"),
        {},
        "acme",
        "algorithm_not_allowed",
        ("product 'acme'", "routed by the token's 'aud' claim"),
    ),
    (
        "wrong product by ProductId",
        lambda p: jwt.encode(_widget("bravo"), _secret(p, "acme"), "HS512"),
        {},
        "bravo",
        "algorithm_not_allowed",
        ("product 'bravo'", "routed by the token's 'ProductId' claim"),
    ),
    (
        "wrong product by X-Plaudit-Product",
        lambda p: jwt.encode(standard_claims("bravo"), _secret(p, "bravo"), "HS256"),
        {"X-Plaudit-Product": "acme"},
        "acme",
        "wrong_product",
        ("'aud' names 'bravo'", "product 'acme'", "X-Plaudit-Product header"),
    ),
    (
        "a ProductId naming another product, signed with this product's key",
        lambda p: jwt.encode(_widget("bravo"), _secret(p, "acme"), "HS512"),
        {"X-Plaudit-Product": "acme"},
        "acme",
        "wrong_product",
        ("'ProductId' names the product 'bravo'", "product 'acme'", "with the key"),
    ),
    (
        "wrong secret",
        lambda p: jwt.encode(standard_claims("bravo"), secrets.token_urlsafe(32), "HS256"),
        {},
        "bravo",
        "invalid_signature",
        ("product 'bravo'", "'aud' claim", "with the key"),
    ),
    (
        "iat in milliseconds",
        lambda p: jwt.encode(
            standard_claims("bravo", iat=NOW * 1000, exp=int(NOW) + 3600),
            _secret(p, "bravo"),
            "HS256",
        ),
        {},
        "bravo",
        "invalid_claim",
        ("'iat'", "milliseconds", "product 'bravo'"),
    ),
    (
        "exp in milliseconds",
        lambda p: jwt.encode(
            {**standard_claims("bravo"), "exp": int(NOW) * 1000 + 3_600_000},
            _secret(p, "bravo"),
            "HS256",
        ),
        {},
        "bravo",
        "invalid_claim",
        ("'exp'", "milliseconds", "product 'bravo'"),
    ),
    (
        "expired",
        lambda p: jwt.encode(
            {**standard_claims("bravo", iat=NOW - 7200), "exp": int(NOW) - 3600},
            _secret(p, "bravo"),
            "HS256",
        ),
        {},
        "bravo",
        "token_expired",
        ("expired", "product 'bravo'"),
    ),
    (
        "unknown kid",
        lambda p: jwt.encode(
            standard_claims("bravo"), _secret(p, "bravo"), "HS256", headers={"kid": "nope"}
        ),
        {},
        "bravo",
        "unknown_key",
        ("'nope'", "product 'bravo'"),
    ),
]


def _test_box_verdict(console: ConsoleClient, product: str, token: str) -> dict[str, str]:
    page = console.post(f"/console/products/{product}/authentication/test", {"token": token})
    assert page.status_code == 200, page.text
    verdict = re.search(
        r'<p class="verdict bad" role="status"><strong>Refused</strong>: (.*?) '
        r"<code>(.*?)</code></p>",
        page.text,
        re.S,
    )
    hint = re.search(r'<p class="hint">How to fix it: (.*?)</p>', page.text, re.S)
    assert verdict, page.text
    assert hint, page.text
    return {
        "error": html.unescape(verdict.group(2)),
        "message": html.unescape(verdict.group(1)),
        "hint": html.unescape(hint.group(1)),
    }


def _cli_verdict(cli: Run, hint: str, token: str, key_file: Path) -> dict[str, str]:
    """Run the command the hint gives, with $TOKEN and $KEY_FILE as its reader sets them."""
    found = COMMAND.search(hint)
    assert found, hint
    words = shlex.split(found.group(1))
    assert words[:3] == ["plaudit", "token", "verify"]
    args = [{"$TOKEN": token, "$KEY_FILE": str(key_file)}.get(w, w) for w in words[1:]]
    document = cli_json(cli(*args, "--now", str(NOW), "--json", exit_code=1))
    assert document.pop("valid") is False
    return {k: document[k] for k in ("error", "message", "hint")}


@pytest.mark.parametrize(
    ("sign", "headers", "checked", "code", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_one_token_gets_one_refusal_from_the_api_the_test_box_and_the_cli(
    client: TestClient,
    console: ConsoleClient,
    cli: Run,
    tmp_path: Path,
    products: dict[str, dict[str, Any]],
    sign: Signer,
    headers: dict[str, str],
    checked: str,
    code: str,
    words: tuple[str, ...],
) -> None:
    """The API's 401 names the product checked, the route and the fix, links the product's test
    box and gives a CLI command; the box, the explanations API and that command say the same."""
    token = sign(products)
    answer = client.get("/v1/auth/verify", headers={**bearer(token), **headers})
    assert answer.status_code == 401, answer.text
    api = answer.json()
    assert set(api) == {"error", "message", "hint"}
    assert api["error"] == code
    for word in words:
        assert word in api["message"], (word, api["message"])
    assert TEST_BOX.format(checked) in api["hint"]
    assert f"--product {checked}" in api["hint"]

    explained = client.post(
        f"/v1/products/{checked}/token-explanations", json={"token": token}, headers=ADMIN
    ).json()["verification"]
    assert explained == {"valid": False, **api}
    assert _test_box_verdict(console, checked, token) == api

    key_file = tmp_path / f"{checked}.key"
    key_file.write_text(_secret(products, checked))
    assert _cli_verdict(cli, api["hint"], token, key_file) == api


def test_a_token_routed_by_no_claim_quotes_what_it_looked_up(
    client: TestClient, products: dict[str, dict[str, Any]]
) -> None:
    """An aud typo is unknown_product quoting the value; no test box nor command: no product."""
    token = jwt.encode(standard_claims("brav0"), _secret(products, "bravo"), "HS256")
    body = client.get("/v1/auth/verify", headers=bearer(token)).json()
    assert body["error"] == "unknown_product"
    assert "aud 'brav0'" in body["message"]
    assert "console" not in body["hint"]
    assert "plaudit token" not in body["hint"]
    named = client.get("/v1/auth/verify", headers={**bearer(token), "X-Plaudit-Product": "brav0"})
    assert named.json()["error"] == "unknown_product"
    assert "'brav0' (the X-Plaudit-Product header)" in named.json()["message"]


def test_an_exp_in_milliseconds_is_refused_where_it_was_accepted(
    client: TestClient, products: dict[str, dict[str, Any]]
) -> None:
    """exp = Date.now() + 3600000 once meant a token valid for 50,000 years: now invalid_claim
    with a hint naming seconds."""
    claims = {**standard_claims("bravo"), "exp": int(NOW) * 1000 + 3_600_000}
    token = jwt.encode(claims, _secret(products, "bravo"), "HS256")
    body = client.get("/v1/auth/verify", headers=bearer(token)).json()
    assert body["error"] == "invalid_claim"
    assert "seconds since the Unix epoch" in body["hint"]
