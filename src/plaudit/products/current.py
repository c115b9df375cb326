"""A product's row for a transaction that writes a user's events: read by its stamp, built once.

A group of single events (``pipeline/client_events.py``) is one short transaction, and building
its product's row through the ORM (some 40 columns, three of them JSON) was its costliest read:
about 345 us of a PostgreSQL transaction's client CPU, where reading three columns costs about
70 us (measured in process, thread CPU, PostgreSQL 15). The row changes rarely, and each change moves its
``updated_at`` (the column's ``onupdate``, which ORM flushes and Core updates both apply) or
its ``version`` / ``programs_version``. So a transaction reads those three columns, as of
itself, and takes the ``Product`` this process built from the last full read of the same
stamp: the values a full read would have given it. Any other stamp is read in full, and kept.

The rows kept are detached from any session and shared by every thread: nothing on the write
path assigns to a product (its settings change through the management API, in sessions of
their own, with their own reads).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit.errors import NotFound

from .models import Product

#: Products kept per process: past it, the least recently used is read again when next asked.
MAX_PRODUCTS = 1024
Stamp = tuple[Any, int, str]

_kept: OrderedDict[str, tuple[Stamp, Product]] = OrderedDict()
_lock = threading.Lock()


def current_product(session: Session, product_id: str) -> Product:
    """The product as this transaction sees it (NotFound without one), in a session that has
    not loaded it (a group's own: the row built is taken out of it)."""
    if "\x00" in product_id:  # names no product, and PostgreSQL refuses to compare text with one
        raise _missing(product_id)
    row = session.execute(
        select(Product.updated_at, Product.version, Product.programs_version).where(
            Product.id == product_id
        )
    ).first()
    if row is None:
        raise _missing(product_id)
    stamp: Stamp = (row[0], row[1], row[2])
    with _lock:
        found = _kept.get(product_id)
        if found is not None and found[0] == stamp:
            _kept.move_to_end(product_id)
            return found[1]
    product = session.get(Product, product_id)
    if product is None:  # deleted since the statement above (PostgreSQL: another transaction)
        raise _missing(product_id)
    session.expunge(product)  # kept for other threads: never flushed by this session
    read: Stamp = (product.updated_at, product.version, product.programs_version)
    with _lock:
        _kept[product_id] = (read, product)
        _kept.move_to_end(product_id)
        while len(_kept) > MAX_PRODUCTS:
            _kept.popitem(last=False)
    return product


def _missing(product_id: str) -> NotFound:
    return NotFound(f"No product has the id {product_id!r}.")
