"""The OpenAPI document, completed: the error body every operation can answer, and how to
authenticate. FastAPI describes the successes from the routes; this adds what is common to all.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message", "hint"],
    "properties": {
        "error": {"type": "string", "description": "A stable code: see docs/errors.md."},
        "message": {"type": "string", "description": "What went wrong with this request."},
        "hint": {"type": "string", "description": "How to fix it."},
        "field": {"type": "string", "description": "The request field at fault, for 422s."},
    },
}
ERRORS = {
    "401": "The credentials (user token, admin token or API key) were refused.",
    "403": "The credentials may not make this call (insufficient_permissions, "
    "origin_not_allowed, forbidden).",
    "404": "Not found, or not visible to these credentials.",
    "409": "A conflict with what exists (a kid taken, a user referred already).",
    "413": "The body is larger than this route class accepts (body_too_large); not read.",
    "422": "The request body or a parameter is not valid; `field` names it.",
    "429": "A rate limit refused the call (too_many_*); `Retry-After` says when to retry.",
    "500": "Plaudit's side failed (internal_error, server_misconfigured).",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the call may succeed again.",
        "schema": {"type": "integer"},
    }
}
SECURITY_SCHEMES = {
    "management": {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's admin token, or the product's API key (pk_...).",
    },
    "userToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The user token your backend signed. Also accepted in the "
        "X-Plaudit-User-Token or X-SaaSquatch-User-Token header.",
    },
}
_CLIENT_TAGS = {"client"}
_PUBLIC_PATHS = {"/healthz", "/readyz", "/widget.js", "/r/{code}"}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            complete(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def complete(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path in _PUBLIC_PATHS:
                responses.setdefault("500", {"description": ERRORS["500"], "content": error_ref})
                continue
            for status, description in ERRORS.items():
                entry = responses.setdefault(status, {"description": description})
                entry["content"] = error_ref
            responses["429"]["headers"] = RETRY_AFTER
            tags = set(operation.get("tags", ()))
            operation["security"] = (
                [{"userToken": []}]
                if tags & _CLIENT_TAGS and not path.startswith("/api/v1/")
                else [{"management": []}]
                if not path.startswith("/api/v1/")
                else [{"userToken": []}, {"management": []}]
            )
