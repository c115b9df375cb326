"""One user's rows in every feature's table, and the privacy requests: every statement starts
from ``scoped`` (or ``tenant_filter`` for an update) on the product."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped

from .models import PrivacyRequest


def requests_page(
    session: Session, product_id: str, *, limit: int, offset: int
) -> tuple[list[PrivacyRequest], int]:
    query = scoped(PrivacyRequest, product_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(PrivacyRequest.created_at.desc(), PrivacyRequest.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def erasure_of(session: Session, product_id: str, digest: str) -> PrivacyRequest | None:
    """The erasure of the user whose id has this digest, if one was made."""
    return session.scalar(
        scoped(PrivacyRequest, product_id)
        .where(PrivacyRequest.subject_digest == digest, PrivacyRequest.kind == "erase")
        .order_by(PrivacyRequest.created_at.desc())
        .limit(1)
    )


def mentioning(model: Any, column: Any, product_id: str, user_id: str) -> Any:
    """Rows of ``model`` whose JSON ``column`` may name ``user_id`` (a text search the caller
    confirms value by value with ``names``): the same on SQLite and PostgreSQL."""
    return scoped(model, product_id).where(
        cast(column, Text).contains(json.dumps(user_id), autoescape=True)
    )


def names(value: Any, user_id: str) -> bool:
    """Whether a JSON value holds ``user_id`` as one of its strings."""
    return any(found == user_id for found in _strings(value))


def replaced(value: Any, user_id: str, by: str) -> Any:
    """``value`` with every string equal to ``user_id`` replaced by ``by``."""
    if isinstance(value, str):
        return by if value == user_id else value
    if isinstance(value, list):
        return [replaced(v, user_id, by) for v in value]
    if isinstance(value, dict):
        return {k: replaced(v, user_id, by) for k, v in value.items()}
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
