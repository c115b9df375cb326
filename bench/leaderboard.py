"""What reading a leaderboard costs with 1,000 users and with 1,000,000, on SQLite and PostgreSQL.

    python bench/leaderboard.py [--sizes 1k,10k,100k,1m] [--stores sqlite,postgres]
                                [--postgres-url URL] [--rounds 15] [--quick] [--json]

For each size it makes a product with that many users and their points tallies (all time, this
month, this week) straight in the store, with ``INSERT ... SELECT`` over a generated series, then:

``refresh``   ``leaderboards.refresh`` of each board, timed once from empty and once again
              after the ledger moved (deleting the old ranks first: what the background loop
              pays every ``PLAUDIT_LEADERBOARD_REFRESH_SECONDS`` on a busy product). It grows
              with the number of users; that is expected, it is background work.
``snapshot``  ``leaderboards.read``, the widget's call: the top 10 and the user's own rank and
              points, for a user at the top, one in the middle and one at the bottom of each
              of the three boards (9 reads), from the ranked snapshot.
``live``      the reference: the same answer computed from the tallies on every read, the
              best way without a snapshot: top 10 by ``ORDER BY points DESC LIMIT 10`` on the
              tallies' index, and the user's rank as 1 + ``COUNT`` of users with more points.

Before timing, both answers are compared for every measured user: they must be equal.

Rounds interleave the sizes and the two read methods in a rotating order; each round times the
9 reads of every (size, method) in a session of its own, and the table shows the median round
(microseconds per read) with its ratio to the smallest size. The data is generated, the same on
both stores: points follow a Pareto law (80/20: most users hold a few points, a few hold a
lot; many ties), about 30% of users earned this month and 10% this week.

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
import gc
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.fernet import Fernet
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from benchkit import machine, postgres_database, reset
from plaudit.gamification import leaderboards
from plaudit.gamification.models import LeaderboardRank, LeaderboardSnapshot
from plaudit.loyalty.models import PointsTally
from plaudit.periods import BOARDS, board_period
from plaudit.products.models import Product
from plaudit.products.service import create_product
from plaudit.store.base import UTCDateTime
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from plaudit.store.migrate import upgrade
from plaudit.users.models import User

#: Wednesday 2026-03-18, 12:00 UTC: the boards' week and month are those of this instant.
NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)
FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
PREFIX = "bench-lb-"
CHUNK = 100_000
TOP = 10
POSITIONS = ("top", "middle", "bottom")

console = Console(stderr=True)
T = TypeVar("T")


# --- generated data ------------------------------------------------------------------------

#: Multiplicative hashes of a user's row id: five independent-looking uniform draws, the same
#: on both stores (integer arithmetic, then one division).
_MULTIPLIERS = (2654435761, 2246822519, 3266489917, 668265263, 374761393)


def _uniform(k: int, column: str = "id") -> str:
    """A draw in [0, 1) from the row id, with a resolution of 1e-6."""
    return (
        f"(CAST(((CAST({column} AS BIGINT) * {_MULTIPLIERS[k]} + {k * 7919}) % 2147483647) % 1000000"
        " AS DOUBLE PRECISION) / 1000000)"
    )


#: All-time points: Pareto with x_m = 10 and alpha = 1.16 (the 80/20 law), floored: median 18,
#: a few users above 100,000, and thousands of ties at the low end.
ALL_POINTS = f"floor(10 / power(1 - {_uniform(0)}, {1 / 1.16!r}))"
#: This month: 5 to 30% of a user's all-time points, at least 1; this week: 10 to 50% of that.
MONTH_POINTS = f"(1 + floor({ALL_POINTS} * (0.05 + 0.25 * {_uniform(2)})))"
WEEK_POINTS = f"(1 + floor({MONTH_POINTS} * (0.1 + 0.4 * {_uniform(4)})))"
IN_MONTH = f"{_uniform(1)} < 0.3"
IN_WEEK = f"{IN_MONTH} AND {_uniform(3)} < 0.35"


def label(size: int) -> str:
    for unit, scale in (("m", 1_000_000), ("k", 1_000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def parse_size(word: str) -> int:
    word = word.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(word[-1:], 1)
    return int(float(word[:-1] if scale > 1 else word) * scale)


def _sqlite_math(db: Database) -> None:
    """power() and floor() are built into most SQLite builds (3.35+); supply them otherwise."""

    @contextmanager
    def raw() -> Iterator[Any]:
        connection = db.engine.raw_connection()
        try:
            yield connection
        finally:
            connection.close()

    with raw() as connection:
        try:
            connection.execute("SELECT power(2, 3), floor(1.5)")
            return
        except Exception:  # noqa: S110  # a missing function: register ours below
            pass

    from sqlalchemy import event

    @event.listens_for(db.engine, "connect")
    def _math(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("power", 2, math.pow, deterministic=True)
        dbapi_connection.create_function("floor", 1, math.floor, deterministic=True)

    db.engine.dispose()


def _series(db: Database) -> tuple[str, str]:
    """(prefix, source) of a statement over n = :lo .. :hi, in each store's idiom."""
    if db.is_sqlite:
        return (
            "WITH RECURSIVE s(n) AS (SELECT :lo UNION ALL SELECT n + 1 FROM s WHERE n < :hi) ",
            "s",
        )
    return "", "generate_series(CAST(:lo AS BIGINT), CAST(:hi AS BIGINT)) AS s(n)"


