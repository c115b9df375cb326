"""The largest request body each route class accepts, refused with 413 before it is read.

Pure ASGI, in front of everything (the hot paths too), and before any credential is
looked at: a body announced larger than its route's limit by ``Content-Length`` is refused at
once, unread; a chunked body is counted as it streams in and refused the moment it passes the
limit, whatever the application was doing with it. The connection is then closed, so that the
unread rest is never parsed as a next request.
"""

from __future__ import annotations

import enum
import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plaudit.errors import BodyTooLarge

CONSOLE_PREFIX = "/console"
_EVENTS = re.compile(r"/v1/products/[^/]+/events/?")
_CODES = re.compile(
    r"/v1/products/[^/]+/rewards/[^/]+/codes/?|/console/products/[^/]+/programs/rewards/codes/?"
)
_KEYS = re.compile(r"/v1/products/[^/]+/(?:keys|secrets|jwks-sources)(?:/.*)?")


class RouteClass(enum.Enum):
    """Routes grouped by what their bodies carry; each has a PLAUDIT_BODY_LIMIT_*_BYTES."""

    CLIENT = "client"  # a browser's calls with a user token: one event, one profile
    EVENTS = "events"  # a tenant server's event batches (up to 1,000 events)
    KEYS = "keys"  # secrets, public keys, JWKS sources
    CONSOLE = "console"  # the console's forms
    CODES = "codes"  # a reward's code pool, uploaded as a CSV
    MANAGEMENT = "management"  # every other call

    @property
    def setting(self) -> str:
        return f"body_limit_{self.value}_bytes"


#: The client API: what a browser calls with a user token (CORS answers on these too).
CLIENT_PREFIXES = (
    "/v1/auth/",
    "/v1/events",
    "/v1/referrals/",
    "/v1/me",
    "/v1/rewards",
    "/v1/leaderboards",
    "/api/v1/",
)


def is_client_path(path: str) -> bool:
    return path.startswith(CLIENT_PREFIXES)


def route_class(path: str) -> RouteClass:
    if _CODES.fullmatch(path):
        return RouteClass.CODES
    if path.startswith(CONSOLE_PREFIX):
        return RouteClass.CONSOLE
    if _EVENTS.fullmatch(path):
        return RouteClass.EVENTS
    if _KEYS.fullmatch(path):
        return RouteClass.KEYS
    if is_client_path(path):
        return RouteClass.CLIENT
    return RouteClass.MANAGEMENT


class _Overflow(Exception):
    """Raised into the application by ``receive`` when a streamed body passed the limit."""


class BodyLimits:
    def __init__(self, settings: object) -> None:
        """``settings``: ``plaudit.settings.Settings`` (which imports this package), read for
        one body size per ``RouteClass``."""
        self.limits = {kind: int(getattr(settings, kind.setting)) for kind in RouteClass}

    def limit_for(self, path: str) -> int:
        return self.limits[route_class(path)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is None and not chunked:  # no body (HTTP/1.1 has one only with either)
            await app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        if length is not None and not chunked:
            try:
                announced = int(length)
            except ValueError:
                announced = None
            if announced is not None:
                if announced > limit:
                    await _refuse(scope, send, limit, f"{announced} bytes")
                    return
                # The server delivers no more than Content-Length: nothing left to count.
                await app(scope, receive, send)
                return
        await _counted(scope, receive, send, app, limit)


async def _counted(scope: Scope, receive: Receive, send: Send, app: ASGIApp, limit: int) -> None:
    received = 0
    overflow = False
    started = False

    async def counting_receive() -> Message:
        nonlocal received, overflow
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                overflow = True
                raise _Overflow
        return message

    async def guarded_send(message: Message) -> None:
        nonlocal started
        if overflow:
            return  # the application's answer to a body it could not finish reading
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, counting_receive, guarded_send)
    except Exception:
        if not overflow:
            raise
    if overflow and not started:
        await _refuse(scope, send, limit, "more than that")


async def _refuse(scope: Scope, send: Send, limit: int, size: str) -> None:
    error = BodyTooLarge(
        f"{scope['method']} {scope['path']} takes a body of at most {limit} bytes; "
        f"this one is {size}."
    )
    body = json.dumps(error.as_dict()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
