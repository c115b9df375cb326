"""Reading credentials off a request: user tokens for the client API, keys for the server API."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from starlette.requests import Request

#: Where a user token may travel, in the order they are read. The last one is the referral
#: platform guide's header for its open endpoints.
USER_TOKEN_HEADERS = ("x-plaudit-user-token", "x-saasquatch-user-token")


def bearer(request: Request, *, basic: bool = True) -> str | None:
    """The credential in ``Authorization``: a Bearer token, or (``basic``) the Basic password.

    Basic auth with the API key as password (and any user name) is how the referral platform
    guide's servers call its open endpoints; a user token only ever travels as a Bearer token.
    """
    return _credential(request.headers.get("authorization"), basic=basic)


def _credential(header: str | None, *, basic: bool) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return value
    if basic and scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


#: The headers ``user_token_in`` reads, as ASGI spells them.
USER_TOKEN_FIELDS = (*(name.encode() for name in USER_TOKEN_HEADERS), b"authorization")


def user_token_in(headers: Mapping[bytes, bytes]) -> str | None:
    """The user token in headers already read: the first value of each ``USER_TOKEN_FIELDS``
    name (the client API reads all it needs in one pass over the request's headers)."""
    for name in USER_TOKEN_FIELDS[:-1]:
        value = headers.get(name)
        if value:
            return value.decode("latin-1").strip()
    authorization = headers.get(b"authorization")
    if authorization is None:
        return None
    return _credential(authorization.decode("latin-1"), basic=False)
