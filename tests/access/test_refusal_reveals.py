"""A refusal is no oracle: a token for tenant B sent to tenant A tells its sender nothing of B
beyond what the token itself holds (docs/security.md, "What a refusal reveals")."""

from __future__ import annotations

from typing import Any

import jwt
from fastapi.testclient import TestClient

from tests.support.service import ADMIN, bearer, create_product, standard_claims


def _verify(client: TestClient, token: str, **headers: str) -> dict[str, Any]:
    answer = client.get("/v1/auth/verify", headers={**bearer(token), **headers})
    assert answer.status_code == 401, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_refusal_at_a_is_the_same_whether_b_exists_or_not(client: TestClient) -> None:
    """B's token sent to A (by header, or by an aud naming A) gets, byte for byte, the answer it
    gets once B is deleted; it names none of B's key ids, secrets, issuer, audience or name."""
    alpha = create_product(client, id="alpha", profile="reditus")
    bravo = create_product(client, id="bravo", name="Bravo Confidential Ltd")
    settings = {"issuer": "https://issuer.bravo.example", "audience": "bravo-audience-77"}
    assert client.patch("/v1/products/bravo", json=settings, headers=ADMIN).status_code == 200
    secret, kid = bravo["secret"]["value"], bravo["secret"]["kid"]
    sent = {
        "header": (jwt.encode(standard_claims("bravo"), secret, "HS256"), "alpha"),
        "aud naming A": (jwt.encode(standard_claims("alpha"), secret, "HS256"), None),
        "kid of B": (
            jwt.encode(standard_claims("bravo"), secret, "HS256", headers={"kid": kid}),
            "alpha",
        ),
    }

    def answers() -> dict[str, dict[str, Any]]:
        return {
            case: _verify(client, token, **({"X-Plaudit-Product": to} if to else {}))
            for case, (token, to) in sent.items()
        }

    before = answers()
    assert client.delete("/v1/products/bravo", headers=ADMIN).status_code == 204
    assert answers() == before
    for case, body in before.items():
        text = " ".join(body.values())
        assert "'alpha'" in text, (case, text)  # the product checked is named
        for of_b in (secret, "Bravo Confidential", "issuer.bravo.example", "bravo-audience-77"):
            assert of_b not in text, (case, of_b)
        if case != "kid of B":  # that token carries B's kid in its own header
            assert kid not in text, (case, text)
        assert "/console/products/bravo" not in text
        assert "--product bravo" not in text
    assert alpha["secret"]["value"] not in str(before)


def test_a_refusal_never_links_a_product_it_did_not_reach(client: TestClient) -> None:
    """An unknown product gets no test box link and no command: only what was looked up."""
    create_product(client, id="alpha")
    token = jwt.encode(standard_claims("ghost"), "x" * 32, "HS256")
    for headers in ({}, {"X-Plaudit-Product": "ghost"}):
        body = _verify(client, token, **headers)
        assert body["error"] == "unknown_product"
        assert "'ghost'" in body["message"]
        assert "/console/" not in body["hint"]
        assert "plaudit token" not in body["hint"]
        assert "alpha" not in str(body)
