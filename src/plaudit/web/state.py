"""What every request handler reaches through ``request.app.state.plaudit``."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from plaudit.products.jwks_refresh import JwksFetcher
from plaudit.products.keystore import Keystore
from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database

from .failures import FailureLog

T = TypeVar("T")


@dataclass
class AppState:
    settings: Settings
    db: Database
    box: SecretBox
    keystore: Keystore
    failures: FailureLog
    http: httpx.Client
    #: JWKS fetches on threads of their own (registration, unknown kids, the schedule).
    jwks: JwksFetcher
    #: scheme://host[:port] of PLAUDIT_PUBLIC_URL: Plaudit's own pages may always call it.
    own_origin: str = ""
    #: Unix seconds. Injected so that tests pin time; nothing in a handler reads the clock itself.
    clock: Callable[[], float] = time.time
    #: token -> product id, for repeated tokens whose product is named only by their claims.
    token_products: dict[str, str] = field(default_factory=dict)
    #: token -> (its cached VerifiedToken, the rendered /v1/auth/verify body); reused only
    #: while the verifier's cache returns that very object.
    verify_bodies: dict[str, tuple[object, bytes]] = field(default_factory=dict)
    #: Called after this process changed a product, so caches of settings are re-read now.
    on_change: list[Callable[[], None]] = field(default_factory=list)

    def changed(self) -> None:
        for callback in self.on_change:
            callback()

    def now(self) -> dt.datetime:
        """The app's clock as an aware datetime: grace periods, revocations and deliveries are
        judged by it (tests pin it)."""
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.plaudit
    return state


async def in_session(
    request: Request, work: Callable[[Session, AppState], T], *, changes: str | None = None
) -> T:
    """Run ``work(session, state)`` in one transaction off the event loop. With ``changes``,
    that product's verification changed: this process reloads it now (others notice through
    the version column within seconds)."""
    state = get_state(request)

    def run() -> T:
        with state.db.session() as session:
            return work(session, state)

    result = await run_in_threadpool(run)
    if changes is not None:
        await run_in_threadpool(state.keystore.reload, changes)
        state.changed()
    return result
