"""What a product's analytics dashboard costs at 1,000,000 users, on SQLite and PostgreSQL.

    python bench/analytics.py [--users 1m] [--stores sqlite,postgres] [--postgres-url URL]
                              [--rounds 5] [--days 30] [--json]

It makes one product with ``--users`` users and 90 days of their history straight in the store,
set-wise (``INSERT ... SELECT`` over a generated series, in chunks, with a progress bar):

    events          2 per user             (what "active users" counts)
    ledger          1 earn per event, 1 redemption per 10 users, 1 expiry per 50
    redemptions     1 per 10 users, over 5 rewards
    referral clicks 3 per 10 users; referrals 1 per 7 users, a third converted and rewarded

Times are spread evenly over the 90 days before ``NOW``, users and rules by multiplicative
hashes of the row number: the same data on both stores. Then, after ``ANALYZE``, it times each
query of the dashboard (``plaudit.analytics.service``) over the last ``--days`` days, and the
whole dashboard (``service.dashboard``, what the console's Analytics page and
``GET /v1/products/{id}/analytics`` run), ``--rounds`` times each after a warm-up round, and
prints the median milliseconds. The first, cold call is shown beside it.

Before timing, the dashboard's totals are checked against plain counts of the generated rows.

PostgreSQL: the database at ``--postgres-url`` (default: ``PLAUDIT_BENCH_POSTGRES_URL``) is
emptied, its Plaudit tables dropped and migrated again, so give the benchmark a database of its
own; it refuses one holding products it did not make. SQLite runs in a temporary directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py (named by its issue) would shadow the standard library's http package for any
# script run from this folder: take this folder off the path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]
sys.path.append(str(Path(__file__).resolve().parent))  # after the standard library: benchkit

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from cryptography.fernet import Fernet
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from benchkit import machine, postgres_database
from plaudit.analytics import queries, rollup, service
from plaudit.analytics.models import AnalyticsDay
from plaudit.analytics.period import Period
from plaudit.events.models import Event
from plaudit.loyalty.models import EarningRule, LedgerEntry
from plaudit.products.models import Product
from plaudit.products.service import create_product
from plaudit.referrals.models import Referral, ReferralClick
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from plaudit.store.migrate import upgrade
from plaudit.users.models import User

#: Noon UTC on 2026-03-18: the history is the 90 days before it.
NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)
HISTORY_SECONDS = 90 * 86_400
PRODUCT = "bench-analytics"
CHUNK = 100_000
RULES = ("rul_bench_checkin", "rul_bench_purchase", "rul_bench_review", "rul_bench_share")
REWARDS = ("rwd_bench_mug", "rwd_bench_shirt", "rwd_bench_cap", "rwd_bench_pen", "rwd_bench_bag")

console = Console(stderr=True)

#: Multiplicative hashes of a row number: independent-looking draws, the same on both stores.
_MULTIPLIERS = (2654435761, 2246822519, 3266489917, 668265263, 374761393)


def _draw(k: int, modulo: int, column: str = "n") -> str:
    """An integer in [0, modulo) from the row number ``column``."""
    return f"((({column} * {_MULTIPLIERS[k]} + {k * 7919}) % 2147483647) % {modulo})"


def parse_size(word: str) -> int:
    word = word.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(word[-1:], 1)
    return int(float(word[:-1] if scale > 1 else word) * scale)


class Store:
    """One store's idioms: a generated series and a stored time ``seconds`` before NOW."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sqlite = db.is_sqlite

    def series(self) -> tuple[str, str]:
        if self.sqlite:
            return (
                "WITH RECURSIVE s(n) AS (SELECT :lo UNION ALL SELECT n + 1 FROM s WHERE n < :hi) ",
                "s",
            )
        return "", "generate_series(CAST(:lo AS BIGINT), CAST(:hi AS BIGINT)) AS s(n)"

    def time(self, seconds_before: str) -> str:
        epoch = int(NOW.timestamp())
        if self.sqlite:
            # The text SQLAlchemy stores on SQLite (store.base.UTCDateTime): microseconds too.
            return f"(datetime({epoch} - {seconds_before}, 'unixepoch') || '.000000')"
        return f"to_timestamp({epoch} - {seconds_before})"

    def begin_load(self, connection: Any) -> None:
        if self.sqlite:
            connection.exec_driver_sql("PRAGMA cache_size = -262144")
        else:
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")


