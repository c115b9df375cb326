"""Reading products: the tenant rows themselves, by id (each product is its own scope)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit.errors import NotFound

from .models import Product


def find_product(session: Session, product_id: str) -> Product | None:
    # A NUL names no product, and PostgreSQL refuses to compare text holding one.
    return None if "\x00" in product_id else session.get(Product, product_id)


def get_product(session: Session, product_id: str) -> Product:
    product = find_product(session, product_id)
    if product is None:
        raise NotFound(f"No product has the id {product_id!r}.")
    return product


def list_products(session: Session) -> list[Product]:
    return list(session.scalars(select(Product).order_by(Product.created_at, Product.id)))
