"""A refreshed leaderboard snapshot ranks ties alike and records how many users it ranked."""

from __future__ import annotations

import datetime as dt

from cryptography.fernet import Fernet
from sqlalchemy import select

from plaudit.gamification import leaderboards
from plaudit.gamification.models import LeaderboardRank, LeaderboardSnapshot
from plaudit.loyalty import ledger
from plaudit.products.service import create_product
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from plaudit.users.service import upsert_user

NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)


def test_refresh_records_the_number_of_ranked_users(db: Database) -> None:
    """On both stores the snapshot's `users` is the number of rows it ranked (it was 0 on
    PostgreSQL, whose INSERT ... SELECT rowcount SQLAlchemy drops unless asked to keep it)."""
    points = {"ann": 50, "bob": 30, "cy": 30, "dee": 10}
    with db.session() as session:
        product = create_product(
            session, box=SecretBox(Fernet.generate_key().decode()), name="Acme", product_id="acme"
        ).product
        for external_id, amount in points.items():
            user = upsert_user(
                session, product_id="acme", external_id=external_id, profile={}, listed=True
            )
            ledger.credit(session, product, user, points=amount, kind="earn", reason="t", now=NOW)
        assert leaderboards.refresh(session, product, "all-time", now=NOW)
    with db.session() as session:
        snapshot = session.scalar(
            select(LeaderboardSnapshot).where(
                LeaderboardSnapshot.product_id == "acme", LeaderboardSnapshot.board == "all-time"
            )
        )
        ranks = session.scalars(
            select(LeaderboardRank.rank)
            .where(LeaderboardRank.product_id == "acme")
            .order_by(LeaderboardRank.rank)
        ).all()
    assert snapshot is not None
    assert snapshot.users == 4
    assert ranks == [1, 2, 2, 4]
