"""Every request, outermost: its id (``X-Request-ID``), and its count by route template.

It runs ahead of everything, the hot path included (``PlauditApp.observer``), so that a 413
from the body limits or a CORS preflight is counted and carries an id like any other answer.

The id: a caller's (or its proxy's) ``X-Request-ID`` when it is sane (1 to 128 characters
from ``A-Za-z0-9 . _ : - / + =``), or a new one: a random prefix per process and a counter,
unique across processes without the system call a UUID costs on every request. It is set for
the logs (``plaudit.logs.REQUEST_ID``) and echoed in the response.

With ``PLAUDIT_ACCESS_LOG`` each request is also logged as one line (method, route template,
status, duration, request id); off by default, because a log line costs the hot path more
than the request itself.

The route label is the template FastAPI matched (``/v1/products/{product_id}/events``), never
the raw path: ids in paths would give every tenant and user series of their own. A request no
route matched (a 404, a refusal before routing) is ``unmatched``; an unusual method is
``other``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog
from starlette.types import Message, Receive, Scope, Send

from plaudit import logs, metrics

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"x-request-id"
UNMATCHED = "unmatched"
_SANE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

log = structlog.get_logger("plaudit.access")


class RequestObserver:
    """Called by ``PlauditApp`` for every HTTP request, with the rest of the app as ``app``."""

    def __init__(
        self, *, hot_routes: Mapping[tuple[str, str], object], access_log: bool = False
    ) -> None:
        self._hot_routes = hot_routes
        self._access_log = access_log
        self._prefix = secrets.token_hex(4) + "-"
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        started = time.perf_counter()
        request_id = _inbound_id(scope) or self.new_id()
        echoed = (HEADER, request_id.encode())
        status = 500  # what the caller gets if the app fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        reset = logs.REQUEST_ID.set(request_id)
        try:
            await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = self._route(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            metrics.record_request(route, method, status, seconds)
            if self._access_log:
                # The template, never the raw path or query: they may carry ids or tokens.
                log.info(
                    "request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
            logs.REQUEST_ID.reset(reset)

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            path: str = route.path
            return path
        hot: str = scope["path"]
        # Answered ahead of FastAPI's routing (web/hotpath.py), whatever the method: a
        # browser's preflight of a hot route (OPTIONS) counts under that route too.
        if any(path == hot for _, path in self._hot_routes):
            return hot
        return UNMATCHED


def _inbound_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            text = value.decode("latin-1")
            return text if _SANE.fullmatch(text) else None
    return None
