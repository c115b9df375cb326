"""Every error a caller can meet becomes ``{"error", "message", "hint"}`` here, in one place."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from plaudit.auth.errors import AuthError
from plaudit.errors import (
    InternalError,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    ServerMisconfigured,
    ServiceError,
    StoreContended,
    invalid_input,
)
from plaudit.store.conflicts import contended, sqlstate
from plaudit.store.crypto import MasterKeyError

from .header_text import description_value

log = structlog.get_logger("plaudit.web")


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def auth_error_response(error: AuthError) -> JSONResponse:
    headers = None
    if error.status in (401, 403):
        # RFC 6750 section 3: the header carries the RFC's code; the body the precise one.
        headers = {
            "WWW-Authenticate": f'Bearer error="{description_value(error.rfc6750)}", '
            f'error_description="{description_value(error.message)}"'
        }
    return error_response(error.status, error.as_dict(), headers)


def service_error_response(error: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
    return error_response(error.status, error.as_dict(), headers)


def response_for(exc: Exception) -> JSONResponse:
    """The response for any exception a handler raised: the one mapping, used everywhere."""
    if isinstance(exc, HTTPException):
        return http_error_response(exc)
    if isinstance(exc, AuthError):
        return auth_error_response(exc)
    if isinstance(exc, ServiceError):
        return service_error_response(exc)
    if isinstance(exc, MasterKeyError):
        log.error("master_key_mismatch")
        return service_error_response(ServerMisconfigured())
    if isinstance(exc, OperationalError) and contended(exc):
        # Lost to another transaction over the same rows: rolled back whole, and the same
        # request may pass when sent again (a 500 said nothing of either).
        log.warning("store_contended", error_type=type(exc.orig).__name__, sqlstate=sqlstate(exc))
        return service_error_response(StoreContended(retry_after=1))
    if isinstance(exc, DataError):
        # The input reached the database but cannot be stored or compared there (PostgreSQL
        # refuses NUL characters in text, and numbers past 64 bits): the caller's problem.
        log.warning("unstorable_input", error_type=type(exc.orig).__name__)
        return service_error_response(
            InvalidInput(
                "A value in the request cannot be stored (a NUL character, or a number out of "
                "range).",
                hint="Remove control characters from ids and text, and keep numbers in range.",
            )
        )
    # Never echo the exception: it may hold a secret. The log has the type and traceback.
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return service_error_response(InternalError())


def http_error_response(exc: HTTPException) -> JSONResponse:
    """The response for the framework's own HTTP errors (a path or method it has no route
    for, a body it cannot read)."""
    if exc.status_code == 405:
        return service_error_response(MethodNotAllowed())
    if exc.status_code == 404:
        return service_error_response(NotFound("No such path.", hint="See GET /openapi.json."))
    if exc.status_code == 400:
        # A body that is not even UTF-8 JSON ends here, not as a validation error.
        return error_response(
            400,
            {
                "error": "invalid_request",
                "message": str(exc.detail),
                "hint": "Send a UTF-8 JSON object.",
            },
        )
    return error_response(
        exc.status_code,
        {"error": "http_error", "message": str(exc.detail), "hint": ""},
        getattr(exc, "headers", None),
    )


def install(app: FastAPI) -> None:
    async def on_error(_request: Request, exc: Exception) -> JSONResponse:
        return response_for(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(
            exc, RequestValidationError
        ):  # the handler is registered for this type only
            raise exc
        error = invalid_input(
            exc.errors(),
            hint="See the field named here and the API reference (GET /openapi.json).",
        )
        return service_error_response(error)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, HTTPException):  # the handler is registered for this type only
            raise exc
        return http_error_response(exc)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    # Each kind registered by name: only the bare Exception goes to Starlette's last-resort
    # handler, which re-raises after answering (a DataError is the caller's problem, a 422).
    for kind in (AuthError, ServiceError, MasterKeyError, DataError, Exception):
        app.add_exception_handler(kind, on_error)
