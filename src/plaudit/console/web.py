"""What every console page shares: the route class that guards it, templates, forms, headers.

``ConsoleRoute`` wraps each console handler so that nothing can be forgotten page by page:
it resolves the session (or redirects to sign-in), checks the CSRF token of every POST before
the handler runs, turns the service's errors into an HTML page with the API's own message and
hint, and sets the security headers on every answer.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import Depends
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from plaudit.access.principal import Principal
from plaudit.access.session import acting, in_session
from plaudit.access.state import AppState, get_state
from plaudit.auth.errors import AuthError
from plaudit.auth.profiles import PROFILES
from plaudit.errors import (
    InvalidInput,
    ServerMisconfigured,
    ServiceError,
    describe_validation_error,
)
from plaudit.products import service as products
from plaudit.products.models import Product
from plaudit.store.crypto import MasterKeyError

from . import session as sessions
from .errors import CsrfFailed

log = structlog.get_logger("plaudit.console")

PREFIX = "/console"
SIGN_IN = PREFIX + "/sign-in"
#: Paths answered without a session (everything else redirects to sign-in).
PUBLIC_PATHS = frozenset({SIGN_IN, PREFIX + "/static/{name}"})
CSRF_FIELD = "csrf_token"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ConsoleContext:
    """The signed-in principal of this request and its session's form token."""

    principal: Principal
    csrf: str

    @property
    def is_operator(self) -> bool:
        return self.principal.is_operator


def console_context(request: Request) -> ConsoleContext:
    context: ConsoleContext = request.state.console
    return context


Console = Annotated[ConsoleContext, Depends(console_context)]


# --- templates ------------------------------------------------------------------------------


def _when(value: str | dt.datetime | None) -> str:
    if value is None:
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@cache
def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("plaudit.console", "templates"),
        autoescape=True,  # every value is escaped; nothing is marked safe by hand
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["pretty_json"] = _pretty_json
    env.filters["pairs"] = lambda values: [(v, v) for v in values]
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    env.globals["prefix"] = PREFIX
    env.globals["profile_options"] = lambda: [
        (p.name, f"{p.name}: {p.title}") for p in PROFILES.values()
    ]
    env.globals["csrf_field"] = CSRF_FIELD
    return env


#: Where the error summary names a field: the macros write the marker, ``render`` the label.
FIELD_LABEL = re.compile(r"<!--field-label:([A-Za-z0-9_.-]+)-->")


def _field_label(field_id: str, labels: Mapping[str, str]) -> str:
    # A field the form does not show (an API field with no box of its own): its name, readable.
    found = labels.get(field_id) or field_id.rsplit("-", 1)[-1].replace("_", " ").capitalize()
    return html.escape(found)


