"""Refusals by a rate limit, per product and code: counted in memory, added to the store by the
background loop, shown on the product's integration health page and in its failure report."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.products.models import Product
from plaudit.store.db import Database

from .models import LimitedCount

#: Days of counts kept; the health page's timeline shows seven.
KEPT_DAYS = 31
#: (product, day, code) triples held in memory at most between two writes.
MAX_PENDING = 10_000


class LimitedCounts:
    """Refusals waiting to be written; a refusal only adds to a number in memory."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, dt.date, str], int] = {}
        self._lock = threading.Lock()

    def add(self, product_id: str, code: str, now: float) -> None:
        day = dt.datetime.fromtimestamp(now, dt.UTC).date()
        key = (product_id, day, code)
        with self._lock:
            if key in self._pending or len(self._pending) < MAX_PENDING:
                self._pending[key] = self._pending.get(key, 0) + 1

    def flush(self, db: Database) -> int:
        """Add the pending counts to the store; how many triples were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with db.session() as session:
                # A refusal may name a product that does not exist (a header anyone can send).
                named = {product_id for product_id, _, _ in pending}
                known = set(session.scalars(select(Product.id).where(Product.id.in_(named))))
                for (product_id, day, code), count in pending.items():
                    if product_id in known:
                        _add(session, product_id, day, code, count)
                oldest = min(day for _, day, _ in pending) - dt.timedelta(days=KEPT_DAYS)
                session.execute(delete(LimitedCount).where(LimitedCount.day < oldest))
        except IntegrityError:
            return 0  # a product deleted meanwhile: its counts go with it
        return len(pending)


def _add(session: Session, product_id: str, day: dt.date, code: str, count: int) -> None:
    """One upsert that adds (both stores speak ON CONFLICT), so that processes writing at once
    never lose a count."""
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (postgresql_insert if postgres else sqlite_insert)(LimitedCount).values(
        product_id=product_id, day=day, code=code, count=count
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["product_id", "day", "code"],
            set_={"count": LimitedCount.count + statement.excluded.count},
        )
    )


def limited_report(
    session: Session, product_id: str, *, now: dt.datetime, days: int = 7
) -> dict[str, Any]:
    """Refusals by a rate limit for one product: totals by code and a day-by-day timeline."""
    first = now.date() - dt.timedelta(days=days - 1)
    buckets: dict[dt.date, dict[str, int]] = {first + dt.timedelta(days=i): {} for i in range(days)}
    rows = session.execute(
        select(LimitedCount.day, LimitedCount.code, LimitedCount.count).where(
            LimitedCount.product_id == product_id, LimitedCount.day >= first
        )
    )
    counts: dict[str, int] = {}
    for day, code, count in rows:
        bucket = buckets.get(day)
        if bucket is not None:
            bucket[code] = bucket.get(code, 0) + count
            counts[code] = counts.get(code, 0) + count
    return {
        "counts": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        "total": sum(counts.values()),
        "timeline": [
            {"day": day.isoformat(), "counts": found, "total": sum(found.values())}
            for day, found in buckets.items()
        ],
    }
