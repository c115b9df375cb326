"""The FastAPI application, with the client API's two busiest routes answered ahead of it.

A widget calls the client API with the same token over and over; for those calls the answer
comes from memory, and what is left to cost is the framework: FastAPI's middleware stack,
routing and dependency machinery measured 46 us of a 57 us call in-process, a plain handler
11 us (bench/http.py reports the served figures). So ``GET /v1/auth/verify`` skips the stack
and calls its handler directly, with the same error rendering as everywhere else. So does
``POST /v1/events`` (a user's single events, stored by group commit, where the framework was
most of the request's cost: bench/events.py): its handler may decline a request (answer
``None``), and FastAPI then serves it whole, its body replayed, so that every request the
handler does not take is answered exactly as before (``web/fast_body.py``). Everything else,
and the OpenAPI description of these routes too, is FastAPI's. CORS for the client API is
applied here too, so that it covers the hot paths (see ``web/cors.py``), and so are the body
limits (``limits/body.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from plaudit.limits.body import BodyLimits, is_client_path

from .cors import OriginRegistry, preflight, with_cors_headers
from .errors import response_for

log = structlog.get_logger("plaudit.web")
#: A hot route's handler: its response, or ``None`` for FastAPI to serve the request instead.
Handler = Callable[[Request], Awaitable[Response | None]]
#: A request has a body only with one of these (HTTP/1.1).
_BODY_HEADERS = frozenset((b"content-length", b"transfer-encoding"))
Observer = Callable[
    [Scope, Receive, Send, Callable[[Scope, Receive, Send], Awaitable[None]]], Awaitable[None]
]


class PlauditApp(FastAPI):
    #: (method, path) -> the handler that answers it ahead of the framework.
    hot_routes: dict[tuple[str, str], Handler]
    origins: OriginRegistry | None = None
    body_limits: BodyLimits | None = None
    #: Outermost: request ids and counts (plaudit/operations/requests.py).
    observer: Observer | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hot_routes = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.observer is not None and scope["type"] == "http":
            await self.observer(scope, receive, send, self._serve)
            return
        await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # One pass over the headers for both guards: the origin (CORS) and whether a body
        # comes (the body limits look at it only then; HTTP/1.1 has a body only with either).
        origin: bytes | None = None
        body = False
        for name, value in scope["headers"]:
            if name == b"origin":
                if origin is None:
                    origin = value
            elif name in _BODY_HEADERS:
                body = True
        if origin is not None and self.origins is not None and is_client_path(scope["path"]):
            text = origin.decode("latin-1")
            if scope["method"] == "OPTIONS":
                await preflight(scope, self.origins, send, receive)
                return
            if await self.origins.allows_fresh(text.lower()):
                send = with_cors_headers(send, text)
        if body and self.body_limits is not None:
            await self.body_limits(scope, receive, send, self._dispatch)  # see limits/body.py
            return
        await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.hot_routes.get((scope["method"], scope["path"]))
        if handler is not None:
            scope["app"] = self
            read: list[Message] = []

            async def reading() -> Message:
                message = await receive()
                read.append(message)
                return message

            request = Request(scope, reading)
            try:
                response = await handler(request)
            except Exception as exc:  # rendered exactly as FastAPI's handlers render it
                response = response_for(exc)
            if response is not None:
                await response(scope, receive, send)
                return
            if read:  # declined after reading the body: FastAPI reads it again
                receive = _replaying(read, receive)
        await super().__call__(scope, receive, send)


def _replaying(read: list[Message], receive: Receive) -> Receive:
    """``receive`` for a request whose body was read already: the messages read, then the
    connection's own (a disconnect)."""
    pending = list(read)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
