"""The console's stylesheet and its one small script, from the package (no build step)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import Response

from plaudit.errors import NotFound

from ..web import PREFIX, ConsoleRoute

router = APIRouter(route_class=ConsoleRoute)
ASSETS = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


@cache
def asset(name: str) -> tuple[bytes, str]:
    body = resources.files("plaudit.console").joinpath("static", name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@router.get(PREFIX + "/static/{name}", include_in_schema=False)
async def static(request: Request, name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("No such console file.")
    body, etag = asset(name)
    # Revalidated each time (cheap, by ETag) so that an upgrade's stylesheet shows at once.
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ASSETS[name], headers=headers)
