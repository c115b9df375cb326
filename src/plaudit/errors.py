"""Errors of the service around the token core, each with a stable code like the core's own.

Token and key failures live in ``plaudit.auth.errors``; these are the rest a caller can meet:
a missing or wrong credential for the management API, something not found, a conflict, bad
input. The web layer turns both trees into ``{"error", "message", "hint"}`` in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class ServiceError(Exception):
    code: ClassVar[str] = "service_error"
    status: ClassVar[int] = 400
    description: ClassVar[str] = "The request could not be served."
    hint: ClassVar[str] = ""

    def __init__(
        self, message: str | None = None, *, hint: str | None = None, field: str | None = None
    ) -> None:
        self.message = message or self.description
        self.field = field
        if hint is not None:
            self.hint = hint  # type: ignore[misc]  # an instance may sharpen the class hint
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        body = {"error": self.code, "message": self.message, "hint": self.hint}
        if self.field:
            body["field"] = self.field
        return body


class Unauthenticated(ServiceError):
    code = "unauthenticated"
    status = 401
    description = "This call needs the operator's admin token or the product's API key."
    hint = "Send 'Authorization: Bearer <admin token or API key>'."


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403
    description = "These credentials may not make this call."
    hint = (
        "Product API keys manage their own product only; creating products needs the admin token."
    )


class UnknownProduct(ServiceError):
    code = "unknown_product"
    status = 401
    description = "The request names no product Plaudit knows."
    hint = (
        "Name the product with the 'X-Plaudit-Product' header or in the path, or sign tokens "
        "whose product claim (ProductId, aud) is the product's id."
    )


class OriginNotAllowed(ServiceError):
    code = "origin_not_allowed"
    status = 403
    description = "This product does not accept browser calls from this page's origin."
    hint = (
        "Add the page's origin (scheme, host and port, e.g. https://app.example.com) to the "
        "product's allowed_origins."
    )


class NotFound(ServiceError):
    code = "not_found"
    status = 404
    description = "Nothing was found there."


class Conflict(ServiceError):
    code = "conflict"
    status = 409
    description = "That already exists."


class InvalidInput(ServiceError):
    code = "invalid_request"
    status = 422
    description = "The request body is not valid."
    hint = "See the field named in this error and the API reference (GET /openapi.json)."


class InvalidIdentifier(InvalidInput):
    code = "invalid_identifier"
    description = (
        "An identifier (a user id, event id, code, email or path id) holds a control character."
    )
    hint = (
        "Remove control characters (U+0000-U+001F, U+007F-U+009F) from ids, codes and emails; "
        "they are refused alike on every store."
    )


#: The pydantic error type of ``plaudit.shapes.Identifier``: answered as invalid_identifier.
CONTROL_CHARACTER_ERROR = "control_character"


#: Parts of a pydantic error location that say where in the request, not which field.
REQUEST_PARTS = ("body", "query", "path")


def describe_validation_error(
    error: Mapping[str, Any], *, skip: Sequence[str] = REQUEST_PARTS
) -> tuple[str | None, str]:
    """The field a pydantic error concerns and its message, as the API words them: the CLI
    and the console's forms show these very words."""
    field = ".".join(str(p) for p in error.get("loc", ()) if p not in skip) or None
    message = (
        "Unknown field."
        if error.get("type") == "extra_forbidden"
        else str(error.get("msg", "The request is not valid."))
    )
    return field, message


def invalid_input(errors: Sequence[Mapping[str, Any]], *, hint: str | None = None) -> InvalidInput:
    """The first of pydantic's errors as the API words it (``field: message``), for the HTTP
    API and the CLI alike."""
    first = errors[0] if errors else {}
    field, message = describe_validation_error(first)
    kind = InvalidIdentifier if first.get("type") == CONTROL_CHARACTER_ERROR else InvalidInput
    if kind is InvalidIdentifier:
        hint = None  # the class's own hint says what to remove
    return kind(f"{field}: {message}" if field else message, hint=hint, field=field)


