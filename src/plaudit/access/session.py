"""The request's unit of work: one session, committed before the response is sent.

``DbSession`` is a function-scoped dependency: FastAPI closes it when the handler returns,
before it sends anything, so an acknowledged write is a committed one (and a commit that fails
is answered as an error, not after a 2xx). ORM objects are not to be read after the handler
returns: handlers serialise inside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .principal import Principal
from .state import AppState, get_state

T = TypeVar("T")
_CHANGED = "plaudit.changed_products"
#: The request a session works for, in ``session.info``: the audit log reads who acts from it.
REQUEST = "plaudit.request"


@dataclass(frozen=True)
class Acting:
    """Who a request acts as, once its credential is checked: the audit log's "who"."""

    principal: Principal
    via: str = "api"
    #: A console session's reference (never its cookie).
    session_ref: str | None = None


def acting(
    request: Request, principal: Principal, *, via: str = "api", session_ref: str | None = None
) -> None:
    """Record who this request acts as; its sessions' management writes are audited as them."""
    request.state.plaudit_acting = Acting(principal, via, session_ref)


def changed(session: Session, product_id: str) -> None:
    """Mark that this unit of work changes how ``product_id`` verifies tokens: once it commits,
    this process reloads the product (others notice through its version within seconds)."""
    session.info.setdefault(_CHANGED, set()).add(product_id)


def _announce(state: AppState, session: Session) -> None:
    for product_id in sorted(session.info.pop(_CHANGED, ())):
        state.changed(product_id)


@contextmanager
def unit_of_work(request: Request) -> Iterator[Session]:
    """The request's session, committed when the block ends. A hot plain handler opens it
    itself: as a dependency, its opening and its closing each take a trip through the
    threadpool (about a tenth of a single event's CPU), in the handler's thread neither does."""
    state = get_state(request)
    with state.db.session() as session:
        session.info[REQUEST] = request
        yield session
    _announce(state, session)


def open_session(request: Request) -> Iterator[Session]:
    with unit_of_work(request) as session:
        yield session


DbSession = Annotated[Session, Depends(open_session, scope="function")]


async def in_session(
    request: Request, work: Callable[[Session, AppState], T], *, changes: str | None = None
) -> T:
    """Run ``work(session, state)`` in one transaction off the event loop, for the callers
    (the console's pages) that are not plain handlers. With ``changes``, that product's
    verification changed, as with ``changed``."""
    state = get_state(request)

    def run() -> T:
        with state.db.session() as session:
            session.info[REQUEST] = request
            if changes is not None:
                changed(session, changes)
            result = work(session, state)
        _announce(state, session)
        return result

    return await run_in_threadpool(run)
