"""Gamification's reads and writes of tenant data: every statement starts from ``scoped``.

The leaderboard tallies it ranks are the loyalty program's (``PointsTally``); the ledger's
newest entry tells whether a board moved. Statements over every product at once (the
background refresh's "which boards moved") are not tenant reads and stay in ``leaderboards``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import Select, bindparam, func, insert, literal
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, scoped_delete
from plaudit.items import all_of, one_of
from plaudit.loyalty.models import PointsTally
from plaudit.users.models import User

from .models import Badge, LeaderboardRank, LeaderboardSnapshot, Streak, UserBadge


def badges(session: Session, product_id: str, *, enabled_only: bool = False) -> list[Badge]:
    return all_of(session, Badge, product_id, enabled_only=enabled_only)


def badge(session: Session, product_id: str, badge_id: str) -> Badge:
    return one_of(session, Badge, product_id, badge_id, "badge")


def held(session: Session, user: User) -> dict[str, dt.datetime]:
    """The badges the user holds: badge id -> when awarded."""
    rows = session.execute(
        scoped(UserBadge, user.product_id)
        .with_only_columns(UserBadge.badge_id, UserBadge.awarded_at)
        .where(UserBadge.user_pk == user.id)
    )
    return {row.badge_id: row.awarded_at for row in rows}


def held_by(session: Session, product_id: str, users: set[int]) -> dict[int, set[str]]:
    """The badges each of the users holds (user pk -> badge ids): one read for a batch."""
    held: dict[int, set[str]] = {}
    if users:
        rows = session.connection().execute(_held_by(product_id), {"users": sorted(users)})
        for user_pk, badge_id in rows:
            held.setdefault(user_pk, set()).add(badge_id)
    return held


@lru_cache(maxsize=1024)
def _held_by(product_id: str) -> Select[int, str]:
    """Built once per product: building it costs more than running it, once per event batch."""
    return (
        scoped(UserBadge, product_id)
        .with_only_columns(UserBadge.user_pk, UserBadge.badge_id)
        .where(UserBadge.user_pk.in_(bindparam("users", expanding=True)))
    )


def streaks(session: Session, user: User, *, limit: int) -> list[Streak]:
    """The user's streaks, most recent first."""
    return list(
        session.scalars(
            scoped(Streak, user.product_id)
            .where(Streak.user_pk == user.id, Streak.best > 0)
            .order_by(Streak.last_day.desc(), Streak.event_type)
            .limit(limit)
        )
    )


def snapshot(
    session: Session, product_id: str, board: str, *, lock: bool = False
) -> LeaderboardSnapshot | None:
    """The board's snapshot; with ``lock``, its row locked and re-read (refreshes take turns)."""
    query = scoped(LeaderboardSnapshot, product_id).where(LeaderboardSnapshot.board == board)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def rerank(session: Session, product_id: str, board: str, period: str) -> int:
    """Replace the board's ranks by the period's tallies, ranked; how many users it ranks."""
    session.execute(
        scoped_delete(LeaderboardRank, product_id).where(LeaderboardRank.board == board)
    )
    ranked = (
        scoped(PointsTally, product_id)
        .with_only_columns(
            literal(product_id),
            literal(board),
            PointsTally.user_pk,
            func.rank().over(order_by=PointsTally.points.desc()),
            PointsTally.points,
        )
        .where(PointsTally.period == period, PointsTally.points > 0)
    )
    result = session.execute(
        insert(LeaderboardRank).from_select(
            ["product_id", "board", "user_pk", "rank", "points"], ranked
        ),
        # SQLAlchemy keeps an INSERT's rowcount only when asked: without this it is -1 on
        # PostgreSQL (psycopg), and every board recorded 0 users there.
        execution_options={"preserve_rowcount": True},
    )
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


def top(
    session: Session, product_id: str, board: str, *, limit: int
) -> list[tuple[int, int, User]]:
    """The board's first ``limit`` ranks: (rank, points, user), ties by user."""
    rows = session.execute(
        scoped(LeaderboardRank, product_id)
        .with_only_columns(LeaderboardRank.rank, LeaderboardRank.points, User)
        .join(User, User.id == LeaderboardRank.user_pk)
        .where(LeaderboardRank.board == board)
        .order_by(LeaderboardRank.rank, LeaderboardRank.user_pk)
        .limit(limit)
    )
    return [(rank, points, member) for rank, points, member in rows]


def rank_of(session: Session, user: User, board: str) -> int | None:
    return session.scalar(
        scoped(LeaderboardRank, user.product_id)
        .with_only_columns(LeaderboardRank.rank)
        .where(LeaderboardRank.board == board, LeaderboardRank.user_pk == user.id)
    )


def points_of(session: Session, user: User, period: str) -> int:
    """The user's points in a period (0: none)."""
    points = session.scalar(
        scoped(PointsTally, user.product_id)
        .with_only_columns(PointsTally.points)
        .where(PointsTally.user_pk == user.id, PointsTally.period == period)
    )
    return int(points or 0)
