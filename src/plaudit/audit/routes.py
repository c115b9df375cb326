"""The audit log's API: a product's log for its tenant, every product's for the operator."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from plaudit.access.management import Operator
from plaudit.access.session import DbSession
from plaudit.products.dependencies import ManagedProduct

from . import repository
from .repository import Filters
from .schemas import AuditPage
from .service import audit_page, in_utc

router = APIRouter(tags=["audit"])

ACTION = Query(None, max_length=64, description="An action (`secret.create`) or a target type.")
ACTOR = Query(None, max_length=64, description="`operator`, `cli`, `api_key` or `api_key:<id>`.")
TARGET_TYPE = Query(None, max_length=32, description="`product`, `secret`, `key`, `user`, ...")
TARGET_ID = Query(None, max_length=255, description="The target's id (a kid, a rule id, ...).")
SINCE = Query(None, description="Entries at or after this moment (ISO 8601; UTC if no zone).")
UNTIL = Query(None, description="Entries before this moment.")
CURSOR = Query(None, max_length=20, description="The previous page's `next_cursor`.")
LIMIT = Query(50, ge=1, le=repository.MAX_PAGE)


class AuditQuery:
    """The filters (times as sent: the routes read them as UTC), cursor and page size both
    audit routes read, in the order the OpenAPI description lists them."""

    def __init__(
        self,
        action: str | None = ACTION,
        actor: str | None = ACTOR,
        target_type: str | None = TARGET_TYPE,
        target_id: str | None = TARGET_ID,
        since: dt.datetime | None = SINCE,
        until: dt.datetime | None = UNTIL,
        cursor: str | None = CURSOR,
        limit: int = LIMIT,
    ) -> None:
        self.filters = Filters(
            action=action,
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
        )
        self.cursor = cursor
        self.limit = limit


Asked = Annotated[AuditQuery, Depends()]


@router.get(
    "/v1/products/{product_id}/audit",
    response_model=AuditPage,
    summary="The product's audit log: who changed what, when, newest first",
)
def product_audit(
    product_id: str, product: ManagedProduct, session: DbSession, asked: Asked
) -> AuditPage:
    return audit_page(
        session,
        product_id=product.id,
        filters=in_utc(asked.filters),
        cursor=asked.cursor,
        limit=asked.limit,
    )


@router.get(
    "/v1/audit",
    response_model=AuditPage,
    summary="Every product's audit log, deleted products' included (operator only)",
)
def operator_audit(
    _operator: Operator,
    session: DbSession,
    asked: Asked,
    product: str | None = Query(None, max_length=64, description="One product's entries."),
) -> AuditPage:
    filters = in_utc(dataclasses.replace(asked.filters, product_id=product))
    return audit_page(
        session, product_id=None, filters=filters, cursor=asked.cursor, limit=asked.limit
    )
