"""Outbound URLs a tenant registers (JWKS sources, later webhooks) must not reach inside.

Plaudit fetches such URLs from its own network, so a URL naming a loopback, private, link-local
or otherwise non-global address would let a tenant probe the operator's internal services. The
check runs when a URL is registered and again before every fetch (DNS may have changed).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from plaudit.errors import UnsafeUrl


def check_url(url: str, *, allow_private: bool) -> str:
    """Return ``url`` if Plaudit may fetch it, else raise ``UnsafeUrl`` saying why."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError:  # "http://[::1", "http://host:99999"
        raise UnsafeUrl("The URL cannot be parsed.", field="url") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrl("The URL must be an absolute http(s) URL.", field="url")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL must not carry credentials.", field="url")
    if allow_private:
        return url
    if parts.scheme != "https":
        raise UnsafeUrl("The URL must use https.", field="url")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The host {parts.hostname!r} does not resolve.", field="url") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UnsafeUrl(
                f"The host {parts.hostname!r} resolves to {address}, which is not a public "
                "address.",
                field="url",
            )
    return url
