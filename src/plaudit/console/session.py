"""Signing in to the console: sessions, the cookie, CSRF tokens and the sign-in rate limit.

Why a table and not a signed cookie: signing out, revoking an API key or deleting a product must
end a session at once, in every process, and a signed cookie stays valid until it expires
whatever the server does. The cookie holds 256 random bits; the table keeps only their SHA-256
(like API keys), and every request re-checks what the session was opened with: the API key is
still live, or the admin token is still the one signed in with.

CSRF: each form carries a token derived from the session's own secret by HMAC, compared with
``hmac.compare_digest`` on every POST; the sign-in form, before any session, carries the value
of a separate short-lived cookie (double submit). The session cookie is also SameSite=Strict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from plaudit.access.models import ApiKey
from plaudit.access.principal import Principal
from plaudit.settings import Settings

from .models import ConsoleSession

COOKIE = "plaudit_console"
#: Set by the sign-in page for the sign-in form's CSRF token (there is no session yet).
SIGN_IN_COOKIE = "plaudit_console_sign_in"
COOKIE_PATH = "/console"
#: A session ends after this long without a request...
IDLE = dt.timedelta(hours=2)
#: ...and after this long in any case.
LIFETIME = dt.timedelta(hours=12)
#: last_seen_at is written at most this often: a page view should not always be a write.
TOUCH_EVERY = dt.timedelta(minutes=5)
SIGN_IN_COOKIE_SECONDS = 3600


def _digest(value: str) -> str:
    # The cookie value is 256 random bits: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(value.encode()).hexdigest()


def operator_fingerprint(admin_token: str) -> str:
    return hmac.new(admin_token.encode(), b"plaudit console operator", hashlib.sha256).hexdigest()


def reference(cookie_value: str) -> str:
    """How the audit log names a session: a prefix of its stored digest, never the cookie."""
    return _digest(cookie_value)[:12]


def csrf_token(cookie_value: str) -> str:
    """The session's form token: only the holder of the session cookie can compute it."""
    return hmac.new(cookie_value.encode(), b"plaudit console csrf", hashlib.sha256).hexdigest()


def tokens_match(presented: str | None, expected: str | None) -> bool:
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


# --- the session table ----------------------------------------------------------------------


def open_session(
    session: Session, principal: Principal, *, settings: Settings, now: dt.datetime
) -> str:
    """Record a new session for ``principal``; returns the cookie value (shown to no one else)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    value = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=_digest(value),
            product_id=principal.product_id,
            api_key_id=principal.api_key_id,
            operator_fingerprint=(
                operator_fingerprint(settings.admin_token or "") if principal.is_operator else None
            ),
            created_at=now,
            last_seen_at=now,
            expires_at=now + LIFETIME,
        )
    )
    session.flush()
    return value


def load_session(
    session: Session, cookie_value: str, *, settings: Settings, now: dt.datetime
) -> Principal | None:
    """The principal a session cookie stands for, checked again as the management API would
    check its credential; None (and the session deleted) when anything no longer holds."""
    if not cookie_value or len(cookie_value) > 100:
        return None
    record = session.get(ConsoleSession, _digest(cookie_value))
    if record is None:
        return None
    if not _still_valid(session, record, settings=settings, now=now):
        session.delete(record)
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
    return Principal(product_id=record.product_id, api_key_id=record.api_key_id)


def _still_valid(
    session: Session, record: ConsoleSession, *, settings: Settings, now: dt.datetime
) -> bool:
    if record.expires_at <= now or record.last_seen_at + IDLE <= now:
        return False
    if record.api_key_id is not None:
        key = session.get(ApiKey, record.api_key_id)
        return key is not None and key.revoked_at is None and key.product_id == record.product_id
    if record.product_id is not None or record.operator_fingerprint is None:
        return False  # neither an API key's nor the operator's: never written so
    current = operator_fingerprint(settings.admin_token or "")
    return bool(settings.admin_token) and hmac.compare_digest(record.operator_fingerprint, current)


def close_session(session: Session, cookie_value: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.id == _digest(cookie_value)))


# --- the cookie -----------------------------------------------------------------------------


def secure_cookies(request: Request, settings: Settings) -> bool:
    """Secure behind HTTPS: the request came over it, or the public URL says it is served so
    (a TLS proxy in front)."""
    return request.url.scheme == "https" or settings.resolved_public_url.startswith("https://")


def set_cookie(
    response: Response, name: str, value: str, *, secure: bool, max_age: int | None = None
) -> None:
    # SameSite=Strict: no other site can make the browser send it, not even by a link. The cost
    # (a link to the console from elsewhere shows the sign-in page) is right for an admin tool.
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, secure=secure, httponly=True, samesite="strict")


# --- the sign-in rate limit -----------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    failures: int = 5
    window_seconds: float = 300.0
    #: Addresses remembered at most; the oldest are forgotten first (memory stays bounded).
    addresses: int = 10_000


class SignInLimiter:
    """Failed sign-ins per client address, in a sliding window, in this process's memory.

    In-process on purpose: it needs no shared store and costs nothing per request. With several
    processes each counts its own, so an address gets up to ``failures`` tries per process and
    window; tokens and API keys are 256-bit random values, so this only stops noise and
    password-spraying of weak admin tokens, not a search of the key space (which is hopeless).
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str, now: float) -> int | None:
        """Seconds until ``address`` may try again, or None if it may now."""
        with self._lock:
            times = self._recent(address, now)
            if times is None or len(times) < self.limits.failures:
                return None
            return max(1, int(times[0] + self.limits.window_seconds - now + 0.999))

    def failed(self, address: str, now: float) -> None:
        with self._lock:
            times = self._recent(address, now)
            if times is None:
                times = self._failures[address] = deque(maxlen=self.limits.failures)
                while len(self._failures) > self.limits.addresses:
                    self._failures.popitem(last=False)
            times.append(now)
            self._failures.move_to_end(address)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.limits.window_seconds:
            times.popleft()
        return times
