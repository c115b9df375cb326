"""The HTTP transport every outbound call goes through: pinned addresses, one total deadline.

**Pinned.** The transport resolves a host once per connection, checks every address the
answer holds against the policy, and connects to a checked address itself; the TLS handshake
still names the original host (SNI and certificate checks), and the request still carries its
``Host``. So nothing resolves the name a second time between the check and the connect, and a
DNS answer that changes in between (rebinding) cannot reach an address the policy refuses.
This is httpcore's documented extension point (a ``NetworkBackend``), placed under httpx's own
``HTTPTransport`` so that requests, responses and errors are httpx's.

**One deadline.** httpx's timeouts apply to each operation: a host that sends one byte every
few seconds never trips a read timeout, and a download can last forever. Inside ``deadline()``
every connect, read, write and TLS handshake on this transport gets at most the time left, and
none starts once it is spent, so a whole fetch (connect, request, headers and body) ends by it.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from plaudit.errors import UnsafeUrl

from .policy import Address, check_address
from .policy import resolve as system_resolve

Resolver = Callable[[str, int, float | None], list[Address]]

_deadline: ContextVar[float | None] = ContextVar("plaudit_outbound_deadline", default=None)


class DeadlineExceeded(httpcore.TimeoutException):
    """The fetch's total time is spent (httpx raises it as ``httpx.TimeoutException``)."""


class RefusedAddress(httpcore.ConnectError):
    """The host resolves to an address the policy refuses (``httpx.ConnectError`` to callers)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Everything this thread does on a pinned transport inside the block ends within
    ``seconds``; yields the monotonic time it ends at."""
    end = time.monotonic() + seconds
    token = _deadline.set(end)
    try:
        yield end
    finally:
        _deadline.reset(token)


def time_left(timeout: float | None) -> float | None:
    """``timeout``, cut to what is left of the current deadline; raises once it is spent."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the deadline for this fetch is spent")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose every operation is cut to the current deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, time_left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, time_left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Resolve, check every address, connect to a checked one: never by name."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolve) -> None:
        self.allow_private = allow_private
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._resolver(host, port, time_left(timeout))
        except OSError as exc:
            raise httpcore.ConnectError(f"{host!r} does not resolve: {exc}") from None
        if not self.allow_private:
            for address in addresses:  # one refused address refuses the host: no mixed answers
                try:
                    check_address(host, address)
                except UnsafeUrl as exc:
                    raise RefusedAddress(exc.message) from None
        failure: Exception = httpcore.ConnectError(f"{host!r} has no address")
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address), port, time_left(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _Stream(stream)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("Plaudit never calls out through a unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a ``PinnedBackend``: no proxies from the environment, no unix
    sockets, every connection to an address the policy allowed."""

    def __init__(
        self,
        *,
        allow_private: bool,
        ssl_context: ssl.SSLContext,
        resolver: Resolver = system_resolve,
        max_connections: int = 100,
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # The one line that reaches into httpx: its pool, rebuilt over our backend (the
        # parameters are httpx's defaults; tests/outbound pins the behaviour).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=PinnedBackend(allow_private=allow_private, resolver=resolver),
        )


def pinned_client(
    *,
    allow_private: bool,
    ssl_context: ssl.SSLContext,
    resolver: Resolver = system_resolve,
    max_connections: int = 100,
) -> httpx.Client:
    """An httpx client whose every connection is pinned and cut to the current deadline."""
    return httpx.Client(
        transport=PinnedTransport(
            allow_private=allow_private,
            ssl_context=ssl_context,
            resolver=resolver,
            max_connections=max_connections,
        ),
        follow_redirects=False,
        trust_env=False,
    )
