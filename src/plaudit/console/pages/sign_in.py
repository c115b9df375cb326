"""Sign-in with the admin token or a product API key, and sign-out."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.principal import Principal, authenticate
from plaudit.access.session import in_session
from plaudit.access.state import AppState, get_state

from .. import session as sessions
from ..errors import SignInFailed, SignInThrottled
from ..web import (
    PREFIX,
    SIGN_IN,
    Console,
    ConsoleRoute,
    client_address,
    limiter,
    redirect,
    render,
    text,
)

router = APIRouter(route_class=ConsoleRoute)


def _safe_next(value: str | None) -> str:
    """Only a console path: an open redirect would send a fresh session's user anywhere."""
    if (
        value
        and value.startswith(PREFIX + "/")
        and not value.startswith("//")
        and "\\" not in value
    ):
        return value
    return PREFIX + "/products"


def _sign_in_page(
    request: Request, *, status: int = 200, error: Exception | None = None, retry: int | None = None
) -> Response:
    state = get_state(request)
    token = request.cookies.get(sessions.SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        status=status,
        sign_in_token=token,
        next=_safe_next(request.query_params.get("next")),
        error=error,
        retry=retry,
        ended=request.query_params.get("signed_out") == "1",
    )
    sessions.set_cookie(
        response,
        sessions.SIGN_IN_COOKIE,
        token,
        secure=sessions.secure_cookies(request, state.settings),
        max_age=sessions.SIGN_IN_COOKIE_SECONDS,
    )
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


@router.get(PREFIX, include_in_schema=False)
async def home() -> Response:
    return redirect(PREFIX + "/products")


@router.get(SIGN_IN, include_in_schema=False)
async def sign_in_page(request: Request) -> Response:
    return _sign_in_page(request)


@router.post(SIGN_IN, include_in_schema=False)
async def sign_in(request: Request) -> Response:
    state = get_state(request)
    address = client_address(request)
    limits = limiter(request)
    retry = limits.retry_after(address, state.clock())
    if retry is not None:
        return _sign_in_page(
            request,
            status=SignInThrottled.status,
            error=SignInThrottled(
                f"Too many failed sign-ins from this address; try again in {retry} seconds."
            ),
            retry=retry,
        )
    form = await request.form()
    presented = text(form, "credential").strip()

    def work(session: Session, st: AppState) -> tuple[Principal, str] | None:
        principal = authenticate(session, st.settings, presented) if presented else None
        if principal is None:
            return None
        return principal, sessions.open_session(
            session, principal, settings=st.settings, now=st.now()
        )

    opened = await in_session(request, work)
    if opened is None:
        limits.failed(address, state.clock())
        return _sign_in_page(request, status=SignInFailed.status, error=SignInFailed())
    limits.succeeded(address)
    principal, cookie = opened
    target = _safe_next(text(form, "next"))
    if principal.product_id is not None and target == PREFIX + "/products":
        target = f"{PREFIX}/products/{principal.product_id}"
    response = redirect(target)
    secure = sessions.secure_cookies(request, state.settings)
    sessions.set_cookie(response, sessions.COOKIE, cookie, secure=secure)
    sessions.clear_cookie(response, sessions.SIGN_IN_COOKIE, secure=secure)
    return response


@router.post(PREFIX + "/sign-out", include_in_schema=False)
async def sign_out(request: Request, _console: Console) -> Response:
    state = get_state(request)
    cookie = request.cookies.get(sessions.COOKIE, "")
    await in_session(request, lambda s, _: sessions.close_session(s, cookie))
    response = redirect(SIGN_IN, signed_out="1")
    sessions.clear_cookie(
        response, sessions.COOKIE, secure=sessions.secure_cookies(request, state.settings)
    )
    return response
