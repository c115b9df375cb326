"""The managed product as a dependency: the path's product, once the principal may manage it,
loaded in the request's session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from plaudit.access.management import ManagedProductId
from plaudit.access.session import DbSession

from . import repository
from .models import Product


def managed_product(session: DbSession, product_id: ManagedProductId) -> Product:
    return repository.get_product(session, product_id)


ManagedProduct = Annotated[Product, Depends(managed_product)]