def _insert(
    store: Store,
    progress: Progress,
    task: Any,
    label: str,
    rows: int,
    sql: str,
    params: dict[str, Any],
) -> None:
    """``sql`` (an INSERT ... SELECT ... FROM {source}) for n = 1 .. rows, chunk by chunk."""
    prefix, source = store.series()
    statement = text(prefix + sql.replace("{source}", source))
    progress.update(task, description=f"{label}")
    if not progress.console.is_terminal:  # no live bar in a log file: a line per step
        progress.console.log(f"{label}: {rows:,} rows")
    with store.db.engine.begin() as connection:
        store.begin_load(connection)
        for lo in range(1, rows + 1, CHUNK):
            hi = min(lo + CHUNK - 1, rows)
            connection.execute(statement, {**params, "lo": lo, "hi": hi})
            progress.advance(task, hi - lo + 1)


def seed(db: Database, users: int, progress: Progress, name: str) -> dict[str, int]:
    """The product and its history; the number of rows of each kind."""
    store = Store(db)
    with db.session() as session:
        create_product(
            session,
            box=SecretBox(Fernet.generate_key().decode()),
            name="Bench",
            product_id=PRODUCT,
        )
        for n, rule_id in enumerate(RULES):
            kind = rule_id.removeprefix("rul_bench_")
            session.add(
                EarningRule(
                    id=rule_id,
                    product_id=PRODUCT,
                    name=kind.title(),
                    event_type=kind,
                    points=10 * (n + 1),
                )
            )
    # Indexes are built after the load, in one sorted pass each: inserting millions of rows
    # into five random-order B-trees at once takes many times longer.
    tables = [Event.__table__, LedgerEntry.__table__, ReferralClick.__table__, Referral.__table__]
    deferred = [index for table in tables for index in table.indexes]  # type: ignore[attr-defined]
    with db.engine.begin() as connection:
        for index in deferred:
            index.drop(connection)
    events, redemptions = 2 * users, users // 10
    expiries, clicks, referrals = users // 50, 3 * users // 10, users // 7
    counts = {
        "users": users,
        "events": events,
        "ledger": events + redemptions + expiries,
        "redemptions": redemptions,
        "referral_clicks": clicks,
        "referrals": referrals,
    }
    task = progress.add_task(f"{name}: seeding", total=sum(counts.values()) + referrals // 3)
    extra = "'{}'" if store.sqlite else "CAST('{}' AS JSON)"
    seen = store.time("0")
    _insert(
        store,
        progress,
        task,
        f"{name}: users",
        users,
        "INSERT INTO users (product_id, external_id, email, first_name, extra, first_seen_at, "  # noqa: S608
        f"last_seen_at) SELECT :p, 'u' || n, 'u' || n || '@example.com', 'Player' || n, {extra}, "
        f"{seen}, {seen} FROM {{source}}",
        {"p": PRODUCT},
    )
    with db.engine.connect() as connection:
        first = connection.scalar(select(func.min(User.id)).where(User.product_id == PRODUCT))
    user = f"({first} + {_draw(0, users)})"
    when = store.time(_draw(1, HISTORY_SECONDS))
    rule_index = _draw(2, len(RULES))
    rule_case = "CASE " + " ".join(
        f"WHEN {rule_index} = {i} THEN '{r}'" for i, r in enumerate(RULES)
    )
    type_case = rule_case.replace("'rul_bench_", "'") + " END"
    rule_case += " END"
    _insert(
        store,
        progress,
        task,
        f"{name}: events",
        events,
        "INSERT INTO events (id, product_id, user_pk, type, properties, source, created_at) "  # noqa: S608
        f"SELECT 'evt_b' || n, :p, {user}, {type_case}, {extra}, 'server', {when} FROM {{source}}",
        {"p": PRODUCT},
    )
    # One earn per event, with the event's user, time and rule: the same draws of the same n.
    _insert(
        store,
        progress,
        task,
        f"{name}: ledger (earn)",
        events,
        "INSERT INTO ledger_entries (product_id, user_pk, delta, kind, reason, balance_after, "  # noqa: S608
        f"rule_id, event_id, created_at) SELECT :p, {user}, 10 * (1 + {rule_index}), 'earn', "
        f"'', 10, {rule_case}, 'evt_b' || n, {when} FROM {{source}}",
        {"p": PRODUCT},
    )
    reward_index = _draw(3, len(REWARDS))
    reward_case = (
        "CASE " + " ".join(f"WHEN {reward_index} = {i} THEN '{r}'" for i, r in enumerate(REWARDS))
    ) + " END"
    name_case = reward_case.replace("'rwd_bench_", "'Bench ")
    cost = f"(100 * (1 + {reward_index}))"
    _insert(
        store,
        progress,
        task,
        f"{name}: redemptions",
        redemptions,
        "INSERT INTO redemptions (id, product_id, user_pk, reward_id, reward_name, cost, "  # noqa: S608
        f"created_at) SELECT 'red_b' || n, :p, {user}, {reward_case}, {name_case}, {cost}, "
        f"{when} FROM {{source}}",
        {"p": PRODUCT},
    )
    _insert(
        store,
        progress,
        task,
        f"{name}: ledger (redeem)",
        redemptions,
        "INSERT INTO ledger_entries (product_id, user_pk, delta, kind, reason, balance_after, "  # noqa: S608
        f"redemption_id, created_at) SELECT :p, {user}, -{cost}, 'redeem', '', 0, 'red_b' || n, "
        f"{when} FROM {{source}}",
        {"p": PRODUCT},
    )
    _insert(
        store,
        progress,
        task,
        f"{name}: ledger (expire)",
        expiries,
        "INSERT INTO ledger_entries (product_id, user_pk, delta, kind, reason, balance_after, "  # noqa: S608
        f"created_at) SELECT :p, {user}, -5, 'expire', 'Expired', 0, {when} FROM {{source}}",
        {"p": PRODUCT},
    )
    _insert(
        store,
        progress,
        task,
        f"{name}: referral clicks",
        clicks,
        "INSERT INTO referral_clicks (product_id, referrer_pk, created_at) "  # noqa: S608
        f"SELECT :p, {user}, {when} FROM {{source}}",
        {"p": PRODUCT},
    )
    # A third of the referrals convert, a day after signing up, and earn their referrer 10.
    converted = f"CASE WHEN n % 3 = 0 THEN {store.time(_draw(1, HISTORY_SECONDS) + ' - 86400')} END"
    _insert(
        store,
        progress,
        task,
        f"{name}: referrals",
        referrals,
        "INSERT INTO referrals (product_id, referrer_pk, referred_external_id, signed_up_at, "  # noqa: S608
        f"converted_at) SELECT :p, {user}, 'r' || n, {when}, {converted} FROM {{source}}",
        {"p": PRODUCT},
    )
    rewards = text(
        "INSERT INTO referral_rewards (product_id, user_pk, referral_id, kind, amount, created_at) "
        "SELECT product_id, referrer_pk, id, 'credit', 10, converted_at FROM referrals "
        "WHERE product_id = :p AND converted_at IS NOT NULL"
    )
    progress.update(task, description=f"{name}: referral rewards")
    with db.engine.begin() as connection:
        store.begin_load(connection)
        connection.execute(rewards, {"p": PRODUCT})
    progress.advance(task, referrals // 3)
    progress.update(task, description=f"{name}: indexes")
    if not progress.console.is_terminal:
        progress.console.log(f"{name}: building {len(deferred)} indexes")
    with db.engine.begin() as connection:
        store.begin_load(connection)
        for index in deferred:
            index.create(connection)
    progress.update(task, description=f"{name}: analyze")
    if store.sqlite:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    progress.update(task, description=f"{name}: seeded")
    return counts


# --- measuring -----------------------------------------------------------------------------

QUERIES: dict[str, Callable[[Session, Product, Period], object]] = {
    "funnel (clicks, signups, conversions, rewards)": partial(service.funnel, now=NOW),
    "points by day (earned, redeemed, expired, adjusted)": partial(service.points, now=NOW),
    "active users (by day, and distinct over the period)": partial(service.active_users, now=NOW),
    "top rewards": partial(service.top_rewards, now=NOW),
    "top rules": partial(service.top_rules, now=NOW),
}
WHOLE = "whole dashboard (service.dashboard)"
FIRST = "first read: counts and keeps the ended days"
DISTINCT = "for reference: exact distinct count (not on the dashboard)"


def load(session: Session) -> Product:
    product = session.get(Product, PRODUCT)
    if product is None:
        raise SystemExit(f"no product {PRODUCT}")
    return product


def check(db: Database, when: Period) -> None:
    """The dashboard's totals are plain counts of the generated rows."""
    with db.session() as session:
        product = load(session)
        board = service.dashboard(session, product, when, now=NOW)

        def count(model: Any, column: Any) -> int:
            return int(
                session.scalar(
                    select(func.count()).where(
                        model.product_id == PRODUCT, column >= when.start, column < when.end
                    )
                )
                or 0
            )

        earned = session.scalar(
            select(func.sum(LedgerEntry.delta)).where(
                LedgerEntry.product_id == PRODUCT,
                LedgerEntry.kind == "earn",
                LedgerEntry.created_at >= when.start,
                LedgerEntry.created_at < when.end,
            )
        )
        expected = {
            "clicks": count(ReferralClick, ReferralClick.created_at),
            "earned": int(earned or 0),
        }
        exact = queries.active_in_period(session, PRODUCT, when)
    found = {"clicks": board.funnel.totals["clicks"], "earned": board.points.totals["earned"]}
    estimate = board.active_users.total
    console.print(f"[dim]distinct active users: {exact:,} exact, {estimate:,} estimated[/dim]")
    if abs(estimate - exact) > 0.05 * exact:
        raise SystemExit(f"the active users estimate {estimate} is not within 5% of {exact}")
    if found != expected or not board.top_rules:
        raise SystemExit(f"the dashboard disagrees with plain counts: {found} != {expected}")


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, this process's CPU ms) of ``work``: on SQLite the store runs in this process,
    so its CPU time is the query's cost even on a machine busy with other work."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def measure(db: Database, when: Period, rounds: int) -> dict[str, dict[str, float]]:
    """name -> {cold_ms, median_ms, median_cpu_ms}."""
    results: dict[str, dict[str, float]] = {}
    with db.session() as session:
        session.execute(delete(AnalyticsDay))  # check() kept them: count them again, timed
    with db.session() as session:
        first, first_cpu = _timed(lambda: rollup.daily(session, PRODUCT, when, now=NOW))
    results[FIRST] = {"cold_ms": first, "median_ms": first, "median_cpu_ms": first_cpu}
    steps: dict[str, Callable[[Session, Product, Period], object]] = {
        **QUERIES,
        DISTINCT: lambda session, product, period: queries.active_in_period(
            session, product.id, period
        ),
        WHOLE: partial(service.dashboard, now=NOW),
    }
    for name, step in steps.items():
        timings: list[tuple[float, float]] = []
        for _ in range(rounds + 1):
            with db.session() as session:
                product = load(session)
                timings.append(_timed(lambda: step(session, product, when)))  # noqa: B023
        results[name] = {
            "cold_ms": timings[0][0],
            "median_ms": statistics.median(t[0] for t in timings[1:]),
            "median_cpu_ms": statistics.median(t[1] for t in timings[1:]),
        }
    return results


def run_store(name: str, db: Database, args: argparse.Namespace) -> dict[str, Any]:
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        started = time.perf_counter()
        counts = seed(db, args.users, progress, name)
        seeded = time.perf_counter() - started
    when = Period(NOW.date() - dt.timedelta(days=args.days - 1), NOW.date())
    check(db, when)
    console.print(f"[dim]{name}: seeded in {seeded:.0f} s; timing {args.rounds} rounds[/dim]")
    return {"rows": counts, "seed_seconds": seeded, "timings": measure(db, when, args.rounds)}


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    out = Console()
    out.print(
        f"Dashboard of one product with {args.users:,} users over its last {args.days} days "
        f"(median of {args.rounds} rounds after a warm-up; {machine()}). CPU ms: this "
        "process's CPU time, the whole cost on SQLite, the client's share on PostgreSQL."
    )
    for store, result in results.items():
        rows = ", ".join(f"{k} {v:,}" for k, v in result["rows"].items())
        table = Table(title=f"{store}: {rows}", title_justify="left")
        table.add_column("query")
        table.add_column("median ms", justify="right")
        table.add_column("CPU ms", justify="right")
        table.add_column("cold ms", justify="right")
        for name, timing in result["timings"].items():
            style = "bold" if name == WHOLE else "dim" if name == DISTINCT else None
            table.add_row(
                name,
                f"{timing['median_ms']:.0f}",
                f"{timing['median_cpu_ms']:.0f}",
                f"{timing['cold_ms']:.0f}",
                style=style,
            )
        out.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=parse_size, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=os.environ.get("PLAUDIT_BENCH_POSTGRES_URL"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    results: dict[str, dict[str, Any]] = {}
    if "sqlite" in stores:
        folder = tempfile.mkdtemp(prefix="plaudit-bench-analytics-")
        db = Database(f"sqlite:///{folder}/bench.db")
        try:
            upgrade(db.engine)
            results["sqlite"] = run_store("sqlite", db, args)
        finally:
            db.dispose()
            shutil.rmtree(folder, ignore_errors=True)
    if "postgres" in stores:
        if not args.postgres_url:
            console.print("[yellow]postgres: skipped (set PLAUDIT_BENCH_POSTGRES_URL)[/yellow]")
        else:
            found = postgres_database(args.postgres_url)
            if isinstance(found, str):
                raise SystemExit(f"postgres: {found}")
            try:
                results["postgres"] = run_store("postgres", found, args)
            finally:
                found.dispose()
    if args.json:
        print(json.dumps({"users": args.users, "days": args.days, "results": results}, indent=2))
    else:
        report(results, args)


if __name__ == "__main__":
    main()
