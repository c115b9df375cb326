"""What every request handler reaches through ``request.app.state.plaudit``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from starlette.requests import Request

from plaudit.products.keystore import Keystore
from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database

from .failures import FailureLog


@dataclass
class AppState:
    settings: Settings
    db: Database
    box: SecretBox
    keystore: Keystore
    failures: FailureLog
    http: httpx.Client
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


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.plaudit
    return state
