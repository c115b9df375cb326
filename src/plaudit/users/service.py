"""Mapping verified tokens to user profiles, and the "All Users" list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.auth import VerifiedToken
from plaudit.errors import NotFound
from plaudit.store.base import utcnow
from plaudit.webhooks.service import enqueue

from .models import User

MAX_PAGE = 200
#: Past this an offset overflows the databases' 64-bit integers; no list is that long.
MAX_OFFSET = 1_000_000_000


def map_user(
    session: Session,
    *,
    product_id: str,
    published: bool,
    verified: VerifiedToken,
    now: dt.datetime | None = None,
) -> User:
    """Create the user on the first valid token, refresh its profile on later ones.

    Users join the All Users list only once the product is published (the loyalty guide);
    before that their tokens verify, for testing, and they are kept but not listed.
    """
    return upsert_user(
        session,
        product_id=product_id,
        external_id=verified.user_id,
        profile=verified.profile,
        listed=published,
        now=now,
    )


def upsert_user(
    session: Session,
    *,
    product_id: str,
    external_id: str,
    profile: dict[str, Any],
    listed: bool,
    now: dt.datetime | None = None,
) -> User:
    now = now or utcnow()
    user = _find(session, product_id, external_id)
    created = False
    if user is None:
        try:
            with session.begin_nested():
                user = User(
                    product_id=product_id,
                    external_id=external_id,
                    first_seen_at=now,
                    last_seen_at=now,
                    extra={},
                )
                session.add(user)
            created = True
        except IntegrityError:
            # Another request (or process) created it between our read and our write.
            user = _find(session, product_id, external_id)
            if user is None:
                raise
    for name in User.PROFILE_FIELDS:
        value = profile.get(name)
        # A NUL is left out like a non-string: PostgreSQL cannot store it in text.
        if (
            isinstance(value, str)
            and value
            and "\x00" not in value
            and getattr(user, name) != value
        ):
            setattr(user, name, value)
    user.last_seen_at = now
    if listed and user.listed_at is None:
        user.listed_at = now
    session.flush()
    if created:  # in this transaction: the notification is durable exactly when the user is
        enqueue(
            session,
            product_id=product_id,
            event_type="user.created",
            data={"user": user.to_dict()},
            user_id=external_id,
            now=now,
        )
    return user


def _find(session: Session, product_id: str, external_id: str) -> User | None:
    if "\x00" in product_id or "\x00" in external_id:
        return None  # no user has one, and PostgreSQL refuses to compare text holding one
    return session.scalar(
        select(User).where(User.product_id == product_id, User.external_id == external_id)
    )


def get_user(session: Session, product_id: str, external_id: str) -> User:
    user = _find(session, product_id, external_id)
    if user is None:
        raise NotFound(f"Product {product_id!r} has no user {external_id!r}.")
    return user


def list_users(
    session: Session,
    product_id: str,
    *,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
    include_unlisted: bool = False,
) -> tuple[list[User], int]:
    """One page of the All Users list, newest first, and the total that matches."""
    query = select(User).where(User.product_id == product_id)
    if not include_unlisted:
        query = query.where(User.listed_at.is_not(None))
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                *(
                    func.lower(column).like(pattern.lower(), escape="\\")
                    for column in (
                        User.external_id,
                        User.email,
                        User.first_name,
                        User.last_name,
                        User.name,
                        User.account_id,
                        User.referral_code,
                    )
                )
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(User.first_seen_at.desc(), User.id.desc())
        .limit(min(max(limit, 1), MAX_PAGE))
        .offset(min(max(offset, 0), MAX_OFFSET))
    )
    return list(page), total
