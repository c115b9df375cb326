"""`plaudit products|keys|secrets|users`: the management services from a terminal, on the same
store as the API; tables for people, --json for scripts, and one clean line for every error."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.support.service import (
    ADMIN,
    NOW,
    RsaPair,
    Run,
    cli_error_line,
    cli_json,
    product_header,
    standard_claims,
    verify,
)


def test_products_create_prints_the_key_and_secret_once(cli: Run) -> None:
    """`products create` shows the API key and secret; --json gives them to scripts."""
    table = cli("products", "create", "Acme", "--id", "acme")
    assert "Created product acme" in table.stdout
    assert "pk_" in table.stdout
    assert "shown once" in table.stdout
    created = cli_json(
        cli("products", "create", "Widget", "--id", "widget", "--profile", "reditus", "--json")
    )
    assert created["id"] == "widget"
    assert created["profile"] == "reditus"
    assert created["api_key"].startswith("pk_")
    assert created["secret"]["algorithm"] == "HS512"
    assert len(created["secret"]["value"].encode()) >= 64


def test_a_product_made_by_the_cli_serves_the_api(cli: Run, client: TestClient) -> None:
    """The CLI and the API share one store: a CLI product's secret verifies at the API."""
    created = cli_json(cli("products", "create", "Acme", "--id", "acme", "--published", "--json"))
    assert created["published"] is True
    token = jwt.encode(standard_claims("acme"), created["secret"]["value"], algorithm="HS256")
    response = verify(client, token)
    assert response.status_code == 200, response.text
    key = {"Authorization": f"Bearer {created['api_key']}"}
    assert client.get("/v1/products/acme", headers=key).status_code == 200


def test_products_list_and_show_as_tables_and_json(cli: Run) -> None:
    """`products list` and `products show` print tables, or JSON with --json."""
    cli("products", "create", "Alpha Co", "--id", "alpha")
    cli("products", "create", "Bravo Co", "--id", "bravo", "--profile", "saasquatch")
    table = cli("products", "list").stdout
    assert "alpha" in table
    assert "Bravo Co" in table
    assert "saasquatch" in table
    listed = cli_json(cli("products", "list", "--json"))
    assert [p["id"] for p in listed] == ["alpha", "bravo"]
    shown = cli_json(cli("products", "show", "alpha", "--json"))
    assert shown["id"] == "alpha"
    assert [s["state"] for s in shown["secrets"]] == ["active"]
    assert shown["keys"] == []
    assert "value" not in json.dumps(shown["secrets"])
    text = cli("products", "show", "alpha").stdout
    assert "max_token_age_seconds" in text
    assert "86400" in text
    assert "Secrets" in text


def test_keys_add_list_disable(
    cli: Run, client: TestClient, rsa_pair: RsaPair, tmp_path: Path
) -> None:
    """`keys add` uploads a public PEM, `keys list` shows it, `keys disable` refuses its tokens."""
    cli("products", "create", "Loyalty", "--id", "loyalty", "--profile", "xtremepush")
    public = tmp_path / "public.key"
    public.write_text(rsa_pair.public_pem)
    added = cli_json(
        cli(
            "keys",
            "add",
            "loyalty",
            str(public),
            "--kid",
            "primary",
            "--description",
            "Prod",
            "--json",
        )
    )
    assert added["kid"] == "primary"
    assert added["enabled"] is True
    table = cli("keys", "list", "loyalty").stdout
    assert "primary" in table
    assert "Prod" in table
    assert "BEGIN PUBLIC KEY" not in table
    token = jwt.encode(
        {"sub": "u-1", "exp": int(NOW) + 600},
        rsa_pair.private_pem,
        algorithm="RS256",
        headers={"kid": "primary"},
    )
    assert verify(client, token, **product_header("loyalty")).status_code == 200
    disabled = cli_json(cli("keys", "disable", "loyalty", "primary", "--json"))
    assert disabled["enabled"] is False
    client.app.state.verification.keystore.refresh()  # type: ignore[attr-defined]  # the background poll
    assert verify(client, token, **product_header("loyalty")).json()["error"] == "key_disabled"
    assert cli_json(cli("keys", "list", "loyalty", "--json"))[0]["enabled"] is False


def test_secrets_rotate_and_list(cli: Run, tmp_path: Path) -> None:
    """`secrets rotate` generates or imports a secret; `secrets list` shows states, no values."""
    created = cli_json(cli("products", "create", "Acme", "--id", "acme", "--json"))
    rotated = cli_json(cli("secrets", "rotate", "acme", "--grace-seconds", "600", "--json"))
    assert rotated["value"] != created["secret"]["value"]
    own = tmp_path / "secret.txt"
    own.write_text("my-own-secret-that-is-long-enough-for-hs256\n")
    imported = cli_json(cli("secrets", "rotate", "acme", "--import", str(own), "--json"))
    assert imported["value"] == "my-own-secret-that-is-long-enough-for-hs256"
    states = {s["kid"]: s["state"] for s in cli_json(cli("secrets", "list", "acme", "--json"))}
    assert states[created["secret"]["kid"]] == "retiring"
    assert states[imported["kid"]] == "active"
    table = cli("secrets", "list", "acme").stdout
    assert imported["kid"] in table
    assert imported["value"] not in table
    assert rotated["value"] not in table
    text = cli("secrets", "rotate", "acme").stdout
    assert "New secret" in text