class UnsafeUrl(InvalidInput):
    code = "unsafe_url"
    description = "The URL points at a private, loopback or otherwise unreachable address."
    hint = (
        "Use a public https URL. An operator may allow private addresses with "
        "PLAUDIT_ALLOW_PRIVATE_URLS=true (on-premises setups and tests)."
    )


class MethodNotAllowed(ServiceError):
    code = "method_not_allowed"
    status = 405
    description = "The path exists but not with this HTTP method."
    hint = "See the API reference (GET /openapi.json)."


class ServerMisconfigured(ServiceError):
    code = "server_misconfigured"
    status = 500
    description = "The server cannot read its stored secrets."
    hint = "The operator must check PLAUDIT_MASTER_KEY (list old keys after the new one)."


class InternalError(ServiceError):
    code = "internal_error"
    status = 500
    description = "Something went wrong on Plaudit's side."
    hint = "Retry; if it persists, the operator's logs say why (never the request's secrets)."


class BodyTooLarge(ServiceError):
    code = "body_too_large"
    status = 413
    description = "The request body is larger than this route accepts; it was not read."
    hint = (
        "Send less per call (split an event batch). The operator sets the limits per route "
        "class with PLAUDIT_BODY_LIMIT_*_BYTES."
    )


class RateLimited(ServiceError):
    code = "rate_limited"
    status = 429
    description = "Too many attempts; wait a moment and try again."
    hint = "Wait the seconds the Retry-After header says, then try again."

    def __init__(
        self, message: str | None = None, *, hint: str | None = None, retry_after: int = 1
    ) -> None:
        super().__init__(message, hint=hint)
        #: Seconds until a call may succeed again: the response's Retry-After header.
        self.retry_after = max(1, retry_after)


class StoreContended(RateLimited):
    code = "store_contended"
    status = 503
    description = (
        "The request met another one holding the same rows (a deadlock, or a lock held past "
        "its wait) and was rolled back: nothing of it was stored."
    )
    hint = (
        "Retry after the Retry-After seconds. Batches that name their users in one order, and "
        "one sender per user at a time, meet each other less."
    )


class TooManyFailedVerifications(RateLimited):
    code = "too_many_failed_verifications"
    description = (
        "Too many refused credentials came from this address, or were sent to this product, "
        "in a short time: further calls wait."
    )
    hint = (
        "Fix the tokens or keys being sent (the product's integration health lists the refused "
        "ones), then retry after the Retry-After seconds."
    )


class TooManyRequests(RateLimited):
    code = "too_many_requests"
    description = "This address called an anonymous route too often in a short time."
    hint = "Retry after the Retry-After seconds; a server calls with the product's API key."


class TooManyEvents(RateLimited):
    code = "too_many_events"
    description = "This user sent more events from the browser than the product accepts now."
    hint = (
        "Send fewer events per user (batch them), or send them from your server with the "
        "product's API key; retry after the Retry-After seconds."
    )


class TooManyManagementCalls(RateLimited):
    code = "too_many_management_calls"
    description = "This API key made more calls than the server accepts per key now."
    hint = (
        "Slow down (send events in batches of up to 1,000) and retry after the Retry-After "
        "seconds; the operator sets PLAUDIT_RATE_LIMIT_MANAGEMENT_PER_API_KEY."
    )


class TooManyKeys(Conflict):
    code = "too_many_keys"
    description = "The product has as many secrets and public keys as the server allows."
    hint = (
        "Delete keys that are no longer used (a disabled one still counts), or ask the "
        "operator to raise PLAUDIT_MAX_KEYS_PER_PRODUCT."
    )


def all_service_error_types() -> list[type[ServiceError]]:
    found: list[type[ServiceError]] = []

    def walk(cls: type[ServiceError]) -> None:
        for sub in cls.__subclasses__():
            found.append(sub)
            walk(sub)

    walk(ServiceError)
    return found
