"""Until events, loyalty, gamification and webhooks take ``ManagedProduct`` and ``DbSession``:
``for_product``, and the old names from their new homes in ``plaudit.access``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.requests import Request

from plaudit.access.management import Manager, management_principal
from plaudit.access.principal import Principal
from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.products.models import Product
from plaudit.products.repository import get_product

__all__ = ["Manager", "Principal", "for_product", "management_principal"]

T = TypeVar("T")


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
