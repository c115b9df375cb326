"""Reading a product's users: every statement starts from ``scoped(User, product_id)``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from itertools import groupby

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, tenant_filter

from .models import User

#: What the All Users search looks in.
SEARCHED = (
    User.external_id,
    User.email,
    User.first_name,
    User.last_name,
    User.name,
    User.account_id,
    User.referral_code,
)


def find_user(session: Session, product_id: str, external_id: str) -> User | None:
    if "\x00" in product_id or "\x00" in external_id:
        return None  # no user has one, and PostgreSQL refuses to compare text holding one
    return session.scalar(scoped(User, product_id).where(User.external_id == external_id))


def user_by_pk(session: Session, product_id: str, pk: int) -> User | None:
    return session.scalar(_by_pk(product_id), {"pk": pk})


@lru_cache(maxsize=1024)
def _by_pk(product_id: str) -> Select[User]:
    """Built once per product: building a statement costs more than running it (every
    single event of a known user reads its row)."""
    return scoped(User, product_id).where(User.id == bindparam("pk"))


def touch_last_seen(
    session: Session, seen: Sequence[tuple[str, int, dt.datetime]]
) -> set[tuple[str, int]]:
    """Move ``last_seen_at`` forward (never back) for each (product id, primary key, when), one
    statement a product; returns the (product id, primary key) pairs whose row still exists."""
    present: set[tuple[str, int]] = set()
    ordered = sorted(seen, key=lambda row: (row[0], row[1]))  # one lock order across processes
    for product_id, rows in groupby(ordered, key=lambda row: row[0]):
        params = [{"b_pk": pk, "b_seen": when} for _, pk, when in rows]
        session.connection().execute(
            update(User)
            .where(
                tenant_filter(User, product_id),
                User.id == bindparam("b_pk"),
                User.last_seen_at < bindparam("b_seen"),
            )
            .values(last_seen_at=bindparam("b_seen")),
            params,
        )
        found = session.scalars(
            scoped(User, product_id)
            .where(User.id.in_([p["b_pk"] for p in params]))
            .with_only_columns(User.id)
        )
        present.update((product_id, pk) for pk in found)
    return present


def users_query(
    product_id: str, *, search: str | None = None, include_unlisted: bool = False
) -> Select[User]:
    query = scoped(User, product_id)
    if not include_unlisted:
        query = query.where(User.listed_at.is_not(None))
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(*(func.lower(column).like(pattern.lower(), escape="\\") for column in SEARCHED))
        )
    return query


def page_of_users(
    session: Session, query: Select[User], *, limit: int, offset: int
) -> tuple[list[User], int]:
    """One page, newest first, and the total that matches."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(User.first_seen_at.desc(), User.id.desc()).limit(limit).offset(offset)
    )
    return list(page), total
