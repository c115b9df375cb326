"""The auth-failure log's store: refused tokens kept per product for debugging."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, scoped_delete
from plaudit.store.base import utcnow

from .models import (
    AuthFailure,
    Product,
)

RECENT_FAILURES_KEPT = 1000
#: The failure report's timeline: this many UTC days, today included.
TIMELINE_DAYS = 7


def record_failures(session: Session, failures: list[dict[str, Any]]) -> None:
    """Store refused tokens' header and claims (already stripped of signatures) for debugging."""
    for failure in failures:
        session.add(AuthFailure(**failure))
    session.flush()
    for product_id in {f["product_id"] for f in failures}:
        cutoff = session.scalar(
            scoped(AuthFailure, product_id)
            .with_only_columns(AuthFailure.id)
            .order_by(AuthFailure.id.desc())
            .offset(RECENT_FAILURES_KEPT)
            .limit(1)
        )
        if cutoff is not None:
            session.execute(scoped_delete(AuthFailure, product_id).where(AuthFailure.id <= cutoff))


def failure_report(
    session: Session,
    product: Product,
    *,
    limit: int = 50,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    counts_query = (
        scoped(AuthFailure, product.id)
        .with_only_columns(AuthFailure.code, func.count())
        .group_by(AuthFailure.code)
    )
    recent_query = scoped(AuthFailure, product.id)
    if since is not None:
        counts_query = counts_query.where(AuthFailure.occurred_at >= since)
        recent_query = recent_query.where(AuthFailure.occurred_at >= since)
    # Not dict(result): a Result has .keys(), so dict() would treat it as a mapping.
    counts: dict[str, int] = {code: n for code, n in session.execute(counts_query)}  # noqa: C416
    recent = session.scalars(recent_query.order_by(AuthFailure.id.desc()).limit(limit))
    return {
        "counts": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        "total": sum(counts.values()),
        "recent": [
            {
                "occurred_at": f.occurred_at.isoformat(),
                "error": f.code,
                "message": f.message,
                "header": f.header,
                "claims": f.claims,
            }
            for f in recent
        ],
        "timeline": failure_timeline(session, product, now=now or utcnow()),
    }


def failure_timeline(
    session: Session, product: Product, *, now: dt.datetime, days: int = TIMELINE_DAYS
) -> list[dict[str, Any]]:
    """Refused tokens per UTC day and code, the last ``days`` days, oldest first.

    Bucketed here rather than in SQL: date functions differ between SQLite and PostgreSQL, and
    a product keeps at most ``RECENT_FAILURES_KEPT`` rows, so this reads little.
    """
    first = now.date() - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    buckets: dict[dt.date, dict[str, int]] = {first + dt.timedelta(days=i): {} for i in range(days)}
    rows = session.execute(
        scoped(AuthFailure, product.id)
        .with_only_columns(AuthFailure.occurred_at, AuthFailure.code)
        .where(AuthFailure.occurred_at >= start)
    )
    for occurred_at, code in rows:
        bucket = buckets.get(occurred_at.astimezone(dt.UTC).date())
        if bucket is not None:  # a failure stamped after `now` (another clock) is left out
            bucket[code] = bucket.get(code, 0) + 1
    return [
        {"day": day.isoformat(), "counts": counts, "total": sum(counts.values())}
        for day, counts in buckets.items()
    ]


def safe_json(value: Any, limit: int = 4096) -> Any:
    """A JSON value small enough to store, or None (a hostile token's claims may be anything)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value if len(text) <= limit else {"_truncated": text[:limit]}
