"""``GET /v1/auth/verify``: the gamification guide's test endpoint, and the client API's hot path.

A repeated token is answered from the product's verifier cache: no database, no thread hop, and
the JSON written directly rather than through a response model (measured in bench/http.py).
"""

from __future__ import annotations

import datetime as dt
import json

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from plaudit.products.verification import get_verification
from plaudit.users.client import authenticate_user

router = APIRouter(tags=["client"])


class VerifiedUser(BaseModel):
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    locale: str | None = None
    account_id: str | None = None
    referral_code: str | None = None


class VerifyResponse(BaseModel):
    product: str
    user: VerifiedUser
    scopes: list[str]
    expires_at: dt.datetime | None = Field(description="When the token stops being accepted.")
    key_id: str = Field(description="The kid of the key or secret that verified it.")


@router.get(
    "/v1/auth/verify",
    response_model=VerifyResponse,
    summary="Verify the user token and say who it names",
    responses={
        401: {"description": "The token was refused; see `error`."},
        403: {"description": "insufficient_permissions"},
    },
)
async def verify(request: Request) -> Response:
    context = await authenticate_user(request)
    verified = context.verified
    bodies = get_verification(request).verify_bodies
    memo = bodies.get(context.token)
    if memo is not None and memo[0] is verified:
        # The same cached verification: the same answer, already rendered.
        return _Rendered(memo[1], memo[2])
    content = json.dumps(
        {
            "product": context.product_id,
            "user": {"id": verified.user_id, **verified.profile},
            "scopes": sorted(verified.scopes),
            "expires_at": _iso(verified.expires_at),
            "key_id": verified.key_id,
        },
        separators=(",", ":"),
    ).encode()
    length = str(len(content)).encode()
    bodies.put(context.token, (verified, content, length))
    return _Rendered(content, length)


class _Rendered(Response):
    """A rendered JSON body, its headers written out directly (what ``Response`` would send
    for it, without building them through ``MutableHeaders`` on every call)."""

    def __init__(self, content: bytes, length: bytes) -> None:
        self.status_code = 200
        self.background = None
        self.body = content
        # A new list each time: a CORS wrapper appends to the response's headers.
        self.raw_headers = [
            (b"cache-control", b"no-store"),
            (b"content-length", length),
            (b"content-type", b"application/json"),
        ]


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None
