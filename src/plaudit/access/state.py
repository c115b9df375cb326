"""What every request handler reaches through ``request.app.state.plaudit``.

Only what belongs to no feature: settings, the database, the master key's box, the outbound
HTTP client and the clock. What a feature keeps for the life of the process (the products'
keystore, say) it keeps itself, and tells this state about changes through ``on_change``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import Depends
from starlette.requests import Request

from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    box: SecretBox
    http: httpx.Client
    #: scheme://host[:port] of PLAUDIT_PUBLIC_URL: Plaudit's own pages may always call it.
    own_origin: str = ""
    #: Unix seconds. Injected so that tests pin time; nothing in a handler reads the clock itself.
    clock: Callable[[], float] = time.time
    #: Called with a product id after this process changed that product (after the commit), so
    #: that what was read from it (its verification, the allowed origins) is re-read now.
    on_change: list[Callable[[str], object]] = field(default_factory=list)

    def changed(self, product_id: str) -> None:
        for callback in self.on_change:
            callback(product_id)

    def now(self) -> dt.datetime:
        """The app's clock as an aware datetime: grace periods, revocations and deliveries are
        judged by it (tests pin it)."""
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.plaudit
    return state


async def _state(request: Request) -> AppState:
    # A coroutine, so FastAPI reads it on the event loop: a plain function dependency costs a
    # trip through the threadpool on every request that names it.
    return get_state(request)


State = Annotated[AppState, Depends(_state)]
