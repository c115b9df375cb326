"""What tiers held by a rolling window cost the credit path, and what the background step costs.

    python bench/tiers.py [--users 2000] [--history 20] [--stores sqlite,postgres]
                          [--postgres-url URL] [--rounds 5] [--json]

For each store it makes a product with ``--users`` users, each with ``--history`` earning
entries spread over the last two years (written with ``ledger.credit_many``), then times, per
round, in a rotating order:

``lifetime``  ``ledger.credit_many`` of one batch of 1,000 credits (one per user) under lifetime
              tiers: the credit path as it always was (upgrades from the running figures).
``rolling``   the same batch under a rolling window: the credit path leaves tiers alone.
``sum``       the reference the design avoids: the same 1,000 credits, each followed by the
              window SUM of its user's ledger (what a credit path that re-evaluated rolling
              tiers per event would add), timed for the SUMs alone.
``pass``      one ``requalify`` pass after a rolling batch: finds the 1,000 earners, sums their
              windows in one grouped read, moves the users whose tier changed.

The table shows the median round in microseconds per credit (per user evaluated for ``pass``).
Each round runs in a transaction that is rolled back, so every round starts from the same
ledger. PostgreSQL: the database at ``--postgres-url`` (default:
``PLAUDIT_BENCH_POSTGRES_URL``) is emptied and migrated again: give it a database of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]
sys.path.append(str(Path(__file__).resolve().parent))  # after the standard library: benchkit

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from benchkit import PREFIX, machine, postgres_database, reset
from plaudit.loyalty import ledger, requalify, tiers
from plaudit.loyalty.ledger import Credit
from plaudit.products.models import Product
from plaudit.products.service import create_product
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from plaudit.users.models import User

NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)
BATCH = 1000
LADDER = [("Bronze", 0), ("Silver", 500), ("Gold", 2000)]


def generate(db: Database, users: int, history: int) -> str:
    """A product, its users, and ``history`` earns each spread over two years."""
    product_id = f"{PREFIX}tiers"
    with db.session() as session:
        create_product(
            session,
            box=SecretBox(Fernet.generate_key().decode()),
            name="Bench",
            product_id=product_id,
        )
        members = [
            User(product_id=product_id, external_id=f"u{n}", extra={}, first_seen_at=NOW)
            for n in range(users)
        ]
        session.add_all(members)
        session.flush()
        product = session.get(Product, product_id)
        assert product is not None  # noqa: S101  # made just above
        tiers.replace_tiers(session, product, LADDER)
        for step in range(history):
            at = NOW - dt.timedelta(days=730 * (history - step) / history)
            batch = [
                Credit(user=m, points=7 + step % 5, kind="earn", reason="Bench") for m in members
            ]
            for start in range(0, len(batch), BATCH):
                ledger.credit_many(session, product, batch[start : start + BATCH], now=at)
    return product_id


def _policy(session: Session, product: Product, held_by: str) -> None:
    policy = tiers.Policy(held_by="rolling", window_days=365, grace_days=30)
    if held_by == "lifetime":
        policy = tiers.Policy()
    tiers.replace_tiers(session, product, LADDER, policy=policy)
    session.flush()


def _round(db: Database, product_id: str, method: str) -> float:
    """One rolled-back round of ``method``; microseconds per credit (per user for ``pass``)."""
    with db.engine.connect() as connection:
        transaction = connection.begin()
        try:
            session = Session(bind=connection)
            product = session.get(Product, product_id)
            assert product is not None  # noqa: S101
            members = list(session.query(User).filter(User.product_id == product_id).limit(BATCH))
            _policy(session, product, "lifetime" if method == "lifetime" else "rolling")
            credits = [Credit(user=m, points=10, kind="earn", reason="Bench") for m in members]
            cutoff = NOW - dt.timedelta(days=365)
            timed: Callable[[], object]
            if method in ("lifetime", "rolling"):

                def timed() -> object:
                    return ledger.credit_many(session, product, credits, now=NOW)

            elif method == "sum":
                ledger.credit_many(session, product, credits, now=NOW)

                def timed() -> object:
                    return [
                        requalify.window_points(session, product_id, [m.id], cutoff=cutoff)
                        for m in members
                    ]

            else:
                requalify.requalify(session, product, now=NOW)  # the sweep after the change
                ledger.credit_many(session, product, credits, now=NOW)

                def timed() -> object:
                    return requalify.requalify(session, product, now=NOW)

            started = time.perf_counter()
            timed()
            session.flush()
            return (time.perf_counter() - started) * 1e6 / len(members)
        finally:
            transaction.rollback()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--stores", default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("PLAUDIT_BENCH_POSTGRES_URL"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    methods = ["lifetime", "rolling", "sum", "pass"]
    results: dict[str, dict[str, float]] = {}
    for store in args.stores.split(","):
        if store == "postgres":
            if not args.postgres_url:
                print("postgres: give --postgres-url", file=sys.stderr)
                return 2
            found = postgres_database(args.postgres_url)
            if isinstance(found, str):
                print(found, file=sys.stderr)
                return 2
            db = found
        else:
            db = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
            reset(db)
        product_id = generate(db, args.users, args.history)
        rounds: dict[str, list[float]] = {m: [] for m in methods}
        for n in range(args.rounds):
            for method in methods[n % 4 :] + methods[: n % 4]:
                rounds[method].append(_round(db, product_id, method))
        results[store] = {m: round(statistics.median(v), 1) for m, v in rounds.items()}
        db.dispose()
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}))
        return 0
    print(f"{machine()}; {args.users} users x {args.history} entries; us per credit (per user)")
    for store, row in results.items():
        cells = "  ".join(f"{m} {v:8.1f}" for m, v in row.items())
        print(f"{store:9} {cells}  sum/rolling {row['sum'] / row['rolling']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
