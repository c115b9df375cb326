"""Where an integrator lands when a token is refused: the product's test box can be found from
every guide, Getting started and Integration health; Getting started says how the product is
found as the API finds it; and a signing secret sent as the Basic password is answered as the
referral platform guide says."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plaudit.console.pages.start import token_test_box_url
from tests.support.service import ADMIN, ADMIN_TOKEN, create_product

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ROOT / "docs" / "integrations"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(client: TestClient) -> TestClient:
    page = client.get("/console/sign-in")
    found = CSRF.search(page.text)
    assert found
    answer = client.post(
        "/console/sign-in",
        data={"csrf_token": found.group(1), "credential": ADMIN_TOKEN, "next": "/console"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("guide", "product_id"),
    [
        ("README.md", "acme-example"),
        ("standard.md", "your-application-id"),
        ("reditus.md", "acme-referrals"),
        ("xtremepush.md", "acme-loyalty"),
        ("saasquatch.md", "acme-squatch"),
    ],
)
def test_every_guide_points_to_its_products_test_box(guide: str, product_id: str) -> None:
    """Each guide names the console address of the test box of the product it creates."""
    text = (GUIDES / guide).read_text(encoding="utf-8")
    assert f"http://127.0.0.1:8000{token_test_box_url(product_id)}" in text


def test_the_test_box_address_leads_to_the_test_box(client: TestClient) -> None:
    """The address the guides and pages give opens the Authentication tab at "Test a token"."""
    create_product(client, id="acme")
    page = _signed_in(client).get(token_test_box_url("acme").split("#")[0])
    assert page.status_code == 200
    assert f'id="{token_test_box_url("acme").split("#")[1]}">Test a token<' in page.text


@pytest.mark.parametrize(
    ("profile", "says"),
    [
        (
            "standard",
            "The token's aud claim names the product acme , so a call needs no other header",
        ),
        (
            "reditus",
            "The token's ProductId claim names the product acme , so a call needs no other",
        ),
        ("xtremepush", "every call names acme with the header X-Plaudit-Product: acme ."),
        ("saasquatch", "X-Plaudit-Product: acme , or in the path of the open endpoint"),
    ],
)
def test_getting_started_says_how_the_api_finds_the_product_and_links_the_test_box(
    client: TestClient, profile: str, says: str
) -> None:
    """Getting started names the product's routing as the API applies it (the standard
    profile's aud, not a header it does not need) and links to the test box."""
    create_product(client, id="acme", profile=profile)
    page = _signed_in(client).get("/console/products/acme/start")
    assert page.status_code == 200
    assert says in _words(page.text)
    assert f'href="{token_test_box_url("acme")}"' in page.text


def test_a_standard_token_with_only_the_aud_getting_started_names_verifies_without_a_header(
    client: TestClient,
) -> None:
    """What Getting started says for the standard profile holds: its token verifies with no
    X-Plaudit-Product header, found by its aud."""
    import jwt

    product = create_product(client, id="acme")
    token = jwt.encode(
        {"sub": "u", "iss": "t", "aud": "acme", "iat": 1_764_000_000, "exp": 1_764_003_600},
        product["secret"]["value"],
        algorithm="HS256",
    )
    answer = client.get("/v1/auth/verify", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["product"] == "acme"


def test_integration_health_links_the_test_box(client: TestClient) -> None:
    """Integration health, where refused tokens are counted, leads to the box that explains one."""
    create_product(client, id="acme")
    page = _signed_in(client).get("/console/products/acme/health")
    assert page.status_code == 200
    assert f'href="{token_test_box_url("acme")}"' in page.text


def _shown_basic_password_answer() -> dict[str, str]:
    text = (GUIDES / "saasquatch.md").read_text(encoding="utf-8")
    line = text.split('# -u ":$SQUATCH_SECRET"', 1)[1].splitlines()[1]
    shown: dict[str, str] = json.loads(line)
    return shown


def test_a_signing_secret_sent_as_the_basic_password_is_refused_as_the_guide_says(
    client: TestClient,
) -> None:
    """The referral platform guide's secret, sent where its servers send the API key, gets 401
    missing_token with the message the guide shows; the answer never repeats the secret, and
    nothing of it reaches the product's failure log."""
    create_product(client, id="acme-squatch", profile="saasquatch")
    secret = "TEST_" + "s3cr3t" * 7
    imported = client.post(
        "/v1/products/acme-squatch/secrets",
        json={"value": secret, "algorithm": "HS256", "grace_seconds": 0},
        headers=ADMIN,
    )
    assert imported.status_code == 201, imported.text
    basic = base64.b64encode(f":{secret}".encode()).decode()
    answer = client.post(
        "/api/v1/acme-squatch/open/account/acct_2/user/joe",
        headers={"Authorization": f"Basic {basic}"},
        json={"id": "joe"},
    )
    assert answer.status_code == 401
    shown = _shown_basic_password_answer()
    assert answer.json()["error"] == shown["error"] == "missing_token"
    assert answer.json()["message"] == shown["message"]
    assert "API key" in answer.json()["hint"]
    assert secret not in answer.text
    assert secret not in json.dumps(dict(answer.headers))
    failures = client.get("/v1/products/acme-squatch/auth-failures", headers=ADMIN)
    assert secret not in failures.text
    # Any other password that is not an API key is answered the same: no oracle for a secret.
    other = base64.b64encode(b":TEST_not-the-secret-at-all-but-long-enough").decode()
    again = client.post(
        "/api/v1/acme-squatch/open/account/acct_2/user/joe",
        headers={"Authorization": f"Basic {other}"},
        json={"id": "joe"},
    )
    assert again.status_code == 401
    assert again.json() == answer.json()
