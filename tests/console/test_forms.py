"""Every console form as a new admin meets it: one element per id, each label tied to a field of
its own form, errors named by the field's label, defaults as the API's, no private key echoed."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import httpx

from .conftest import ADMIN, ConsoleClient, RsaPair, create_product, field_error, text_of

AUTH = "/console/products/loyal/authentication"


class Structure(HTMLParser):
    """The ids of a page, which form each element sits in, its labels' targets, its nav links."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.form_of: dict[str, int | None] = {}
        self.labels: list[tuple[str, int | None]] = []
        self.tabs: list[str] = []
        self._form: int | None = None
        self._forms = 0
        self._in_tabs = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self._forms += 1
            self._form = self._forms
        if tag == "nav" and "tabs" in (found.get("class") or ""):
            self._in_tabs = True
        if tag == "a" and self._in_tabs and found.get("href"):
            self.tabs.append(found["href"] or "")
        if found.get("id"):
            self.ids.append(found["id"] or "")
            self.form_of.setdefault(found["id"] or "", self._form)
        if tag == "label" and found.get("for"):
            self.labels.append((found["for"] or "", self._form))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "nav":
            self._in_tabs = False


def structure(page: httpx.Response) -> Structure:
    parsed = Structure()
    parsed.feed(page.text)
    return parsed


def _product_pages(console: ConsoleClient, product_id: str) -> list[str]:
    """The product's pages, as its tab navigation lists them (pages added later come too)."""
    tabs = structure(console.get(f"/console/products/{product_id}")).tabs
    assert len(tabs) >= 6, tabs
    return tabs


def test_no_console_page_reuses_an_id_and_every_label_names_a_field_of_its_form(
    console: ConsoleClient,
) -> None:
    """Clicking a label (say "Enabled" in the rewards form) works the field beside it, never a
    field of another form on the page."""
    create_product(console.http, id="loyal", profile="xtremepush")
    pages = ["/console/products", *_product_pages(console, "loyal")]
    for path in pages:
        page = console.get(path)
        assert page.status_code == 200, path
        found = structure(page)
        repeated = [i for i, n in Counter(found.ids).items() if n > 1]
        assert repeated == [], f"{path} repeats ids"
        for target, form in found.labels:
            assert target in found.form_of, f"{path}: a label for the missing #{target}"
            assert found.form_of[target] == form, f"{path}: the label for #{target} is elsewhere"


def test_the_rewards_enabled_switch_is_the_rewards_own(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    page = console.get("/console/products/acme/programs").text
    for scope in ("rule", "reward", "badge"):
        assert f'<label for="{scope}-enabled">Enabled</label>' in page
        assert re.search(rf'<input id="{scope}-enabled" name="enabled"', page)


def test_the_secrets_labels_point_at_the_secrets_fields(console: ConsoleClient) -> None:
    create_product(console.http, id="loyal", profile="xtremepush")
    found = structure(console.get(AUTH))
    secret_form = found.form_of["secret-kid"]
    assert found.form_of["key-kid"] != secret_form
    assert ("secret-algorithm", secret_form) in found.labels
    assert ("secret-kid", secret_form) in found.labels


def test_the_error_summary_names_fields_by_their_labels(console: ConsoleClient) -> None:
    create_product(console.http, id="loyal", profile="xtremepush")
    page = console.post(AUTH + "/keys", {"description": "x", "public_key": "nope"})
    assert page.status_code == 422
    summary = text_of(page).split("The form was not saved", 1)[1]
    assert "public_key" not in summary
    assert re.search(r"Public key\s*:", summary)
    assert '<a href="#key-public_key">Public key</a>' in page.text


def test_the_summary_names_a_settings_field_by_its_label(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    page = console.post("/console/products/acme", {"name": "Acme", "leeway_seconds": "-1"})
    assert page.status_code == 422
    assert '<a href="#leeway_seconds">Leeway (seconds)</a>:' in page.text


def test_add_key_starts_enabled_as_the_api_does(console: ConsoleClient, rsa_pair: RsaPair) -> None:
    """The switch is on at first (POST .../keys defaults enabled to true)."""
    create_product(console.http, id="loyal", profile="xtremepush")
    page = console.get(AUTH).text
    assert re.search(
        r'<input id="key-enabled" name="enabled" type="checkbox" role="switch" '
        r'value="true" checked',
        page,
    )
    api = console.http.post(
        "/v1/products/loyal/keys", json={"public_key": rsa_pair.public_pem}, headers=ADMIN
    )
    assert api.json()["enabled"] is True


def test_a_key_added_disabled_says_so(console: ConsoleClient, rsa_pair: RsaPair) -> None:
    create_product(console.http, id="loyal", profile="xtremepush")
    added = console.post(AUTH + "/keys", {"description": "off", "public_key": rsa_pair.public_pem})
    assert added.status_code == 303
    notice = text_of(console.get(added.headers["location"]))
    assert "Key added, disabled: it verifies no token until you enable it." in notice


def test_a_refused_private_key_is_never_put_back_in_the_box(
    console: ConsoleClient, rsa_pair: RsaPair
) -> None:
    """The refusal says why, and the page holds no line of the private key."""
    create_product(console.http, id="loyal", profile="xtremepush")
    page = console.post(AUTH + "/keys", {"description": "oops", "public_key": rsa_pair.private_pem})
    assert page.status_code == 422
    assert "private key" in (field_error(page, "key-public_key") or "")
    assert "never shown back" in (field_error(page, "key-public_key") or "")
    body = rsa_pair.private_pem.splitlines()[1:-1]
    assert not any(line in page.text for line in body)
    assert "PRIVATE KEY" not in page.text
