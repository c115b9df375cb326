"""``/widget.js`` for every product, and ``/demo``: a sample host app with its own backend route.

The demo is on only when the server runs as ``plaudit demo`` (``PLAUDIT_DEMO=true``): its token
route signs a token for any user id it is given, which is exactly what a tenant's backend does
after its own sign-in, and exactly what must never be exposed outside a demo.
"""

from __future__ import annotations

import hashlib
import html
from functools import lru_cache
from importlib import resources

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse, JSONResponse, Response

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.auth import SigningKey, sign
from plaudit.errors import NotFound
from plaudit.products import hmac_secrets
from plaudit.products import repository as products

router = APIRouter(tags=["widget"])
DEMO_PRODUCT = "demo"


@lru_cache(maxsize=4)
def _asset(name: str) -> bytes:
    return resources.files("plaudit.widget").joinpath("static", name).read_bytes()


@router.get("/widget.js", summary="The embeddable widget script", response_class=Response)
async def widget_js(request: Request) -> Response:
    body = _asset("widget.js")
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    headers = {
        "Cache-Control": "public, max-age=300",
        "ETag": etag,
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


_ROOT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Plaudit</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;
color:#111827}a{color:#4f46e5}</style></head>
<body><h1>Plaudit</h1><p>Referrals, loyalty and gamification for your product.</p>
<ul><li><a href="/docs">API reference</a></li>{demo}</ul></body></html>
"""


@router.get("/", include_in_schema=False)
async def root(state: State) -> HTMLResponse:
    """Where a share link with an unknown code lands by default: a page, never an error."""
    demo = '<li><a href="/demo">Demo app</a></li>' if state.settings.demo else ""
    return HTMLResponse(_ROOT_PAGE.replace("{demo}", demo))


class DemoTokenIn(BaseModel):
    userId: str = Field(default="demo-user", min_length=1, max_length=64)  # the guide's name


@router.get("/demo", include_in_schema=False)
async def demo_page(state: State) -> HTMLResponse:
    settings = state.settings
    if not settings.demo:
        raise NotFound("The demo is off; start the server with 'plaudit demo' (make run).")
    page = (
        _asset("demo.html")
        .decode()
        .replace("{{WIDGET_SRC}}", html.escape(settings.resolved_public_url + "/widget.js"))
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline' "
            f"{settings.resolved_public_url}; connect-src 'self' {settings.resolved_public_url}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
            "X-Frame-Options": "DENY",
        },
    )


@router.post("/demo/token", include_in_schema=False)
def demo_token(body: DemoTokenIn, state: State, session: DbSession) -> JSONResponse:
    """The demo host app's own backend route: signs the way the referral widget guide shows."""
    if not state.settings.demo:
        raise NotFound("The demo is off.")
    product = products.find_product(session, DEMO_PRODUCT)
    if product is None:
        raise NotFound("The demo product is missing; run 'plaudit demo' again.")
    try:
        value, algorithm = hmac_secrets.signing_secret(session, product, box=state.box)
    except NotFound:
        raise NotFound("The demo product has no active secret.") from None
    key = SigningKey.from_secret(value, algorithm or "HS512")
    token = sign({"ProductId": DEMO_PRODUCT, "UserId": body.userId, "iat": int(state.clock())}, key)
    return JSONResponse(
        {"token": token, "product_id": DEMO_PRODUCT}, headers={"Cache-Control": "no-store"}
    )
