"""Marking a change of a product's programs (earning rules, tiers, badges, webhook endpoints).

The event pipeline keeps each product's programs in memory, per process, under the product's
``programs_version`` (``plaudit.pipeline.programs``): a change gives that column a fresh random
value in the change's own transaction, so the next request of any process, which reads the
product row anyway, sees it and reads the programs again. Whatever changes one of them through
Plaudit calls ``programs_changed``.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Table, update
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.util import identity_key

from plaudit.store.memo import forget

from .models import Product

_products: Table = Product.__table__  # type: ignore[assignment]


def programs_changed(session: Session, product_id: str) -> None:
    """The product's programs changed in this transaction: a new ``programs_version``, and the
    session's own memory of them forgotten. One UPDATE of the product row, not through the ORM:
    it is bookkeeping, neither a change a person made (the audit log) nor one of verification."""
    forget(session)
    version = secrets.token_hex(8)
    session.connection().execute(
        update(_products).where(_products.c.id == product_id).values(programs_version=version)
    )
    loaded = session.identity_map.get(identity_key(Product, product_id))
    if loaded is not None:  # the session's copy of the row says the same, without a write
        attributes.set_committed_value(loaded, "programs_version", version)
