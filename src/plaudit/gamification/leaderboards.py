"""Leaderboards: points over all time, this week and this month, in the product's time zone.

Ranking a million users on every read would cost a million rows per read. Instead each board
keeps a ranked snapshot (``leaderboard_ranks``), recomputed in the background only when the
ledger moved and at most every ``PLAUDIT_LEADERBOARD_REFRESH_SECONDS``; a read is then two
index lookups (the top N by rank, the user's own row) whatever the number of users.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plaudit.errors import NotFound
from plaudit.loyalty import repository as loyalty_repository
from plaudit.loyalty.models import LedgerEntry
from plaudit.periods import BOARDS, board_period
from plaudit.products.models import Product
from plaudit.store.db import Database
from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User

from . import repository
from .models import LeaderboardSnapshot

MAX_TOP = 100


def check_board(name: str) -> str:
    if name not in BOARDS:
        raise NotFound(
            f"There is no leaderboard {name!r}.", hint=f"Choose one of {', '.join(BOARDS)}."
        )
    return name


def display_name(user: User) -> str:
    """What other users see: a first name and an initial, never an id or an email."""
    first = (user.first_name or "").strip()
    last = (user.last_name or "").strip()
    if first:
        return f"{first} {last[0]}." if last else first
    name = (user.name or "").strip()
    if name:
        parts = name.split()
        return f"{parts[0]} {parts[-1][0]}." if len(parts) > 1 else parts[0]
    return "A player"


def refresh(
    session: Session, product: Product, board: str, *, now: dt.datetime, force: bool = False
) -> bool:
    """Re-rank the board if the ledger moved or its period turned (or, with ``force``, if no
    other process ranked it since ``now``); True if it did.

    The newest ledger id alone cannot tell every move: on PostgreSQL an entry can take its id
    before a newer one and commit after it, so callers that know points moved force it."""
    period = board_period(board, now, product.time_zone)
    insert_ignore(
        session,
        LeaderboardSnapshot.__table__,  # type: ignore[arg-type]
        {
            "product_id": product.id,
            "board": board,
            "period": "",
            "as_of": now,
            "last_entry_id": -1,
            "users": 0,
        },
    )
    # Locked: two processes refreshing one board take turns; the second skips a board the
    # first ranked after ``now`` (the start of the second's step).
    snapshot = repository.snapshot(session, product.id, board, lock=True)
    assert snapshot is not None  # noqa: S101  # inserted or present just above
    latest = loyalty_repository.latest_entry_id(session, product.id)
    fresh = snapshot.period == period and snapshot.last_entry_id >= latest
    if fresh and (not force or snapshot.as_of >= now):
        return False
    ranked = repository.rerank(session, product.id, board, period)
    snapshot.period = period
    snapshot.as_of = now
    snapshot.last_entry_id = latest
    snapshot.users = ranked
    return True


def refresh_product(db: Database, product_id: str, *, now: dt.datetime, force: bool = False) -> int:
    """Refresh each of a product's boards in a transaction of its own; how many changed."""
    changed = 0
    for board in BOARDS:
        with db.session() as session:
            product = session.get(Product, product_id)
            if product is not None and refresh(session, product, board, now=now, force=force):
                changed += 1
    return changed


def refresh_all(db: Database, *, now: dt.datetime, since: int = 0) -> tuple[int, int]:
    """The background step: refresh the boards whose points moved since ledger entry ``since``
    or whose period turned (a new week or month). Returns how many boards changed and the
    ``since`` for the next call, so that an idle loop reads an index range, not the ledger."""
    with db.session() as session:
        moved = {
            row.product_id: row.latest
            for row in session.execute(
                select(LedgerEntry.product_id, func.max(LedgerEntry.id).label("latest"))
                .where(LedgerEntry.id > since)
                .group_by(LedgerEntry.product_id)
            )
        }
        turned = {
            product_id
            for product_id, board, period, zone in session.execute(
                select(
                    LeaderboardSnapshot.product_id,
                    LeaderboardSnapshot.board,
                    LeaderboardSnapshot.period,
                    Product.time_zone,
                ).join(Product, Product.id == LeaderboardSnapshot.product_id)
            )
            if period != board_period(board, now, zone)
        }
    changed = sum(
        refresh_product(db, product_id, now=now, force=product_id in moved)
        for product_id in moved.keys() | turned
    )
    return changed, max([since, *moved.values()])


@dataclass
class Refresher:
    """The background loop's leaderboard step, with its place in the ledger.

    It looks from the newest entry it saw one step *before* the last: an entry whose
    transaction took its id earlier but committed later than a newer one is still found, as
    long as it commits within one refresh interval.
    """

    db: Database
    _seen: tuple[int, int] = (0, 0)

    def __call__(self, now: dt.datetime) -> int:
        changed, newest = refresh_all(self.db, now=now, since=self._seen[0])
        self._seen = (self._seen[1], newest)
        return changed


def read(
    session: Session,
    product: Product,
    board: str,
    *,
    now: dt.datetime,
    limit: int = 10,
    user: User | None = None,
    with_ids: bool = False,
) -> dict[str, Any]:
    """The top ``limit`` of the board and, given a user, their own rank and points."""
    check_board(board)
    period = board_period(board, now, product.time_zone)
    snapshot = repository.snapshot(session, product.id, board)
    # A snapshot of last week (until the next refresh) is not this week's board.
    current = snapshot is not None and snapshot.period == period
    entries: list[dict[str, Any]] = []
    if current:
        for rank, points, member in repository.top(
            session, product.id, board, limit=min(limit, MAX_TOP)
        ):
            entry = {
                "rank": rank,
                "display_name": display_name(member),
                "points": points,
                "me": user is not None and member.id == user.id,
            }
            if with_ids:
                entry["user_id"] = member.external_id
            entries.append(entry)
    answer: dict[str, Any] = {
        "name": board,
        "period": period,
        "as_of": snapshot.as_of.isoformat() if current and snapshot else None,
        "entries": entries,
        "me": None,
    }
    if user is not None:
        my_rank = repository.rank_of(session, user, board) if current else None
        answer["me"] = {"rank": my_rank, "points": repository.points_of(session, user, period)}
    return answer
