"""Control characters in a path or query of the API are a 422, before any route runs.

Path segments and query values are ids (products, users, rewards, badges, codes): a NUL in one
used to be stored once on SQLite and then answered 500 on every later call, while PostgreSQL
refused it. One check here, ahead of routing, makes every route of both stores answer alike.
Share links (``/r/...``) are left alone: a person following a link always lands somewhere.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from plaudit.errors import InvalidIdentifier
from plaudit.shapes import CONTROL_CHARACTERS

from .errors import service_error_response

GUARDED_PREFIXES = ("/v1/", "/api/")


class ControlCharacterGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GUARDED_PREFIXES):
            where = _control_character_in(scope)
            if where is not None:
                part, field = where
                error = InvalidIdentifier(
                    f"The request's {part} holds a control character.", field=field
                )
                await service_error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _control_character_in(scope: Scope) -> tuple[str, str | None] | None:
    """Where the first control character is: ("path", None) or ("query parameter", name)."""
    if CONTROL_CHARACTERS.search(scope["path"]):
        return "path", None
    raw: bytes = scope.get("query_string", b"")
    if raw:
        query = raw.decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
            if CONTROL_CHARACTERS.search(name):
                return "query", None
            if CONTROL_CHARACTERS.search(value):
                return f"query parameter {name!r}", name
    return None
