"""CORS for the client API: a browser may call it only from a product's ``allowed_origins``.

Two layers. Here, at the edge: a preflight is answered for any origin some product allows (a
preflight carries no token, so it cannot say which product it is for), and responses carry
``Access-Control-Allow-Origin`` only for such origins. Then, per product, in
``users/client.py``: a request whose ``Origin`` is not among *its* product's origins is refused
with ``origin_not_allowed``. Plaudit's own origin (its demo page, its console) always passes.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from plaudit.products.models import Product
from plaudit.store.db import Database

#: The client API: what a browser calls with a user token.
CLIENT_PREFIXES = (
    "/v1/auth/",
    "/v1/events",
    "/v1/referrals/",
    "/v1/me",
    "/v1/rewards",
    "/v1/leaderboards",
    "/api/v1/",
)
ALLOWED_HEADERS = (
    "authorization, content-type, x-plaudit-product, x-plaudit-user-token, x-saasquatch-user-token"
)
STALE_SECONDS = 1.0


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class OriginRegistry:
    """Every origin some product allows, re-read from the store when it may have changed."""

    def __init__(self, db: Database, *, own_origin: str, refresh_seconds: float) -> None:
        self._db = db
        self.own_origin = own_origin
        self._refresh_seconds = refresh_seconds
        self._origins: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    def allows(self, origin: str) -> bool:
        return origin == self.own_origin or origin in self._origins

    def refresh(self) -> None:
        with self._db.session() as session:
            found: set[str] = set()
            for origins in session.scalars(select(Product.allowed_origins)):
                found.update(o.lower() for o in origins or ())
        self._origins = frozenset(found)
        self._loaded_at = time.monotonic()

    async def allows_fresh(self, origin: str) -> bool:
        """``allows``, re-reading the store first if the answer is no and may be stale."""
        if self.allows(origin):
            return True
        if time.monotonic() - self._loaded_at > STALE_SECONDS:
            await run_in_threadpool(self.refresh)
        return self.allows(origin)

    def invalidate(self) -> None:
        """Forget what was read: the next origin not already allowed re-reads the store."""
        self._loaded_at = float("-inf")

    def is_stale(self) -> bool:
        return time.monotonic() - self._loaded_at > self._refresh_seconds


def is_client_path(path: str) -> bool:
    return path.startswith(CLIENT_PREFIXES)


async def preflight(scope: Scope, registry: OriginRegistry, send: Send, receive: Receive) -> None:
    origin = Headers(scope=scope).get("origin", "")
    if origin and await registry.allows_fresh(origin.lower()):
        response = Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            },
        )
    else:
        response = Response(status_code=403, headers={"Vary": "Origin"})
    await response(scope, receive, send)


def with_cors_headers(send: Send, origin: str) -> Send:
    """Wrap ``send`` so the response start carries the CORS headers for ``origin``."""

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
            headers.add_vary_header("Origin")
        await send(message)

    return sender
