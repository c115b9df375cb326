"""Refusals by a rate limit, counted per product, UTC day and code (integration health): the
table, the writer of the counts ``plaudit.limits`` keeps in memory, and the report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, String, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.requests import Request

from plaudit.access.scope import scoped
from plaudit.limits.counts import LimitedCounts
from plaudit.limits.web import limiter_of
from plaudit.store.base import Base
from plaudit.store.db import Database

from .models import Product

#: Days of counts kept; the health page's timeline shows seven.
KEPT_DAYS = 31


class LimitedCount(Base):
    """How many calls of a product a rate limit refused on one UTC day, by error code.

    Counts, not rows per call: a flood of refused calls is the very thing being limited, and
    must not become a flood of writes, nor push the refused tokens a tenant debugs with out of
    the auth-failure log.
    """

    __tablename__ = "limited_counts"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


def flush(counts: LimitedCounts, db: Database) -> int:
    """Add the pending counts to the store; how many triples were written."""
    pending = counts.take()
    if not pending:
        return 0
    try:
        with db.session() as session:
            # A refusal may name a product that does not exist (a header anyone can send).
            named = {product_id for product_id, _, _ in pending}
            known = set(session.scalars(select(Product.id).where(Product.id.in_(named))))
            _add(
                session,
                [
                    {"product_id": product_id, "day": day, "code": code, "count": count}
                    for (product_id, day, code), count in pending.items()
                    if product_id in known
                ],
            )
            oldest = min(day for _, day, _ in pending) - dt.timedelta(days=KEPT_DAYS)
            session.execute(delete(LimitedCount).where(LimitedCount.day < oldest))
    except IntegrityError:
        return 0  # a product deleted meanwhile: its counts go with it
    return len(pending)


def _add(session: Session, rows: list[dict[str, Any]]) -> None:
    """One upsert that adds, for all the pending counts at once (both stores speak ON
    CONFLICT), so that processes writing at once never lose a count."""
    if not rows:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (postgresql_insert if postgres else sqlite_insert)(LimitedCount)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["product_id", "day", "code"],
            set_={"count": LimitedCount.count + statement.excluded.count},
        ),
        rows,
    )


def limited_report(
    session: Session, product_id: str, *, now: dt.datetime, days: int = 7
) -> dict[str, Any]:
    """Refusals by a rate limit for one product: totals by code and a day-by-day timeline."""
    first = now.date() - dt.timedelta(days=days - 1)
    buckets: dict[dt.date, dict[str, int]] = {first + dt.timedelta(days=i): {} for i in range(days)}
    rows = session.scalars(scoped(LimitedCount, product_id).where(LimitedCount.day >= first))
    counts: dict[str, int] = {}
    for row in rows:
        day, code, count = row.day, row.code, row.count
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


def flush_pending(request: Request) -> int:
    """Write the refusals this app counted in memory now (a report is about to read them)."""
    limiter = limiter_of(request)
    if limiter is None:
        return 0
    db: Database = request.app.state.plaudit.db
    return flush(limiter.counts, db)