def test_users_list(cli: Run, client: TestClient) -> None:
    """`users list` shows All Users, searchable, as a table or JSON."""
    created = cli_json(cli("products", "create", "Acme", "--id", "acme", "--published", "--json"))
    for sub, email in (("u-ada", "ada@example.com"), ("u-alan", "alan@example.org")):
        token = jwt.encode(
            standard_claims("acme", sub=sub, email=email),
            created["secret"]["value"],
            algorithm="HS256",
        )
        assert verify(client, token).status_code == 200
    page = cli_json(cli("users", "list", "acme", "--json"))
    assert page["total"] == 2
    assert {u["id"] for u in page["users"]} == {"u-ada", "u-alan"}
    found = cli_json(cli("users", "list", "acme", "-q", "example.org", "--json"))
    assert [u["id"] for u in found["users"]] == ["u-alan"]
    table = cli("users", "list", "acme").stdout
    assert "u-ada" in table
    assert "ada@example.com" in table
    assert "Users (2)" in table
    assert cli_json(cli("users", "list", "acme", "--limit", "1", "--offset", "1", "--json"))[
        "users"
    ][0]["id"] in {"u-ada", "u-alan"}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["products", "show", "ghost"], "not_found"),
        (["products", "create", "X", "--profile", "okta"], "invalid_request"),
        (["products", "create", "X", "--id", "bad id"], "invalid_request"),
        (["products", "create", "X", "--id", "x"], "invalid_request"),
        (["keys", "list", "ghost"], "not_found"),
        (["keys", "disable", "acme", "nokid"], "not_found"),
        (["secrets", "list", "ghost"], "not_found"),
        (["secrets", "rotate", "ghost"], "not_found"),
        (["secrets", "rotate", "acme", "--alg", "RS256"], "unsupported_key"),
        (["users", "list", "ghost"], "not_found"),
    ],
)
def test_errors_are_one_clean_line_and_exit_1(cli: Run, args: list[str], code: str) -> None:
    """A refused command prints `error: ... (code)  hint: ...` once, exits 1, no traceback."""
    cli("products", "create", "Acme", "--id", "acme")
    result = cli(*args, exit_code=1)
    cli_error_line(result, code)


def test_a_taken_id_is_a_conflict(cli: Run) -> None:
    """Creating a product whose id exists already: conflict, exit 1."""
    cli("products", "create", "Acme", "--id", "acme")
    line = cli_error_line(
        cli("products", "create", "Again", "--id", "acme", exit_code=1), "conflict"
    )
    assert "acme" in line


def test_bad_key_files_are_refused_cleanly(cli: Run, rsa_pair: RsaPair, tmp_path: Path) -> None:
    """A private key, garbage, a broken JWK or a binary file: one line each, exit 1."""
    cli("products", "create", "Acme", "--id", "acme")
    private = tmp_path / "private.key"
    private.write_text(rsa_pair.private_pem)
    line = cli_error_line(
        cli("keys", "add", "acme", str(private), exit_code=1), "private_key_not_allowed"
    )
    assert "openssl pkey -in private.key -pubout -out public.key" in line
    assert "PRIVATE KEY-----" not in line
    for name, content, code in (
        ("garbage.pem", b"hello", "invalid_key"),
        ("broken.jwk", b'{"kty": "RSA", ', "invalid_request"),
        ("binary.der", b"\x30\x82\x01\xff\xfe\x00", "invalid_request"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        cli_error_line(cli("keys", "add", "acme", str(path), exit_code=1), code)


def test_short_or_unreadable_imported_secrets_are_refused_cleanly(cli: Run, tmp_path: Path) -> None:
    """`secrets rotate --import` with a short secret is weak_key; a binary file one clean line."""
    cli("products", "create", "Acme", "--id", "acme")
    short = tmp_path / "short.txt"
    short.write_text("tiny")
    cli_error_line(
        cli("secrets", "rotate", "acme", "--import", str(short), exit_code=1), "weak_key"
    )
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff" * 64)
    cli_error_line(
        cli("secrets", "rotate", "acme", "--import", str(binary), exit_code=1), "invalid_request"
    )


def test_a_malformed_master_key_is_one_clean_line(cli: Run) -> None:
    """PLAUDIT_MASTER_KEY that is not a Fernet key: an invalid_setting line, exit 1."""
    result = cli("products", "list", exit_code=1, PLAUDIT_MASTER_KEY="not-a-key")
    line = cli_error_line(result, "invalid_setting")
    assert "PLAUDIT_MASTER_KEY" in line


def test_the_cli_never_prints_stored_secrets_after_creation(cli: Run) -> None:
    """list/show/secrets list/keys list never print a secret or API key value."""
    created = cli_json(cli("products", "create", "Acme", "--id", "acme", "--json"))
    outputs = [
        cli("products", "list").stdout,
        cli("products", "list", "--json").stdout,
        cli("products", "show", "acme").stdout,
        cli("products", "show", "acme", "--json").stdout,
        cli("secrets", "list", "acme", "--json").stdout,
        cli("keys", "list", "acme", "--json").stdout,
    ]
    for output in outputs:
        assert created["secret"]["value"] not in output
        assert created["api_key"] not in output
    assert ADMIN["Authorization"].split()[1] not in "".join(outputs)