def _chunks(lo: int, hi: int) -> Iterator[tuple[int, int]]:
    for start in range(lo, hi + 1, CHUNK):
        yield start, min(start + CHUNK - 1, hi)


def _loading(connection: Any, db: Database) -> None:
    """A bulk load's settings, for this transaction only where the store allows it."""
    if db.is_sqlite:
        # SQLite's default 2 MB page cache makes a million random index inserts crawl; the
        # pooled connection keeps the size, which is reset after the load (see measure()).
        connection.exec_driver_sql("PRAGMA cache_size = -262144")
    else:
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")


def generate(db: Database, size: int, progress: Progress, store: str) -> str:
    """A product with ``size`` users and their points tallies; its id. (No ledger, accounts or
    events: neither a read nor a refresh looks at them.)"""
    product_id = f"{PREFIX}{label(size)}"
    with db.session() as session:
        create_product(
            session,
            box=SecretBox(Fernet.generate_key().decode()),
            name="Bench",
            product_id=product_id,
        )
    prefix, source = _series(db)
    extra = "'{}'" if db.is_sqlite else "CAST('{}' AS JSON)"
    # S608: the SQL is built from this module's constants; the values are bound parameters.
    users = text(
        f"{prefix}INSERT INTO users (product_id, external_id, first_name, last_name, extra, "  # noqa: S608
        "first_seen_at, last_seen_at, listed_at) "
        f"SELECT :product, 'u' || n, 'Player' || n, 'Bench', {extra}, :now, :now, :now "
        f"FROM {source}"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    _, week, month = (board_period(board, NOW, "UTC") for board in BOARDS)
    boards = (
        ("all", ALL_POINTS, "1 = 1"),
        (month, MONTH_POINTS, IN_MONTH),
        (week, WEEK_POINTS, IN_WEEK),
    )
    task = progress.add_task(f"{store} {label(size)}: users", total=size * 4)
    with db.engine.begin() as connection:
        _loading(connection, db)
        for lo, hi in _chunks(1, size):
            connection.execute(users, {"product": product_id, "now": NOW, "lo": lo, "hi": hi})
            progress.advance(task, hi - lo + 1)
    with db.engine.connect() as connection:
        first, last = connection.execute(
            select(func.min(User.id), func.max(User.id)).where(User.product_id == product_id)
        ).one()
    progress.update(task, description=f"{store} {label(size)}: tallies")
    with db.engine.begin() as connection:
        _loading(connection, db)
        for period, points, member in boards:
            statement = text(
                "INSERT INTO points_tallies (user_pk, period, product_id, points) "  # noqa: S608
                f"SELECT id, :period, product_id, {points} FROM users "
                f"WHERE product_id = :product AND id BETWEEN :lo AND :hi AND {member}"
            )
            for lo, hi in _chunks(first, last):
                connection.execute(
                    statement, {"period": period, "product": product_id, "lo": lo, "hi": hi}
                )
                progress.advance(task, hi - lo + 1)
    progress.update(task, description=f"{store} {label(size)}: done")
    return product_id


def analyze(db: Database) -> None:
    """What autovacuum would have done by the time anyone reads: statistics, visibility map."""
    if db.is_sqlite:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("users", "points_tallies", "leaderboard_ranks"):
            connection.exec_driver_sql(f"VACUUM ANALYZE {table}")


# --- the two ways of reading a board -------------------------------------------------------


def live_read(
    session: Session, product: Product, board: str, *, now: dt.datetime, user: User
) -> dict[str, Any]:
    """``leaderboards.read``'s answer computed from the tallies, without a snapshot.

    The top 10 come off the tallies' (product, period, points) index; each entry's rank is 1 +
    the entries before it with more points (everyone with more points is before it). The
    user's rank is 1 + the number of users with more points: an index range scan as long as
    the number of users above them.
    """
    period = board_period(board, now, product.time_zone)
    rows = session.execute(
        select(PointsTally.points, User)
        .join(User, User.id == PointsTally.user_pk)
        .where(
            PointsTally.product_id == product.id,
            PointsTally.period == period,
            PointsTally.points > 0,
        )
        .order_by(PointsTally.points.desc(), PointsTally.user_pk)
        .limit(TOP)
    )
    entries: list[dict[str, Any]] = []
    for index, (points, member) in enumerate(rows):
        rank = index + 1 if index == 0 or points != entries[-1]["points"] else entries[-1]["rank"]
        entries.append(
            {
                "rank": rank,
                "display_name": leaderboards.display_name(member),
                "points": points,
                "me": member.id == user.id,
            }
        )
    my_points = session.scalar(
        select(PointsTally.points).where(
            PointsTally.product_id == product.id,
            PointsTally.user_pk == user.id,
            PointsTally.period == period,
        )
    )
    my_rank = None
    if my_points:
        above = session.scalar(
            select(func.count())
            .select_from(PointsTally)
            .where(
                PointsTally.product_id == product.id,
                PointsTally.period == period,
                PointsTally.points > my_points,
            )
        )
        my_rank = (above or 0) + 1
    return {"entries": entries, "me": {"rank": my_rank, "points": my_points or 0}}


def snapshot_read(
    session: Session, product: Product, board: str, *, now: dt.datetime, user: User
) -> dict[str, Any]:
    return leaderboards.read(session, product, board, now=now, limit=TOP, user=user)


METHODS: dict[str, Callable[..., dict[str, Any]]] = {"snapshot": snapshot_read, "live": live_read}


# --- measuring -----------------------------------------------------------------------------


@dataclass
class SizeRun:
    size: int
    product_id: str
    ranked: dict[str, int] = field(default_factory=dict)
    refresh_first: dict[str, float] = field(default_factory=dict)
    refresh_again: dict[str, float] = field(default_factory=dict)
    #: (board, position) -> user pk
    targets: dict[tuple[str, str], int] = field(default_factory=dict)
    #: method -> per-round microseconds per read (the mean of the 9 reads)
    rounds: dict[str, list[float]] = field(default_factory=dict)
    #: method -> (board, position) -> per-round microseconds
    detail: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def load(session: Session, model: type[T], key: Any) -> T:
    found = session.get(model, key)
    if found is None:
        raise SystemExit(f"no {model.__name__} {key!r}")
    return found


def refresh_boards(db: Database, run: SizeRun) -> None:
    for board in BOARDS:
        for timings in (run.refresh_first, run.refresh_again):
            if timings is run.refresh_again:
                # The ledger moved since: what makes the background loop rank the board again.
                with db.session() as session:
                    session.execute(
                        update(LeaderboardSnapshot)
                        .where(
                            LeaderboardSnapshot.product_id == run.product_id,
                            LeaderboardSnapshot.board == board,
                        )
                        .values(last_entry_id=-1)
                    )
            start = time.perf_counter()
            with db.session() as session:
                product = load(session, Product, run.product_id)
                changed = leaderboards.refresh(session, product, board, now=NOW)
            timings[board] = time.perf_counter() - start
            if not changed:
                raise SystemExit(f"{run.product_id} {board}: refresh() found nothing to do")


def pick_targets(db: Database, run: SizeRun) -> None:
    """A user at the top, one in the middle and one at the bottom of each board."""
    with db.session() as session:
        for board in BOARDS:
            ranked = (
                select(LeaderboardRank.user_pk)
                .where(LeaderboardRank.product_id == run.product_id, LeaderboardRank.board == board)
                .order_by(LeaderboardRank.rank, LeaderboardRank.user_pk)
            )
            count = session.scalar(
                select(LeaderboardSnapshot.users).where(
                    LeaderboardSnapshot.product_id == run.product_id,
                    LeaderboardSnapshot.board == board,
                )
            )
            if not count:
                raise SystemExit(f"{run.product_id} {board}: the snapshot ranked nobody")
            run.ranked[board] = count
            for position, offset in zip(POSITIONS, (0, count // 2, count - 1), strict=True):
                run.targets[board, position] = session.scalar(ranked.offset(offset).limit(1))  # type: ignore[assignment]


def check_answers(db: Database, run: SizeRun) -> None:
    """The snapshot and the live query must give the same answer for every measured user."""
    with db.session() as session:
        product = load(session, Product, run.product_id)
        for (board, position), pk in run.targets.items():
            user = load(session, User, pk)
            snapshot = snapshot_read(session, product, board, now=NOW, user=user)
            live = live_read(session, product, board, now=NOW, user=user)
            if snapshot["entries"] != live["entries"] or snapshot["me"] != live["me"]:
                raise SystemExit(
                    f"{run.product_id} {board} {position}: the snapshot and the live query "
                    f"disagree:\n{snapshot['entries']} {snapshot['me']}\n"
                    f"{live['entries']} {live['me']}"
                )
            if position == "top" and snapshot["me"]["rank"] != 1:
                raise SystemExit(f"{run.product_id} {board}: the top user is not ranked 1")


def time_reads(db: Database, run: SizeRun, method: str) -> None:
    read = METHODS[method]
    timings: dict[str, float] = {}
    with db.session() as session:
        product = load(session, Product, run.product_id)
        users = {key: load(session, User, pk) for key, pk in run.targets.items()}
        for (board, position), user in users.items():
            start = time.perf_counter_ns()
            read(session, product, board, now=NOW, user=user)
            timings[f"{board}/{position}"] = (time.perf_counter_ns() - start) / 1e3
    run.rounds.setdefault(method, []).append(statistics.fmean(timings.values()))
    for key, value in timings.items():
        run.detail.setdefault(method, {}).setdefault(key, []).append(value)


def measure(db: Database, store: str, sizes: list[int], rounds: int) -> list[SizeRun]:
    runs: list[SizeRun] = []
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for size in sizes:
            runs.append(SizeRun(size, generate(db, size, progress, store)))
    db.engine.dispose()  # back to each connection's default settings (SQLite: cache_size)
    with console.status(f"{store}: VACUUM/ANALYZE after the load (untimed)"):
        analyze(db)
    for run in runs:
        with console.status(f"{store} {label(run.size)}: refreshing the three boards"):
            refresh_boards(db, run)
        console.print(
            f"{store} {label(run.size)}: refresh "
            + ", ".join(
                f"{board} {run.refresh_first[board]:.2f}s/{run.refresh_again[board]:.2f}s"
                for board in BOARDS
            )
            + " (from empty / again)"
        )
    with console.status(f"{store}: ANALYZE after the refresh (untimed)"):
        analyze(db)
    for run in runs:
        pick_targets(db, run)
        check_answers(db, run)
    pairs = [(run, method) for run in runs for method in METHODS]
    for run, method in pairs:  # warm: statement caches, the store's pages
        time_reads(db, run, method)
        run.rounds.clear()
        run.detail.clear()
    gc.collect()
    gc.disable()
    try:
        with console.status(f"{store}: {rounds} rounds of reads") as status:
            for round_no in range(rounds):
                shift = round_no % len(pairs)
                for run, method in pairs[shift:] + pairs[:shift]:
                    time_reads(db, run, method)
                status.update(f"{store}: round {round_no + 1} of {rounds}")
    finally:
        gc.enable()
    return runs


# --- stores --------------------------------------------------------------------------------


def sqlite_store(workdir: Path) -> Database:
    db = Database(f"sqlite:///{workdir / 'leaderboard.db'}")
    _sqlite_math(db)
    upgrade(db.engine)
    return db


# --- report --------------------------------------------------------------------------------


def summarize(runs: list[SizeRun]) -> list[dict[str, Any]]:
    base = {method: statistics.median(runs[0].rounds[method]) for method in METHODS}
    rows = []
    for run in runs:
        medians = {method: statistics.median(run.rounds[method]) for method in METHODS}
        rows.append(
            {
                "users": run.size,
                "ranked": run.ranked,
                "snapshot_us": medians["snapshot"],
                "snapshot_ratio": medians["snapshot"] / base["snapshot"],
                "live_us": medians["live"],
                "live_ratio": medians["live"] / base["live"],
                "live_over_snapshot": medians["live"] / medians["snapshot"],
                "refresh_seconds": run.refresh_again,
                "refresh_from_empty_seconds": run.refresh_first,
                "detail_us": {
                    method: {key: statistics.median(values) for key, values in per.items()}
                    for method, per in run.detail.items()
                },
            }
        )
    return rows


def render(store: str, rows: list[dict[str, Any]], rounds: int) -> Table:
    table = Table(
        title=f"{store}: one leaderboard read (top {TOP} + the user's rank), "
        f"median of {rounds} rounds",
        caption="read: microseconds per read, the mean of a user at the top, in the middle and "
        "at the bottom of each board; x: ratio to the smallest size. refresh: seconds to rank "
        "a board again (all-time / month / week), background work",
        caption_justify="left",
    )
    table.add_column("users", justify="right")
    table.add_column("ranked\nall / month / week", justify="right")
    table.add_column("snapshot\nread µs", justify="right")
    table.add_column("x", justify="right")
    table.add_column("live query\nread µs", justify="right")
    table.add_column("x", justify="right")
    table.add_column("live /\nsnapshot", justify="right")
    table.add_column("refresh s\nall / month / week", justify="right")
    for row in rows:
        ranked = row["ranked"]
        refresh = row["refresh_seconds"]
        table.add_row(
            f"{row['users']:,}",
            " / ".join(f"{ranked[b]:,}" for b in ("all-time", "month", "week")),
            f"{row['snapshot_us']:,.0f}",
            f"{row['snapshot_ratio']:.2f}x",
            f"{row['live_us']:,.0f}",
            f"{row['live_ratio']:.2f}x",
            f"{row['live_over_snapshot']:.1f}x",
            " / ".join(f"{refresh[b]:.2f}" for b in ("all-time", "month", "week")),
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        help=f"users per product, comma-separated (default {','.join(map(label, FULL_SIZES))})",
    )
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PLAUDIT_BENCH_POSTGRES_URL"),
        help="a database of the benchmark's own (default: $PLAUDIT_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--rounds", type=int, help="timed rounds (default 15; 5 with --quick)")
    parser.add_argument(
        "--quick", action="store_true", help="sizes 1k,10k and 5 rounds: a smoke run"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    sizes = sorted(
        {parse_size(w) for w in args.sizes.split(",")}
        if args.sizes
        else set(QUICK_SIZES if args.quick else FULL_SIZES)
    )
    rounds = args.rounds or (5 if args.quick else 15)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = set(stores) - {"sqlite", "postgres"}
    if unknown or not sizes or min(sizes) < 1:
        parser.error(f"unknown store(s) {sorted(unknown)}" if unknown else "sizes must be >= 1")

    report: dict[str, Any] = {"now": NOW.isoformat(), "rounds": rounds, "machine": machine()}
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    workdir = Path(tempfile.mkdtemp(prefix="plaudit-bench-leaderboard-"))
    try:
        for store in stores:
            db: Database | str
            if store == "sqlite":
                db = sqlite_store(workdir)
            elif not args.postgres_url:
                db = "no URL: set PLAUDIT_BENCH_POSTGRES_URL or pass --postgres-url"
            else:
                db = postgres_database(args.postgres_url)
            if isinstance(db, str):
                skipped[store] = db
                console.print(f"[yellow]{store} skipped[/]: {db}")
                continue
            try:
                results[store] = summarize(measure(db, store, sizes, rounds))
            finally:
                if not db.is_sqlite:
                    reset(db)  # leave no million rows behind
                db.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if args.json:
        print(json.dumps({**report, "results": results, "skipped": skipped}, indent=2))
        return 0
    out = Console()
    if not out.is_terminal:
        out.width = 132  # a log or a pipe: wide enough for the table
    for store, rows in results.items():
        out.print(render(store, rows, rounds))
        out.print()
    for store, why in skipped.items():
        out.print(f"{store}: skipped ({why})")
    out.print(f"Machine: {machine()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
