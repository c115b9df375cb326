"""Mapping verified tokens to user profiles, and the "All Users" list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.auth import VerifiedToken
from plaudit.errors import NotFound
from plaudit.store.base import utcnow
from plaudit.store.bulk import insert_rows
from plaudit.webhooks.service import Notice, enqueue, enqueue_many

from . import repository
from .models import User
from .schemas import UserOut

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
    # A NUL is left out like a non-string: PostgreSQL cannot store it in text.
    values = {
        name: value
        for name in User.PROFILE_FIELDS
        if isinstance(value := profile.get(name), str) and value and "\x00" not in value
    }
    user = repository.find_user(session, product_id, external_id)
    created = False
    if user is None:
        try:
            with session.begin_nested():
                # Everything in the one INSERT: a first sight writes the row once.
                user = User(
                    product_id=product_id,
                    external_id=external_id,
                    first_seen_at=now,
                    last_seen_at=now,
                    listed_at=now if listed else None,
                    extra={},
                    **values,
                )
                session.add(user)
            created = True
        except IntegrityError:
            # Another request (or process) created it between our read and our write.
            user = repository.find_user(session, product_id, external_id)
            if user is None:
                raise
    if not created:
        for name, value in values.items():
            if getattr(user, name) != value:
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
            data={"user": UserOut.model_validate(user).model_dump(mode="json")},
            user_id=external_id,
            now=now,
        )
    return user


_USERS: Table = User.__table__  # type: ignore[assignment]
_FIRST_SIGHT = ("product_id", "external_id", "extra", "first_seen_at", "last_seen_at", "listed_at")


def create_many(
    session: Session,
    *,
    product_id: str,
    external_ids: Sequence[str],
    listed: bool,
    now: dt.datetime,
) -> dict[str, int]:
    """Users a batch names for the first time, made set-wise: what ``upsert_user`` does for
    each new user without a profile (its row, its ``user.created`` queued in the same
    transaction), in one INSERT for them all and one pass over the outbox. One by one, a first
    import spent 16 times a known user's CPU per event (bench/events.py, batch-new).

    A user another transaction made meanwhile is left to it (``ON CONFLICT DO NOTHING``: on
    PostgreSQL the INSERT waits for that transaction, as the one-by-one INSERT did) and is
    not announced twice: it is not in the answer, and the caller reads it as a known user.
    The answer: each user made here, by id, its row's key."""
    if not external_ids:
        return {}
    rows: list[tuple[Any, ...]] = [
        (product_id, external_id, {}, now, now, now if listed else None)
        for external_id in external_ids
    ]
    made: dict[str, int] = {
        external_id: pk
        for pk, external_id in insert_rows(
            session,
            _USERS,
            _FIRST_SIGHT,
            rows,
            tail="ON CONFLICT (product_id, external_id) DO NOTHING RETURNING id, external_id",
        )
    }
    # The payload upsert_user sends, the same for every user made here but for the id.
    template = UserOut.model_validate(
        {
            "id": "",
            **dict.fromkeys(User.PROFILE_FIELDS),  # no profile yet
            "first_seen_at": now,
            "last_seen_at": now,
            "listed": listed,
        }
    ).model_dump(mode="json")
    notices: list[Notice] = [
        ("user.created", external_id, {"user": {**template, "id": external_id}})
        for external_id in external_ids
        if external_id in made
    ]
    enqueue_many(session, product_id=product_id, notices=notices, now=now)
    return made


def get_user(session: Session, product_id: str, external_id: str) -> User:
    user = repository.find_user(session, product_id, external_id)
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
    query = repository.users_query(product_id, search=search, include_unlisted=include_unlisted)
    return repository.page_of_users(
        session,
        query,
        limit=min(max(limit, 1), MAX_PAGE),
        offset=min(max(offset, 0), MAX_OFFSET),
    )
