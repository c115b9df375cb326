"""Where Plaudit may connect: public unicast addresses only, unless the operator allows private.

A tenant registers URLs (JWKS sources, webhook endpoints) that Plaudit fetches from its own
network; an address inside that network would let a tenant probe or steer the operator's
internal services (a cloud metadata service at 169.254.169.254, an admin port on loopback).

The policy refuses every block of the IANA IPv4 and IPv6 special-purpose address registries
(RFC 6890 and its updates, as of 2025), multicast, and every IPv6 address outside global
unicast (2000::/3). Addresses that carry an IPv4 address inside them are judged by what they
carry or refused outright: IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) fall outside
2000::/3; 6to4 (2002::/16) and Teredo (2001::/32) are refused as the special-purpose blocks they
are; NAT64's well-known prefix (64:ff9b::/96) is allowed only when the IPv4 address it embeds
is, since DNS64 hands it out for ordinary public hosts; local-use NAT64 (64:ff9b:1::/48) is
refused. Python's own ``is_global`` is consulted as well, as a second opinion.

The check runs on the addresses a connection actually goes to (see ``transport``), so a DNS
answer that changes between a check and a connect (rebinding) cannot slip past it.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

from plaudit.errors import UnsafeUrl

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: (block, what it is): every entry of the IANA IPv4 special-purpose registry, multicast and
#: the reserved 240.0.0.0/4 (which holds the limited broadcast address).
IPV4_REFUSED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "'this network'"),
    ("10.0.0.0/8", "private-use"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata services live here)"),
    ("172.16.0.0/12", "private-use"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.31.196.0/24", "AS112-v4"),
    ("192.52.193.0/24", "AMT"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast"),
    ("192.168.0.0/16", "private-use"),
    ("192.175.48.0/24", "direct delegation AS112 service"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (and the limited broadcast address)"),
)

#: IPv6 is judged by an allowlist first: only global unicast (2000::/3) and NAT64's well-known
#: prefix may be reached at all.
IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")

#: Blocks outside 2000::/3, named so that a refusal says what the address is.
IPV6_OUTSIDE_NAMED: tuple[tuple[str, str], ...] = (
    ("::/128", "the unspecified address"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("100:0:0:1::/64", "dummy IPv6 prefix"),
    ("5f00::/16", "SRv6 SIDs"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)

#: Every special-purpose block inside 2000::/3.
IPV6_REFUSED: tuple[tuple[str, str], ...] = (
    ("2001::/32", "Teredo"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("2620:4f:8000::/48", "direct delegation AS112 service"),
    ("3fff::/20", "documentation"),
)


def _networks(
    table: tuple[tuple[str, str], ...],
) -> tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.ip_network(block), name) for block, name in table)


_V4 = _networks(IPV4_REFUSED)
_V6_OUTSIDE = _networks(IPV6_OUTSIDE_NAMED)
_V6 = _networks(IPV6_REFUSED)


def refusal(address: Address) -> str | None:
    """Why Plaudit must not connect to ``address``, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_WELL_KNOWN:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            inner = refusal(embedded)
            return f"NAT64 of {embedded}, which is {inner}" if inner else None
        if address not in IPV6_GLOBAL_UNICAST:
            for network, name in _V6_OUTSIDE:
                if address in network:
                    return f"{name} ({network})"
            return "outside IPv6 global unicast (2000::/3)"
        for network, name in _V6:
            if address in network:
                return f"{name} ({network})"
    else:
        for network, name in _V4:
            if address in network:
                return f"{name} ({network})"
    if not address.is_global:
        return "not a global address"
    return None


def parse_address(host: str) -> Address | None:
    """The address a URL's host names literally (``[::1]`` without brackets), or None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_address(host: str, address: Address) -> None:
    """Raise ``UnsafeUrl`` if ``address`` (which ``host`` names or resolves to) is refused."""
    reason = refusal(address)
    if reason is None:
        return
    if str(address) == host.strip("[]"):
        message = f"The host {address} is not a public address: {reason}."
    else:
        message = (
            f"The host {host!r} resolves to {address}, which is not a public address: {reason}."
        )
    raise UnsafeUrl(message, field="url")


# --- resolving --------------------------------------------------------------------------------

#: getaddrinfo has no timeout of its own: it runs on these threads, and a caller waits for it
#: at most its own deadline. A resolver that hangs holds one of them, never the caller.
_DNS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="plaudit-dns")
DNS_TIMEOUT = 5.0


def resolve(host: str, port: int, timeout: float | None = None) -> list[Address]:
    """Every address ``host`` resolves to, in the resolver's order; ``OSError`` if none."""
    literal = parse_address(host)
    if literal is not None:
        return [literal]
    future = _DNS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(DNS_TIMEOUT if timeout is None else min(timeout, DNS_TIMEOUT))
    except FutureTimeout:
        raise OSError(f"resolving {host!r} took too long") from None
    except UnicodeError:
        raise OSError(f"{host!r} is not a valid host name") from None
    addresses: list[Address] = []
    for info in infos:
        address = parse_address(str(info[4][0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OSError(f"{host!r} has no address")
    return addresses


def check_url(url: str, *, allow_private: bool, resolve_host: bool = True) -> str:
    """Return ``url`` if Plaudit may fetch it, else raise ``UnsafeUrl`` saying why.

    ``resolve_host=False`` checks the URL's form and a literal address only: a fetch leaves the
    name to the pinned transport, which checks the addresses it connects to.
    """
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
    host = parts.hostname
    literal = parse_address(host)
    if literal is not None:
        check_address(host, literal)
        return url
    if not resolve_host:
        return url
    try:
        addresses = resolve(host, port or 443)
    except OSError:
        raise UnsafeUrl(f"The host {host!r} does not resolve.", field="url") from None
    for address in addresses:
        check_address(host, address)
    return url
