"""Products in the console: the list, creation (credentials shown once), settings with the
API's own validation messages, and an API key confined to its product."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import (
    ADMIN,
    ADMIN_TOKEN,
    Clock,
    ConsoleClient,
    create_product,
    field_error,
    text_of,
)


def _copyable(page_text: str, element_id: str) -> str:
    return page_text.split(f'id="{element_id}" type="text" readonly value="', 1)[1].split(
        '"', maxsplit=1
    )[0]


def test_creating_a_product_shows_its_api_key_and_secret_once(console: ConsoleClient) -> None:
    """POST, redirect, GET: the page it leads to holds both, with copy buttons and a warning;
    a reload, or any later page, holds neither; and they are the real credentials."""
    created = console.post(
        "/console/products", {"name": "Acme", "id": "acme", "profile": "standard"}
    )
    assert created.status_code == 303
    assert created.headers["location"] == "/console/products/acme/created"
    shown = console.get(created.headers["location"])
    assert shown.status_code == 200
    assert "shown this once" in text_of(shown)
    api_key = _copyable(shown.text, "created-api-key")
    secret = _copyable(shown.text, "created-secret")
    assert api_key.startswith("pk_")
    assert len(secret) >= 64
    assert 'data-copy="created-api-key"' in shown.text
    answer = console.http.get("/v1/products/acme", headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 200
    for path in (
        "/console/products/acme/created",
        "/console/products",
        "/console/products/acme",
        "/console/products/acme/authentication",
    ):
        later = console.get(path).text
        assert api_key not in later, path
        assert secret not in later, path
    assert "cannot be shown again" in text_of(console.get("/console/products/acme/created"))


def test_reloading_after_creating_a_product_creates_no_second_one(console: ConsoleClient) -> None:
    """The browser's reload repeats the GET it was redirected to, never the POST."""
    created = console.post("/console/products", {"name": "Once", "profile": "standard"})
    assert created.status_code == 303
    for _reload in range(3):
        assert console.get(created.headers["location"]).status_code == 200
    names = [p["name"] for p in console.http.get("/v1/products", headers=ADMIN).json()]
    assert names.count("Once") == 1


def test_the_one_time_display_opens_in_its_own_session_only(
    console: ConsoleClient, other_browser: ConsoleClient
) -> None:
    """The sealed flash cookie copied into another signed-in browser shows nothing there."""
    created = console.post(
        "/console/products", {"name": "Mine", "id": "mine", "profile": "standard"}
    )
    assert other_browser.sign_in(ADMIN_TOKEN).status_code == 303
    sealed = created.cookies["plaudit_console_flash"]
    other_browser.http.cookies.set("plaudit_console_flash", sealed, path="/console")
    stolen = other_browser.get(created.headers["location"])
    assert "pk_" not in stolen.text
    assert "cannot be shown again" in text_of(stolen)
    assert "shown this once" in text_of(console.get(created.headers["location"]))


def test_the_one_time_display_expires(console: ConsoleClient, clock: Clock) -> None:
    """Opened more than five minutes after the product was made, it shows nothing."""
    created = console.post(
        "/console/products", {"name": "Late", "id": "late", "profile": "standard"}
    )
    clock.now += 301
    late = console.get(created.headers["location"])
    assert "pk_" not in late.text
    assert "cannot be shown again" in text_of(late)


def test_an_xtremepush_product_is_created_without_a_secret(console: ConsoleClient) -> None:
    """The loyalty guide's profile verifies uploaded keys: the page says to add one."""
    created = console.post(
        "/console/products", {"name": "Loyalty", "id": "loyal", "profile": "xtremepush"}
    )
    assert created.status_code == 303
    assert "there is no secret" in text_of(console.get(created.headers["location"]))


@pytest.mark.parametrize(
    ("form", "field", "api_body"),
    [
        ({"name": ""}, "name", {"name": ""}),
        ({"name": "A", "id": "a!"}, "id", {"name": "A", "id": "a!"}),
        ({"name": "A", "profile": "jose"}, "profile", {"name": "A", "profile": "jose"}),
    ],
)
def test_create_form_errors_are_the_apis(
    console: ConsoleClient, form: dict[str, str], field: str, api_body: dict[str, str]
) -> None:
    """Each refused field shows exactly the message POST /v1/products gives for it."""
    page = console.post("/console/products", {"profile": "standard", **form})
    assert page.status_code == 422
    api = console.http.post("/v1/products", json=api_body, headers=ADMIN).json()
    assert api["message"] == f"{field}: {field_error(page, field)}"


