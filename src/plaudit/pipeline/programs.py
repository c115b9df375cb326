"""A product's programs as the pipeline applies them: its enabled earning rules by event type,
its enabled badges, its tiers and its webhook subscriptions, read once per process and state of
the product rather than once per request.

A single event used to read all four on every request, about 40% of its cost. They are kept
here under the product's ``programs_version``, which every change of them replaces in the
change's own transaction (``plaudit.products.programs``); the request reads the product row
anyway, so a change made by any process is seen by the next request of every other. What is
kept are plain copies of the rows (never in any session, never written through), shared by the
request threads, which only read them.

The version is read before the programs, in the same transaction: the copies are at least as
new as the version they are kept under (a change committed in between is kept under the older
version, which no later request asks for).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from plaudit.gamification import badges
from plaudit.gamification.models import Badge
from plaudit.loyalty import repository as loyalty_store
from plaudit.loyalty import rules
from plaudit.loyalty.models import EarningRule, Tier
from plaudit.products.models import Product
from plaudit.store.memo import remember
from plaudit.webhooks import repository as webhook_store

#: Products whose programs one process keeps (the least recently used go first).
MAX_PRODUCTS = 1024

Row = TypeVar("Row", EarningRule, Badge, Tier)


@dataclass(frozen=True)
class Programs:
    """A product's program settings as a batch sees them."""

    rules_by_type: dict[str, list[EarningRule]]
    badges: list[Badge]
    tiers: list[Tier]
    subscriptions: list[tuple[str, frozenset[str]]]


_kept: OrderedDict[tuple[str, str], Programs] = OrderedDict()
_lock = threading.Lock()


def plain(row: Row) -> Row:
    """A copy of a row's columns in a new object of its class that no session holds."""
    columns = inspect(type(row)).column_attrs
    return type(row)(**{column.key: getattr(row, column.key) for column in columns})


def read(session: Session, product: Product) -> Programs:
    """The product's programs, from the store (four reads)."""
    by_type: dict[str, list[EarningRule]] = {}
    for event_type, found in rules.enabled_by_type(session, product).items():
        by_type[event_type] = [plain(rule) for rule in found]
    return Programs(
        rules_by_type=by_type,
        badges=[plain(b) for b in badges.list_badges(session, product, enabled_only=True)],
        tiers=[plain(t) for t in loyalty_store.tiers(session, product.id)],
        subscriptions=webhook_store.subscriptions(session, product.id),
    )


def of(session: Session, product: Product) -> Programs:
    """The product's programs as of its ``programs_version``: kept, or read and kept. The
    transaction's own memory (what the ledger and the outbox read through) is given them too."""
    key = (product.id, product.programs_version)
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
    if found is None:
        found = read(session, product)
        with _lock:
            _kept[key] = found
            while len(_kept) > MAX_PRODUCTS:
                _kept.popitem(last=False)
    remember(session, ("tiers", product.id), found.tiers)
    remember(session, ("webhooks", product.id), found.subscriptions)
    return found
