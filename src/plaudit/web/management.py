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

from .credentials import bearer
from .state import AppState, get_state, in_session

T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    #: None for the operator, who may manage every product.
    product_id: str | None

    @property
    def is_operator(self) -> bool:
        return self.product_id is None

    def check_product(self, product_id: str) -> None:
        """A product's key sees its own product only; another product does not exist for it."""
        if self.product_id is not None and not hmac.compare_digest(self.product_id, product_id):
            raise NotFound(f"No product has the id {product_id!r}.")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("This call needs the operator's admin token, not a product API key.")


async def management_principal(request: Request) -> Principal:
    presented = bearer(request)
    if not presented:
        raise Unauthenticated()
    state = get_state(request)
    if presented.startswith(API_KEY_PREFIX):

        def check() -> str | None:
            with state.db.session() as session:
                record = authenticate_api_key(session, presented)
                return record.product_id if record else None

        product_id = await run_in_threadpool(check)
        if product_id is not None:
            return Principal(product_id=product_id)
    else:
        admin = state.settings.admin_token or ""
        if admin and hmac.compare_digest(presented.encode(), admin.encode()):
            return Principal(product_id=None)
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
