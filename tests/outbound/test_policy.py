"""The outbound address policy: every special-purpose range of IPv4 and IPv6 is refused, and so
is every form that carries a refused IPv4 address inside an IPv6 one; public addresses pass."""

from __future__ import annotations

import ipaddress

import pytest

from plaudit.errors import UnsafeUrl
from plaudit.outbound import check_url, refusal

# One address inside each range, written out by hand from the IANA registries (not read from
# the policy's own tables), with a word the refusal must name.
REFUSED_V4 = [
    ("0.1.2.3", "this network"),
    ("10.20.30.40", "private-use"),
    ("100.64.0.1", "shared address space"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link-local"),
    ("172.16.0.1", "private-use"),
    ("172.31.255.255", "private-use"),
    ("192.0.0.8", "IETF protocol assignments"),  # the IPv4 dummy address
    ("192.0.0.9", "IETF protocol assignments"),  # PCP anycast
    ("192.0.0.170", "IETF protocol assignments"),  # NAT64 discovery
    ("192.0.2.10", "documentation"),
    ("192.31.196.1", "AS112"),
    ("192.52.193.1", "AMT"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.1.1", "private-use"),
    ("192.175.48.1", "AS112"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
]
REFUSED_V6 = [
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),  # mapped at all: a socket would reach IPv4 by it
    ("::127.0.0.1", "IPv4-compatible"),
    ("::a9fe:a9fe", "IPv4-compatible"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::c0a8:101", "NAT64 of 192.168.1.1"),
    ("64:ff9b:1::a9fe:a9fe", "local-use NAT64"),
    ("100::1", "discard-only"),
    ("100:0:0:1::1", "dummy IPv6 prefix"),
    ("2001::1", "Teredo"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:1::1", "IETF protocol assignments"),
    ("2001:2::1", "IETF protocol assignments"),
    ("2001:3::1", "IETF protocol assignments"),
    ("2001:4:112::1", "IETF protocol assignments"),
    ("2001:10::1", "IETF protocol assignments"),
    ("2001:20::1", "IETF protocol assignments"),
    ("2001:30::1", "IETF protocol assignments"),
    ("2001:db8::1", "documentation"),
    ("2002:a9fe:a9fe::", "6to4"),
    ("2002:808:808::1", "6to4"),
    ("2620:4f:8000::1", "AS112"),
    ("3fff::1", "documentation"),
    ("5f00::1", "SRv6"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("4000::1", "outside IPv6 global unicast"),
    ("1::1", "outside IPv6 global unicast"),
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "192.0.1.1",  # next to 192.0.0.0/24, outside it
    "198.20.0.1",  # next to 198.18.0.0/15
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "64:ff9b::808:808",  # NAT64 of a public address: what DNS64 hands out
]


@pytest.mark.parametrize(("text", "named"), REFUSED_V4 + REFUSED_V6)
def test_every_special_purpose_range_is_refused(text: str, named: str) -> None:
    """An address inside a special-purpose range is refused, and the refusal names the range."""
    reason = refusal(ipaddress.ip_address(text))
    assert reason is not None, text
    assert named in reason


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text: str) -> None:
    """A public unicast address, or NAT64 of one, is allowed."""
    assert refusal(ipaddress.ip_address(text)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://[64:ff9b::a9fe:a9fe]/jwks",
        "https://[2002:a9fe:a9fe::]/jwks",
        "https://[::127.0.0.1]/jwks",
        "https://192.0.0.8/jwks",
        "https://[::ffff:169.254.169.254]/jwks",
        "https://[2001::a9fe:a9fe]/jwks",
    ],
)
def test_the_urls_that_slipped_through_are_refused(url: str) -> None:
    """The literal addresses the attacker used, and their kin, are unsafe_url at once."""
    with pytest.raises(UnsafeUrl) as refused:
        check_url(url, allow_private=False)
    assert "not a public address" in refused.value.message


def test_private_urls_pass_when_the_operator_allows_them() -> None:
    """PLAUDIT_ALLOW_PRIVATE_URLS lets tests and on-premises setups reach loopback and http."""
    assert check_url("http://127.0.0.1:8080/jwks", allow_private=True)
    assert check_url("http://[::1]:8080/jwks", allow_private=True)


def test_the_form_of_a_url_is_checked_without_resolving_it() -> None:
    """resolve_host=False still refuses http, credentials and refused literals."""
    for url in ("http://example.com/", "https://u:p@example.com/", "https://10.0.0.1/"):
        with pytest.raises(UnsafeUrl):
            check_url(url, allow_private=False, resolve_host=False)
    assert check_url("https://jwks.tenant.test/", allow_private=False, resolve_host=False)
