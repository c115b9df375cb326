"""One page of the audit log, for a product's tenant or for the operator."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput

from . import repository
from .repository import Filters
from .schemas import AuditPage, entry_out

MAX_CURSOR = 2**63 - 1


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or not cursor.isascii() or int(cursor) > MAX_CURSOR:
        raise InvalidInput(
            "The cursor is not one this API gave.",
            field="cursor",
            hint="Pass the next_cursor of the previous page, or leave it out for the newest.",
        )
    return int(cursor)


def as_utc(moment: dt.datetime | None, *, field: str = "since") -> dt.datetime | None:
    """A filter's time, read as UTC when it names no zone (refused, naming ``field``, when
    that reading leaves the calendar: year 1 east of UTC, year 9999 west of it)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidInput(
            f"{field}: {moment.isoformat()} is outside the calendar once read as UTC.",
            field=field,
            hint="Give a moment between years 1 and 9999 in UTC (ISO 8601).",
        ) from None


def in_utc(filters: Filters) -> Filters:
    """The filters as asked, their times read as UTC (see ``as_utc``)."""
    return dataclasses.replace(
        filters, since=as_utc(filters.since), until=as_utc(filters.until, field="until")
    )


def audit_page(
    session: Session,
    *,
    product_id: str | None,
    filters: Filters,
    cursor: str | None,
    limit: int,
) -> AuditPage:
    """``product_id``'s entries (a tenant's view), or with None every entry (the operator's)."""
    query = (
        repository.product_entries(product_id)
        if product_id is not None
        else repository.all_entries()
    )
    rows, after = repository.page(session, query, filters, before=parse_cursor(cursor), limit=limit)
    return AuditPage(
        entries=[entry_out(row) for row in rows],
        next_cursor=None if after is None else str(after),
    )