def render(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    console: ConsoleContext | None = getattr(request.state, "console", None)
    # Filled by the form macros as the page renders (field id -> label), read by the summary.
    labels: dict[str, str] = {}
    page = (
        templates()
        .get_template(name)
        .render(
            console=console,
            path=request.url.path,
            query=request.query_params,
            field_labels=labels,
            **context,
        )
    )
    # Autoescaping turns every "<" of a value into "&lt;": only a template can write the marker.
    page = FIELD_LABEL.sub(lambda found: _field_label(found.group(1), labels), page)
    return HTMLResponse(page, status_code=status)


def redirect(path: str, **query: str) -> RedirectResponse:
    """303 See Other: after a successful POST, the browser GETs the page again (no resubmit)."""
    target = path + ("?" + urlencode(query) if query else "")
    return RedirectResponse(target, status_code=303)


# --- forms ----------------------------------------------------------------------------------


class FormErrors(Exception):
    """A form's fields refused, each with the API's message; the page shows them beside it."""

    def __init__(self, errors: Mapping[str, str], summary: str | None = None) -> None:
        self.errors = dict(errors)
        self.summary = summary
        super().__init__(summary or "; ".join(f"{k}: {v}" for k, v in errors.items()))


def validate(model: type[BaseModel], data: Mapping[str, Any]) -> Any:
    """``model`` validated from ``data``, or FormErrors in the API's own words."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field, message = describe_validation_error(error)
            # A list item's error ("required_claims.0") belongs to the list's field.
            name = (field or "").split(".")[0] or "_form"
            errors.setdefault(name, message)
        raise FormErrors(errors) from None


def service_form_errors(exc: ServiceError | AuthError, default_field: str = "_form") -> FormErrors:
    """A service's refusal shown beside the field it names (or atop the form)."""
    field = getattr(exc, "field", None) or default_field
    message = exc.message + (f" {exc.hint}" if exc.hint else "")
    return FormErrors({field: message})


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    """A text field where empty means "not set" (null in the API)."""
    value = text(form, name).strip()
    return value or None


def lines(form: FormData, name: str) -> list[str]:
    """A textarea with one item a line, blank lines ignored."""
    return [line.strip() for line in text(form, name).splitlines() if line.strip()]


def checked(form: FormData, name: str) -> bool:
    return form.get(name) is not None


def row_id(form: FormData, name: str) -> int:
    """A row's numeric id from a hidden field, in the range the API's path takes."""
    value = text(form, name).strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 2**31 - 1:
        raise InvalidInput(f"{name}: not a row id.")
    return int(value)


# --- products -------------------------------------------------------------------------------


def product_of(session: Session, context: ConsoleContext, product_id: str) -> Product:
    """The product, if this principal may see it: another product does not exist for an API key
    (the management API's own rule, ``Principal.check_product``)."""
    context.principal.check_product(product_id)
    return products.get_product(session, product_id)


async def product_page(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    template: str,
    rows: Callable[[Session, Product], dict[str, Any]],
    notices: Mapping[str, str],
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """One product tab that lists rows: the product's settings and ``rows(session, product)``
    read in one transaction, with the notice the redirect that led here named (``?notice=``)."""

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        return {"product": products.product_settings(product), **rows(session, product)}

    data = await in_session(request, work)
    notice = notices.get(request.query_params.get("notice", ""))
    return render(request, template, status=status, notice=notice, **context, **data)


async def remove_row(
    request: Request,
    console: ConsoleContext,
    product_id: str,
    page: str,
    remove: Callable[[Session, Product, int], object],
) -> RedirectResponse:
    """A row's Remove button: the row id the form names, removed within the product (whose
    verification it changes), then back to ``page`` with the notice ``removed``."""
    item_id = row_id(await request.form(), "id")
    await in_session(
        request,
        lambda s, _: remove(s, product_of(s, console, product_id), item_id),
        changes=product_id,
    )
    return redirect(page.format(product_id=product_id), notice="removed")


# --- the route class ------------------------------------------------------------------------


def limiter(request: Request) -> sessions.SignInLimiter:
    """This process's sign-in limiter, made on first use (see SignInLimiter for why in-process)."""
    found: sessions.SignInLimiter | None = getattr(request.app.state, "console_limiter", None)
    if found is None:
        found = request.app.state.console_limiter = sessions.SignInLimiter()
    return found


def client_address(request: Request) -> str:
    # The peer uvicorn reports; behind a proxy, run uvicorn with --forwarded-allow-ips so that
    # this is the visitor and not the proxy (docs/console.md).
    return request.client.host if request.client else "unknown"


def _next_path(request: Request) -> str:
    path = request.url.path
    return path + ("?" + request.url.query if request.url.query else "")


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        public = self.path in PUBLIC_PATHS

        async def guarded(request: Request) -> Response:
            try:
                response = await self._guarded(request, handler, public)
            except (ServiceError, AuthError) as exc:
                response = error_page(request, exc)
            except DataError:
                response = error_page(
                    request,
                    InvalidInput(
                        "A value cannot be stored (a NUL character, or a number out of range)."
                    ),
                )
            except RequestValidationError as exc:
                field, message = describe_validation_error(exc.errors()[0] if exc.errors() else {})
                response = error_page(
                    request, InvalidInput(f"{field}: {message}" if field else message)
                )
            except MasterKeyError:
                log.error("master_key_mismatch")
                response = error_page(request, ServerMisconfigured())
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return guarded

    async def _guarded(
        self, request: Request, handler: Callable[[Request], Awaitable[Response]], public: bool
    ) -> Response:
        if not public:
            cookie = request.cookies.get(sessions.COOKIE, "")
            state = get_state(request)
            principal = (
                await in_session(
                    request,
                    lambda s, st: sessions.load_session(
                        s, cookie, settings=st.settings, now=st.now()
                    ),
                )
                if cookie
                else None
            )
            if principal is None:
                response = redirect(
                    SIGN_IN, next=_next_path(request) if request.method == "GET" else PREFIX
                )
                if cookie:  # an ended session: forget its cookie
                    sessions.clear_cookie(
                        response,
                        sessions.COOKIE,
                        secure=sessions.secure_cookies(request, state.settings),
                    )
                return response
            request.state.console = ConsoleContext(
                principal=principal, csrf=sessions.csrf_token(cookie)
            )
            acting(request, principal, via="console", session_ref=sessions.reference(cookie))
        if request.method == "POST":
            form = await request.form()
            if public:  # the sign-in form: no session yet, so the double-submitted cookie
                expected = request.cookies.get(sessions.SIGN_IN_COOKIE)
            else:
                expected = console_context(request).csrf
            presented = form.get(CSRF_FIELD)
            if not sessions.tokens_match(
                presented if isinstance(presented, str) else None, expected
            ):
                raise CsrfFailed()
        return await handler(request)


def error_page(request: Request, exc: ServiceError | AuthError) -> HTMLResponse:
    status = exc.status
    if status >= 500:
        log.error("console_error", code=exc.code)
    return render(
        request,
        "error.html",
        status=status,
        code=exc.code,
        message=exc.message,
        hint=exc.hint,
        title={
            401: "Not signed in",
            403: "Refused",
            404: "Not found",
            429: "Too many attempts",
        }.get(status, "Something went wrong" if status >= 500 else "Cannot do that"),
    )