def test_a_taken_id_is_refused_beside_the_field(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    page = console.post("/console/products", {"name": "Again", "id": "acme", "profile": "standard"})
    assert page.status_code == 409
    assert "A product with the id 'acme' exists already." in (field_error(page, "id") or "")


SETTINGS = {
    "name": "Acme",
    "profile": "standard",
    "issuer": "",
    "audience": "",
    "leeway_seconds": "30",
    "max_token_age_seconds": "",
    "max_lifetime_seconds": "",
    "token_type": "",
    "user_id_claim": "",
    "required_claims": "",
    "allowed_origins": "",
    "referral_landing_url": "",
}


def test_settings_are_saved_through_the_api_service(console: ConsoleClient) -> None:
    """What the form saves is what the API then reads, lists one a line and blanks as null."""
    create_product(console.http, id="acme")
    saved = console.post(
        "/console/products/acme",
        {
            **SETTINGS,
            "issuer": "tenant-1",
            "audience": "acme",
            "leeway_seconds": "5",
            "max_token_age_seconds": "3600",
            "required_claims": "tenant\n\nplan\n",
            "allowed_origins": "https://App.example.com/\nhttp://localhost:3000",
            "referral_landing_url": "https://example.com/join",
            "published": "true",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("notice=saved")
    product = console.http.get("/v1/products/acme", headers=ADMIN).json()
    assert product["issuer"] == "tenant-1"
    assert product["audience"] == "acme"
    assert product["leeway_seconds"] == 5
    assert product["max_token_age_seconds"] == 3600
    assert product["max_lifetime_seconds"] is None
    assert product["required_claims"] == ["tenant", "plan"]
    assert product["allowed_origins"] == ["https://app.example.com", "http://localhost:3000"]
    assert product["published"] is True
    assert "Settings saved" in text_of(console.get(saved.headers["location"]))
    unpublished = console.post("/console/products/acme", {**SETTINGS, "issuer": "tenant-1"})
    assert unpublished.status_code == 303
    assert console.http.get("/v1/products/acme", headers=ADMIN).json()["published"] is False


@pytest.mark.parametrize(
    ("field", "value", "api_value"),
    [
        ("leeway_seconds", "601", 601),
        ("leeway_seconds", "soon", "soon"),
        ("max_token_age_seconds", "0", 0),
        ("max_lifetime_seconds", "-5", -5),
        ("allowed_origins", "https://app.example.com/path", ["https://app.example.com/path"]),
        ("referral_landing_url", "ftp://example.com", "ftp://example.com"),
        ("name", "", ""),
        ("profile", "none", "none"),
    ],
)
def test_each_setting_is_refused_with_the_apis_message(
    console: ConsoleClient, field: str, value: str, api_value: object
) -> None:
    """The console validates with ProductSettings, so the words are PATCH's own; nothing saves."""
    create_product(console.http, id="acme")
    page = console.post("/console/products/acme", {**SETTINGS, field: value, "issuer": "changed"})
    assert page.status_code == 422
    api = console.http.patch("/v1/products/acme", json={field: api_value}, headers=ADMIN).json()
    assert api["message"] == f"{field}: {field_error(page, field)}"
    assert 'aria-invalid="true"' in page.text
    assert "The form was not saved" in page.text
    assert console.http.get("/v1/products/acme", headers=ADMIN).json()["issuer"] is None


def test_an_api_key_sees_its_own_product_only(client: TestClient) -> None:
    """Another product's pages and forms answer 404 as if it did not exist; operator-only
    actions answer 403."""
    acme = create_product(client, id="acme")
    create_product(client, id="other")
    browser = ConsoleClient(client)
    browser.sign_in(acme["api_key"])
    assert browser.get("/console/products", follow_redirects=False).headers["location"] == (
        "/console/products/acme"
    )
    assert browser.get("/console/products/acme/authentication").status_code == 200
    for path in ("", "/authentication", "/users", "/programs", "/health", "/start", "/user?id=u"):
        page = browser.get(f"/console/products/other{path}")
        assert page.status_code == 404, path
        assert "No product has the id 'other'" in text_of(page)
    changed = browser.post("/console/products/other", {**SETTINGS, "name": "Mine now"})
    assert changed.status_code == 404
    assert client.get("/v1/products/other", headers=ADMIN).json()["name"] == "Acme"
    added = browser.post("/console/products/other/authentication/secrets", {})
    assert added.status_code == 404
    created = browser.post(
        "/console/products", {"name": "New", "id": "newer", "profile": "standard"}
    )
    assert created.status_code == 403
