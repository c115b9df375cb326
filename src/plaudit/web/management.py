"""Who may call the management API: the operator (admin token) or a product's API key."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from plaudit.errors import Forbidden, NotFound, Unauthenticated
from plaudit.products.api_keys import API_KEY_PREFIX, authenticate_api_key
from plaudit.products.models import Product
from plaudit.products.service import get_product
from plaudit.settings import Settings

from .credentials import bearer
from .state import AppState, get_state, in_session

T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    #: None for the operator, who may manage every product.
    product_id: str | None
    #: The API key this principal presented (None for the operator): revoking it ends the
    #: console sessions it opened.
    api_key_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.product_id is None

    def check_product(self, product_id: str) -> None:
        """A product's key sees its own product only; another product does not exist for it."""
        if self.product_id is not None and not hmac.compare_digest(
            self.product_id.encode(), product_id.encode()
        ):
            raise NotFound(f"No product has the id {product_id!r}.")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("This call needs the operator's admin token, not a product API key.")


def operator(settings: Settings, presented: str) -> Principal | None:
    """The operator, if ``presented`` is the admin token (compared in constant time)."""
    admin = settings.admin_token or ""
    if admin and hmac.compare_digest(presented.encode(), admin.encode()):
        return Principal(product_id=None)
    return None


def authenticate(session: Session, settings: Settings, presented: str) -> Principal | None:
    """Who ``presented`` (an admin token or an API key) is, or None: the one check behind the
    management API and the console's sign-in. An API key is found by its hash."""
    if presented.startswith(API_KEY_PREFIX):
        record = authenticate_api_key(session, presented)
        if record is None:
            return None
        return Principal(product_id=record.product_id, api_key_id=record.id)
    return operator(settings, presented)


async def management_principal(request: Request) -> Principal:
    presented = bearer(request)
    if not presented:
        raise Unauthenticated()
    state = get_state(request)
    if presented.startswith(API_KEY_PREFIX):

        def check() -> Principal | None:
            with state.db.session() as session:
                return authenticate(session, state.settings, presented)

        principal = await run_in_threadpool(check)
    else:
        principal = operator(state.settings, presented)  # no database needed
    if principal is not None:
        return principal
    raise Unauthenticated("The admin token or API key is not valid.")


Manager = Annotated[Principal, Depends(management_principal)]


async def for_product(
    request: Request,
    principal: Principal,
    product_id: str,
    work: Callable[[Session, Product, AppState], T],
) -> T:
    """Run ``work(session, product, state)`` in one transaction, for a product the principal
    may manage: the check, the lookup and the session every management route needs."""
    principal.check_product(product_id)

    def run(session: Session, state: AppState) -> T:
        return work(session, get_product(session, product_id), state)

    return await in_session(request, run)
