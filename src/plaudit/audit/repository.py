"""Reading the audit log: a product's entries start from ``scoped``; the operator's from all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped

from .models import AuditEntry

MAX_PAGE = 200


@dataclass(frozen=True)
class Filters:
    #: An exact action (``secret.create``) or a target type's actions (``secret``).
    action: str | None = None
    #: ``operator``, ``cli``, ``api_key`` (any key) or ``api_key:<id>``.
    actor: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    #: The operator's view only: one product's entries (including a deleted product's).
    product_id: str | None = None


def product_entries(product_id: str) -> Select[AuditEntry]:
    # product_id is nullable (cleared when the product is deleted), so not quite a TenantRow.
    return scoped(AuditEntry, product_id)  # type: ignore[type-var]


def all_entries() -> Select[AuditEntry]:
    """Every product's entries and the operator's own: only the operator reads this."""
    return select(AuditEntry)


def page(
    session: Session,
    query: Select[AuditEntry],
    filters: Filters,
    *,
    before: int | None,
    limit: int,
) -> tuple[list[AuditEntry], int | None]:
    """Newest first, ``limit`` at most, older than the cursor ``before``; and the next cursor."""
    query = _filtered(query, filters)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    limit = min(max(limit, 1), MAX_PAGE)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def _filtered(query: Select[AuditEntry], f: Filters) -> Select[AuditEntry]:
    if f.action:
        if "." in f.action:
            query = query.where(AuditEntry.action == f.action)
        else:
            query = query.where(AuditEntry.target_type == f.action)
    if f.actor:
        kind, _, key_id = f.actor.partition(":")
        query = query.where(AuditEntry.actor_kind == kind)
        if key_id:
            query = query.where(AuditEntry.actor_key_id == key_id)
    if f.target_type:
        query = query.where(AuditEntry.target_type == f.target_type)
    if f.target_id:
        query = query.where(AuditEntry.target_id == f.target_id)
    if f.since:
        query = query.where(AuditEntry.at >= f.since)
    if f.until:
        query = query.where(AuditEntry.at < f.until)
    if f.product_id:
        query = query.where(AuditEntry.origin_product_id == f.product_id)
    return query
