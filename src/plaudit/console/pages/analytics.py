"""Analytics: a product's dashboard over a period, as charts (Chart.js, served from the
package) each with its table, and the CSV exports to download."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState, get_state
from plaudit.analytics import service
from plaudit.analytics.period import period
from plaudit.errors import InvalidInput, NotFound
from plaudit.exports.routes import streamed
from plaudit.exports.tables import EXPORTS
from plaudit.exports.window import window
from plaudit.products import service as products

from ..web import PREFIX, Console, ConsoleRoute, product_of, render

router = APIRouter(route_class=ConsoleRoute)
#: The scripts the page loads: public like the console's stylesheet, no session needed.
assets = APIRouter()
BASE = PREFIX + "/products/{product_id}/analytics"
CHART_JS_VERSION = "4.6.2"
ASSETS = {
    "vendor/chartjs/chart.umd.min.js": "text/javascript; charset=utf-8",
    "vendor/chartjs/LICENSE.md": "text/plain; charset=utf-8",
    "analytics/analytics.js": "text/javascript; charset=utf-8",
}


@cache
def asset(name: str) -> tuple[bytes, str]:
    body = resources.files("plaudit.console").joinpath("static", *name.split("/")).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@assets.get(PREFIX + "/static/{folder}/{name}", include_in_schema=False)
@assets.get(PREFIX + "/static/{folder}/{library}/{name}", include_in_schema=False)
async def static(request: Request, folder: str, name: str, library: str = "") -> Response:
    path = "/".join(part for part in (folder, library, name) if part)
    if path not in ASSETS:
        raise NotFound("No such console file.")
    body, etag = asset(path)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ASSETS[path], headers=headers)


def _day(value: str, name: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: {value!r} is not a day.", field=name, hint="Write days as YYYY-MM-DD."
        ) from None


@router.get(BASE, include_in_schema=False)
async def analytics(
    request: Request,
    product_id: str,
    console: Console,
    first: str = Query("", alias="from", max_length=32),
    last: str = Query("", alias="to", max_length=32),
) -> Response:
    now = get_state(request).now()
    error: InvalidInput | None = None
    try:
        when = period(_day(first, "from"), _day(last, "to"), now=now)
    except InvalidInput as exc:
        error, when = exc, period(None, None, now=now)

    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        board = None
        if error is None:
            board = service.dashboard(session, product, when, now=state.now()).model_dump(
                mode="json", by_alias=True
            )
        return {"product": products.product_settings(product), "board": board}

    data = await in_session(request, work)
    labels = {
        "from": "From",
        "to": "To",
    }
    return render(
        request,
        "analytics.html",
        status=422 if error else 200,
        tab="analytics",
        form={"from": first or when.first.isoformat(), "to": last or when.last.isoformat()},
        errors=(
            {error.field or "from": error.message.partition(": ")[2] or error.message}
            if error
            else {}
        ),
        labels=labels,
        hint=error.hint if error else "",
        exports=[(name, export.columns) for name, export in EXPORTS.items()],
        **data,
    )


@router.get(PREFIX + "/products/{product_id}/exports/{kind}", include_in_schema=False)
async def download(
    request: Request,
    product_id: str,
    kind: str,
    console: Console,
    first: str = Query("", alias="from", max_length=32),
    last: str = Query("", alias="to", max_length=32),
) -> Response:
    """A CSV export as a download, for the signed-in principal's product."""
    export = EXPORTS.get(kind.removesuffix(".csv"))
    if export is None:
        raise NotFound("There is no such export: users, ledger or referrals.")
    span = window(_day(first, "from"), _day(last, "to"))
    allowed = await in_session(request, lambda s, _st: product_of(s, console, product_id).id)
    return streamed(get_state(request), export, allowed, span)
