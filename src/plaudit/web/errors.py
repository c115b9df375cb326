"""Every error a caller can meet becomes ``{"error", "message", "hint"}`` here, in one place."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from plaudit.auth.errors import AuthError
from plaudit.errors import ServiceError
from plaudit.store.crypto import MasterKeyError

log = structlog.get_logger("plaudit.web")


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def auth_error_response(error: AuthError) -> JSONResponse:
    headers = None
    if error.status in (401, 403):
        # RFC 6750 section 3: the header carries the RFC's code; the body the precise one.
        description = error.message.replace("\\", "").replace('"', "'")
        headers = {
            "WWW-Authenticate": f'Bearer error="{error.rfc6750}", '
            f'error_description="{description[:200]}"'
        }
    return error_response(error.status, error.as_dict(), headers)


def service_error_response(error: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return error_response(error.status, error.as_dict(), headers)


def internal_error_response(exc: Exception) -> JSONResponse:
    # Never echo the exception: it may hold a secret. The log has the type and traceback.
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return error_response(
        500,
        {
            "error": "internal_error",
            "message": "Something went wrong on Plaudit's side.",
            "hint": "Retry; if it persists, the operator's logs say why.",
        },
    )


def install(app: FastAPI) -> None:
    async def on_auth_error(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, AuthError):  # the handler is registered for this type only
            raise exc
        return auth_error_response(exc)

    async def on_service_error(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, ServiceError):  # the handler is registered for this type only
            raise exc
        return service_error_response(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(
            exc, RequestValidationError
        ):  # the handler is registered for this type only
            raise exc
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(location) or None
        kind = first.get("type", "")
        message = (
            "Unknown field."
            if kind == "extra_forbidden"
            else str(first.get("msg", "The request is not valid."))
        )
        body = {
            "error": "invalid_request",
            "message": f"{field}: {message}" if field else message,
            "hint": "See the field named here and the API reference (GET /openapi.json).",
        }
        if field:
            body["field"] = field
        return error_response(422, body)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, HTTPException):  # the handler is registered for this type only
            raise exc
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            exc.status_code,
            {"error": code, "message": str(exc.detail), "hint": ""},
            getattr(exc, "headers", None),
        )

    async def on_master_key(_request: Request, exc: Exception) -> JSONResponse:
        log.error("master_key_mismatch")
        return error_response(
            500,
            {
                "error": "server_misconfigured",
                "message": "The server cannot read its stored secrets.",
                "hint": "The operator must check PLAUDIT_MASTER_KEY.",
            },
        )

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return internal_error_response(exc)

    app.add_exception_handler(AuthError, on_auth_error)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(MasterKeyError, on_master_key)
    app.add_exception_handler(Exception, on_unexpected)
