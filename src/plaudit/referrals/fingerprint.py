"""Who a signup or a click came from, kept only as keyed digests.

A client address or a device id is personal data and, on its own, guessable (there are only
four billion IPv4 addresses): a plain hash would be reversed by trying them all. So each is an
HMAC under a key derived from the newest master key, per product, so that one tenant's digests
never match another's. Two digests are equal exactly when the values were; nothing more can be
read from them. Emails are compared when given and never stored.
"""

from __future__ import annotations

import hashlib
import hmac

from plaudit.limits.address import bucket

#: The first-party cookie /r/{code} sets: a random id for the browser, nothing else.
DEVICE_COOKIE = "plaudit_device"
DEVICE_COOKIE_DAYS = 365

# Providers that deliver "name+tag@" to "name@"; Gmail also ignores dots in the local part.
_PLUS_TAGS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
    }
)
_DOTLESS = frozenset({"gmail.com", "googlemail.com"})


def fingerprint_key(master_keys: str) -> bytes:
    """The digests' key, derived from the newest master key (privacy/subject.py does the same
    for its own purpose, under another label)."""
    newest = next((k.strip() for k in master_keys.split(",") if k.strip()), "")
    return hmac.new(newest.encode(), b"plaudit referral fingerprint", hashlib.sha256).digest()


def digest(key: bytes, product_id: str, kind: str, value: str) -> str:
    message = b"\x00".join((product_id.encode(), kind.encode(), value.encode()))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def address_digest(key: bytes, product_id: str, address: str) -> str:
    """An address as it is counted everywhere else (an IPv6 client as its /64)."""
    return digest(key, product_id, "address", bucket(address))


def device_digest(key: bytes, product_id: str, device: str) -> str:
    return digest(key, product_id, "device", device)


def normalise_email(email: str) -> str:
    """The mailbox an address delivers to: lower case; where the provider ignores them, the
    +tag and (Gmail) the dots of the local part left out; googlemail.com is gmail.com."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    domain = domain.rstrip(".")
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2].rstrip(".")
