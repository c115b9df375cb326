"""A one-time display carried across a redirect: what a POST made and may show only once (a new
product's API key and secret, a new API key) reaches the page the browser GETs next.

Why a cookie sealed with the master key and not a server-side row: it needs no table (and no
migration), and any Plaudit process can open it, so the redirect's GET may land on another
process. What keeps it one-time and private:

- sealed with the master key (Fernet: encrypted and authenticated), as secrets are at rest;
- bound to the session that made it (a digest of the session cookie inside the seal), so a copy
  of it opens nothing in another browser;
- HttpOnly, SameSite=Strict, path /console, and at most ``FLASH_SECONDS`` old (checked inside
  the seal with the app's clock, not only by the browser's Max-Age);
- cleared by the page that shows it: a reload shows that it was shown, and submits nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from plaudit.access.state import get_state
from plaudit.store.crypto import MasterKeyError

from . import session as sessions

COOKIE = "plaudit_console_flash"
FLASH_SECONDS = 300


def _binding(request: Request) -> str:
    session_cookie = request.cookies.get(sessions.COOKIE, "")
    return hashlib.sha256(b"plaudit console flash\0" + session_cookie.encode()).hexdigest()


def put(request: Request, response: Response, kind: str, payload: dict[str, Any]) -> None:
    """Seal ``payload`` into the response for the next page of this session to show once."""
    state = get_state(request)
    sealed = state.box.seal(
        json.dumps(
            {
                "kind": kind,
                "session": _binding(request),
                "at": state.now().timestamp(),
                "payload": payload,
            }
        )
    )
    sessions.set_cookie(
        response,
        COOKIE,
        sealed,
        secure=sessions.secure_cookies(request, state.settings),
        max_age=FLASH_SECONDS,
    )


def take(request: Request, kind: str) -> dict[str, Any] | None:
    """The payload of this session's flash of ``kind``, if it is fresh (``forget`` clears it)."""
    sealed = request.cookies.get(COOKIE)
    if not sealed:
        return None
    state = get_state(request)
    try:
        found = json.loads(state.box.open(sealed))
    except (MasterKeyError, ValueError):
        return None  # not ours, tampered, or sealed under a master key since replaced
    if not isinstance(found, dict) or found.get("kind") != kind:
        return None
    if not hmac.compare_digest(str(found.get("session", "")), _binding(request)):
        return None
    age = state.now() - dt.datetime.fromtimestamp(float(found.get("at", 0)), dt.UTC)
    if not dt.timedelta(0) <= age <= dt.timedelta(seconds=FLASH_SECONDS):
        return None
    payload = found.get("payload")
    return payload if isinstance(payload, dict) else None


def forget(request: Request, response: Response) -> Response:
    """Clear the flash cookie (if the browser sent one): a flash is shown once."""
    if COOKIE in request.cookies:
        state = get_state(request)
        sessions.clear_cookie(
            response, COOKIE, secure=sessions.secure_cookies(request, state.settings)
        )
    return response
