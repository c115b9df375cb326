"""The console's own failures, each with a stable code like every other error (docs/errors.md)."""

from __future__ import annotations

from plaudit.errors import ServiceError


class CsrfFailed(ServiceError):
    code = "csrf_failed"
    status = 403
    description = "The form came without its anti-forgery token, or with another session's."
    hint = (
        "Reload the console page and send the form again. A form posted from another site, or "
        "from a page opened before signing in again, is refused on purpose."
    )


class SignInFailed(ServiceError):
    code = "sign_in_failed"
    status = 401
    description = "That is neither the admin token nor a live API key."
    hint = (
        "Paste the operator's admin token (PLAUDIT_ADMIN_TOKEN, or data/admin.token in "
        "development) or a product API key (pk_...) that has not been revoked."
    )


class SignInThrottled(ServiceError):
    code = "sign_in_throttled"
    status = 429
    description = "Too many failed sign-ins from this address; wait before trying again."
    hint = "Wait the time the page says. Each Plaudit process counts the attempts it sees."
