"""Migration 0014 turns each existing balance into one lot: the upgrade of a store that holds
points keeps every balance spendable, never expiring, and the ledger's sum unchanged."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from plaudit.store.migrate import upgrade


def test_each_existing_balance_becomes_one_available_never_expiring_lot(tmp_path: Path) -> None:
    """Two accounts before lots (one with 70 points, one spent to 0): after the upgrade the
    first has one `carry` lot of 70 with no expiry or hold, the second none, and each
    account's balance is still its ledger's sum."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0013")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO products (id, name, profile, required_claims, leeway_seconds,"
                    " require_expiry, published, allowed_origins, referral_reward_kind,"
                    " referral_reward_amount, referral_reward_on, time_zone, version,"
                    " created_at, updated_at) VALUES ('acme', 'Acme', 'standard', '[]', 30,"
                    " 0, 0, '[]', 'credit', 10, 'conversion', 'UTC', 1,"
                    " '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
                )
            )
            for pk, external, balance in ((1, "ann", 70), (2, "bob", 0)):
                connection.execute(
                    text(
                        "INSERT INTO users (id, product_id, external_id, extra, first_seen_at,"
                        " last_seen_at) VALUES (:pk, 'acme', :external, '{}',"
                        " '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
                    ),
                    {"pk": pk, "external": external},
                )
                connection.execute(
                    text(
                        "INSERT INTO loyalty_accounts (user_pk, product_id, balance, lifetime)"
                        " VALUES (:pk, 'acme', :balance, 100)"
                    ),
                    {"pk": pk, "balance": balance},
                )
                for delta in (100, balance - 100):
                    connection.execute(
                        text(
                            "INSERT INTO ledger_entries (product_id, user_pk, delta, kind,"
                            " reason, balance_after, created_at) VALUES ('acme', :pk, :delta,"
                            " 'adjust', 'before', 0, '2026-01-01 00:00:00.000000')"
                        ),
                        {"pk": pk, "delta": delta},
                    )
        upgrade(engine)
        with engine.connect() as connection:
            lots = connection.execute(
                text(
                    "SELECT user_pk, kind, delta, remaining, expires_at, available_at, held"
                    " FROM ledger_entries WHERE remaining IS NOT NULL"
                )
            ).all()
            assert [tuple(lot) for lot in lots] == [(1, "carry", 0, 70, None, None, 0)]
            sums = connection.execute(
                text(
                    "SELECT a.user_pk, a.balance, a.pending, SUM(e.delta) FROM loyalty_accounts a"
                    " JOIN ledger_entries e ON e.user_pk = a.user_pk GROUP BY a.user_pk"
                    " ORDER BY a.user_pk"
                )
            ).all()
            assert [tuple(row) for row in sums] == [(1, 70, 0, 70), (2, 0, 0, 0)]
    finally:
        engine.dispose()
