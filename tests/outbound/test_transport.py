"""The pinned transport: a host name is resolved once per connection, every address of the
answer is checked, and the connection goes to a checked address with the original Host; a
DNS answer that changes between the registration check and the fetch (rebinding) is caught."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator

import httpx
import pytest

from plaudit.outbound import FetchFailed, fetch, pinned_client
from plaudit.outbound.policy import Address
from tests.support.local_http import LocalServer


class Echo(LocalServer):
    """Answers every request with the Host header it got, and counts them."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        super().__init__()

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        self.hosts.append(headers.get("Host", ""))
        return 200, b'{"ok": true}'


@pytest.fixture(scope="module")
def echo() -> Iterator[Echo]:
    server = Echo()
    try:
        yield server
    finally:
        server.close()


class Resolver:
    """A DNS that answers from a script, one answer per lookup, and counts lookups."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, timeout: float | None) -> list[Address]:
        self.lookups.append(host)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [ipaddress.ip_address(a) for a in answer]


def _client(resolver: Resolver, *, allow_private: bool) -> httpx.Client:
    return pinned_client(
        allow_private=allow_private, ssl_context=ssl.create_default_context(), resolver=resolver
    )


def test_the_connection_goes_to_the_resolved_address_with_the_original_host(echo: Echo) -> None:
    """A name no real DNS knows reaches the local server through the pinned resolver, once,
    and the request still says Host: that name."""
    echo.hosts.clear()
    port = echo.base.rsplit(":", 1)[1]
    resolver = Resolver(["127.0.0.1"])
    with _client(resolver, allow_private=True) as client:
        answer = fetch(
            client,
            f"http://jwks.tenant.test:{port}/jwks",
            allow_private=True,
            seconds=5,
            max_bytes=1000,
        )
    assert answer.status_code == 200
    assert resolver.lookups == ["jwks.tenant.test"]
    assert echo.hosts == [f"jwks.tenant.test:{port}"]


@pytest.mark.parametrize(
    "answer",
    [["127.0.0.1"], ["93.184.215.14", "10.0.0.7"], ["::ffff:127.0.0.1"], ["64:ff9b::7f00:1"]],
)
def test_a_name_that_resolves_to_a_refused_address_is_refused_at_connect(
    echo: Echo, answer: list[str]
) -> None:
    """Whatever the name resolved to when it was registered, the connect-time answer is what
    is checked: one refused address in it refuses the host, and nothing is sent."""
    echo.hosts.clear()
    resolver = Resolver(answer)
    with _client(resolver, allow_private=False) as client, pytest.raises(FetchFailed) as failed:
        fetch(
            client, "https://rebind.tenant.test/jwks", allow_private=False, seconds=5, max_bytes=9
        )
    assert "not a public address" in failed.value.message
    assert echo.hosts == []
