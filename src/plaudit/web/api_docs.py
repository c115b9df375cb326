"""``GET /docs``: Swagger UI over ``/openapi.json``, served from the package (swagger_ui/README.md).

FastAPI's own page loads Swagger UI from a CDN with no integrity pin, on the console's origin:
whoever controls that file could act as any signed-in console user. Here every file comes from
Plaudit, each script tag carries its digest (``integrity``), and the page's Content-Security-
Policy allows scripts from this origin only. ReDoc is not served (FastAPI's ``/redoc`` would
load it from a CDN too); ``/openapi.json`` feeds any other viewer.
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import cache
from importlib import resources

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, Response

from plaudit.errors import NotFound

DOCS = "/docs"
ASSETS = DOCS + "/assets/{name}"
FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
}
# Swagger UI sets style attributes from script (hence 'unsafe-inline' for styles only); its
# "Try it out" calls this origin. Nothing else is allowed: no other host, no inline script.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# The one script of our own: starts Swagger UI (no inline script, so the CSP can forbid them).
# validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
START = b"""// Starts Swagger UI over this server's OpenAPI document.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
"""


@cache
def asset(name: str) -> tuple[bytes, str, str]:
    """The file's bytes, its ETag, and its Subresource Integrity digest (sha384)."""
    if name == "docs.js":
        body = START
    else:
        body = resources.files("plaudit.web").joinpath("swagger_ui", name).read_bytes()
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"', integrity


def page(title: str) -> str:
    def src(name: str) -> tuple[str, str]:
        return f"{DOCS}/assets/{name}", asset(name)[2]

    css, css_sri = src("swagger-ui.css")
    bundle, bundle_sri = src("swagger-ui-bundle.js")
    start, start_sri = src("docs.js")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)} API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}" integrity="{css_sri}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{bundle}" integrity="{bundle_sri}"></script>
<script src="{start}" integrity="{start_sri}"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and its files (create the app with ``docs_url=None, redoc_url=None``)."""

    @app.get(DOCS, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page(app.title), headers={**HEADERS, "Cache-Control": "no-cache"})

    @app.get(ASSETS, include_in_schema=False)
    async def docs_asset(request: Request, name: str) -> Response:
        if name not in FILES:
            raise NotFound("No such file of the API reference.")
        body, etag, _integrity = asset(name)
        # Revalidated each time (cheap, by ETag) so that an upgrade's files show at once.
        headers = {**HEADERS, "ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=FILES[name], headers=headers)
