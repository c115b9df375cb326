"""A JWKS document is refused past 100 keys or 256 KB, with an error that names the cap (the
caller keeps the last good set: tests/products/test_jwks_sources.py)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plaudit.outbound import pinned_client
from plaudit.products import jwks
from tests.support.local_http import LocalServer


class Documents(LocalServer):
    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        super().__init__()

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        return 200, self.documents[path]

    def put(self, path: str, document: Any) -> str:
        self.documents[path] = json.dumps(document).encode()
        return self.base + path


@pytest.fixture(scope="module")
def documents() -> Iterator[Documents]:
    server = Documents()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with pinned_client(allow_private=True, ssl_context=ssl.create_default_context()) as pinned:
        yield pinned


def _keys(n: int) -> dict[str, Any]:
    return {
        "keys": [
            {"kty": "oct", "kid": f"k{i}", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"} for i in range(n)
        ]
    }


def test_a_key_set_with_too_many_keys_is_refused(
    documents: Documents, client: httpx.Client
) -> None:
    """101 members is refused, naming the cap of 100."""
    url = documents.put("/many", _keys(jwks.MAX_JWKS_KEYS + 1))
    document, error = jwks.download(url, client=client, allow_private=True)
    assert document is None
    assert error == f"the key set has 101 keys; Plaudit takes at most {jwks.MAX_JWKS_KEYS}"


def test_a_key_set_past_256_kb_is_refused(documents: Documents, client: httpx.Client) -> None:
    """A set larger than the byte cap is refused before it is parsed."""
    url = documents.put("/big", {"keys": [], "padding": "x" * jwks.MAX_JWKS_BYTES})
    document, error = jwks.download(url, client=client, allow_private=True)
    assert document is None
    assert error == f"The answer is larger than {jwks.MAX_JWKS_BYTES} bytes."
