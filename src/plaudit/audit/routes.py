"""The audit log's API: a product's log for its tenant, every product's for the operator."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query

from plaudit.access.management import Operator
from plaudit.access.session import DbSession
from plaudit.products.dependencies import ManagedProduct

from . import repository
from .repository import Filters
from .schemas import AuditPage
from .service import as_utc, audit_page

router = APIRouter(tags=["audit"])

ACTION = Query(None, max_length=64, description="An action (`secret.create`) or a target type.")
ACTOR = Query(None, max_length=64, description="`operator`, `cli`, `api_key` or `api_key:<id>`.")
TARGET_TYPE = Query(None, max_length=32, description="`product`, `secret`, `key`, `user`, ...")
TARGET_ID = Query(None, max_length=255, description="The target's id (a kid, a rule id, ...).")
SINCE = Query(None, description="Entries at or after this moment (ISO 8601; UTC if no zone).")
UNTIL = Query(None, description="Entries before this moment.")
CURSOR = Query(None, max_length=20, description="The previous page's `next_cursor`.")
LIMIT = Query(50, ge=1, le=repository.MAX_PAGE)


@router.get(
    "/v1/products/{product_id}/audit",
    response_model=AuditPage,
    summary="The product's audit log: who changed what, when, newest first",
)
def product_audit(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    action: str | None = ACTION,
    actor: str | None = ACTOR,
    target_type: str | None = TARGET_TYPE,
    target_id: str | None = TARGET_ID,
    since: dt.datetime | None = SINCE,
    until: dt.datetime | None = UNTIL,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> AuditPage:
    filters = Filters(
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        since=as_utc(since),
        until=as_utc(until, field="until"),
    )
    return audit_page(session, product_id=product.id, filters=filters, cursor=cursor, limit=limit)


@router.get(
    "/v1/audit",
    response_model=AuditPage,
    summary="Every product's audit log, deleted products' included (operator only)",
)
def operator_audit(
    _operator: Operator,
    session: DbSession,
    product: str | None = Query(None, max_length=64, description="One product's entries."),
    action: str | None = ACTION,
    actor: str | None = ACTOR,
    target_type: str | None = TARGET_TYPE,
    target_id: str | None = TARGET_ID,
    since: dt.datetime | None = SINCE,
    until: dt.datetime | None = UNTIL,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> AuditPage:
    filters = Filters(
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        since=as_utc(since),
        until=as_utc(until, field="until"),
        product_id=product,
    )
    return audit_page(session, product_id=None, filters=filters, cursor=cursor, limit=limit)
