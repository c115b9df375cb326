"""Who "the client" is for a per-address limit.

The connection's peer, unless the peer is a proxy the operator trusts
(``PLAUDIT_TRUSTED_PROXIES``): then ``X-Forwarded-For`` is read from the right, each trusted
hop skipped, and the first address not trusted is the client. Entries further left were written
by the client itself and are never believed. An IPv6 client counts as its /64, the block one
subscriber usually holds: otherwise one host could take a fresh address for every call.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_LONGEST = 64


class ClientAddress:
    def __init__(self, trusted: Iterable[str] = ()) -> None:
        self._trusted: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(t, strict=False) for t in trusted
        )

    def __call__(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        if self._trusted and self._is_trusted(peer):
            hops = [
                hop.strip()
                for name, value in scope["headers"]
                if name == b"x-forwarded-for"
                for hop in value.decode("latin-1").split(",")
                if hop.strip()
            ]
            for hop in reversed(hops):
                if not self._is_trusted(hop):
                    return bucket(hop)
            if hops:
                return bucket(hops[0])
        return bucket(peer)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)


def bucket(address: str) -> str:
    """The key an address is counted under: itself, an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:_LONGEST]  # not an address (a test client's name): counted as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
