"""Events per second and server CPU per event, one at a time and in server batches, beside
``GET /v1/auth/verify`` and beside the floor: what a plain program spends on the same events.

    python bench/events.py [--stores sqlite,postgres] [--postgres-url URL] [--seconds 4]
                           [--rounds 3] [--connections 8] [--client wrk|asyncio]
                           [--batch-connections 2]
                           [--sqlite-synchronous FULL,NORMAL] [--idle-seconds 2]
                           [--quick] [--json]

The floor (``floor``) is the minimum a correct ingest must do for each event, written for the
store with its own driver and no framework: insert the event, insert a ledger entry, upsert the
balance, 1,000 events a transaction (``sqlite3`` in WAL mode at the same ``synchronous`` level;
``psycopg`` with ``executemany`` on PostgreSQL). It runs in this process before the server
starts, and its CPU per event is this process's CPU time over the events it wrote. Plaudit's
``x floor`` is its server CPU per event over that: the issue's goals are 4x for batch-1000 and
20x for single. The ``multi-row`` floor is the same programme with one multi-row INSERT a table
(on PostgreSQL with the server's numbered placeholders through psycopg's ``RawCursor``), the way
Plaudit writes: a cheaper floor, and ``x multi-row`` the stricter ratio. ``floor, 1 a
transaction`` commits each event alone (2,000 of them), as a single event request must before
its 202: the line under each table gives ``single`` over it.

Plaudit runs as ``uvicorn`` on 127.0.0.1 (one worker, its background loop on: leaderboards are
re-ranked every 10 s as in production), on SQLite in a temporary data directory, then on
PostgreSQL at ``--postgres-url`` (default ``PLAUDIT_BENCH_POSTGRES_URL``; skipped with a message
without one); that database is emptied and migrated, so give the benchmark one of its own. The
product has what makes ingestion do its real work: two earning rules, three tiers, three
badges (an event count, a points total, a streak) and a webhook endpoint subscribed to every
notification, so that each earn queues its ``points.earned`` message (the endpoint is a local
socket that accepts and never answers: the worker's few slots wait on it, and delivering costs
the server next to nothing while the outbox fills as in production). Then the load: verify and
single from wrk (``--client wrk``, the default where Debian's wrk is installed: one thread,
``--connections`` connections cycling through the users' tokens; an asyncio client tops out
near what one worker serves, so it would measure itself), the batches from concurrent httpx
clients (``--batch-connections``), each with users of its own:

``verify``      ``GET /v1/auth/verify`` with the users' tokens (answered from the verified-token
                cache): the reference, requests per second
``single``      ``POST /v1/events`` with the same tokens, one ``level_completed`` event each:
                stored, 10 points credited (ledger, balance, three leaderboard tallies, tier),
                the streak and the badges evaluated, committed before the 202 (by group
                commit: the events that arrive together share a transaction)
``batch-100``   ``POST /v1/products/{id}/events`` with the product's API key, 100 ``purchase``
                events for 100 users (points = amount x 1) in one transaction
``batch-1000``  the same with 1,000 events, the most one call may carry
``batch-new``   the same for 1,000 users the product has never seen, each request its own: a
                tenant's first import (each user created, and its ``user.created`` queued)

Each kind runs for ``--seconds`` per round (requests still in flight at the end are waited for
and counted), rounds interleave the kinds in a rotating order, and the table shows the median
round: events per second, its ratio to the verify endpoint's requests per second, and the
server process's CPU time per event (with SQLite the store's work is in that process; with
PostgreSQL the database server's CPU is not counted). The server's background loops keep
running meanwhile (the webhook worker's claim passes grow with the outbox its silent endpoint
never drains; leaderboards are re-ranked): their CPU, measured with the server idle for
``--idle-seconds`` after each kind, is taken out of the per-event figure ("with background"
shows it left in). The load client shares the machine.

``--sqlite-synchronous FULL,NORMAL`` measures SQLite once per level (PLAUDIT_SQLITE_SYNCHRONOUS)
in the same run: FULL, the default, syncs every commit to disk; NORMAL may lose the last
commits on power loss. The difference is the price of the durability docs/operations.md promises.
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
import asyncio
import itertools
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import httpx
import jwt as pyjwt
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from benchkit import ROOT, WRK, WRK_DONE, Server, machine, postgres_database, reset, wrk

ADMIN_TOKEN = "bench-admin-" + "a" * 24
METRICS_TOKEN = "bench-metrics-" + "m" * 24
PRODUCT = "bench-events"
KINDS = ("verify", "single", "batch-100", "batch-1000", "batch-new")
BATCH = {"verify": 0, "single": 1, "batch-100": 100, "batch-1000": 1000, "batch-new": 1000}
#: Users per connection: token holders for verify and single, named users for the batches.
TOKEN_USERS, BATCH_USERS = 50, 1000
#: The floor: events per transaction, and transactions (over as many users as a batch names).
FLOOR_BATCH, FLOOR_TRANSACTIONS = 1000, 20
#: The single-event floor: one event a transaction, committed, as a single request must.
SINGLE_TRANSACTIONS = 2000

HOOK_TYPES = ("user.created", "points.earned", "tier.changed", "badge.awarded")

console = Console(stderr=True)
#: wrk's script for verify and single: each request the next token of the file (``args[1]``),
#: with the method and body given (``args[2]``, ``args[3]``).
WRK_SCRIPT = (
    """
local tokens, i = {}, 0
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  wrk.method = args[2]
  if args[3] ~= "" then
    wrk.body = args[3]
    wrk.headers["Content-Type"] = "application/json"
  end
end
request = function()
  i = i + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(i - 1) % #tokens + 1]
  return wrk.format()
end
"""
    + WRK_DONE
)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


def black_hole() -> tuple[socket.socket, int]:
    """A listener on 127.0.0.1 that accepts connections and never answers (the webhook
    endpoint): the worker's deliveries wait on it until their attempt times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # closed at the end of the run
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener, int(listener.getsockname()[1])


def seed(base: str, hook_port: int) -> tuple[str, str]:
    """The product, its rules, tiers, badges and webhook, through the API; (HMAC secret,
    API key)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:

        def post(path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
            response = client.request(method, path, json=body)
            if response.status_code not in (200, 201):
                raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
            answer: dict[str, Any] = response.json()
            return answer

        created = post("/v1/products", {"id": PRODUCT, "name": "Bench events"})
        rules = f"/v1/products/{PRODUCT}/loyalty/rules"
        post(rules, {"name": "Level", "event_type": "level_completed", "points": 10})
        post(rules, {"name": "Purchase", "event_type": "purchase", "property": "amount", "rate": 1})
        tiers = [
            {"name": "Bronze", "threshold": 0},
            {"name": "Silver", "threshold": 500},
            {"name": "Gold", "threshold": 5000},
        ]
        post(f"/v1/products/{PRODUCT}/loyalty/tiers", {"tiers": tiers}, method="PUT")
        badges = f"/v1/products/{PRODUCT}/badges"
        for name, criteria in (
            ("Fifty levels", {"kind": "event_count", "event_type": "level_completed", "count": 50}),
            ("Big spender", {"kind": "points_total", "points": 1000}),
            ("Three days", {"kind": "streak", "event_type": "level_completed", "days": 3}),
        ):
            post(badges, {"name": name, "criteria": criteria})
        hook = {"url": f"http://127.0.0.1:{hook_port}/hook", "event_types": list(HOOK_TYPES)}
        post(f"/v1/products/{PRODUCT}/webhooks", hook)
        return str(created["secret"]["value"]), str(created["api_key"])


def _floor_rows(transaction: int, size: int = FLOOR_BATCH) -> list[tuple[str, str, int]]:
    """One transaction's events: (event id, user, points), users cycling as a batch's do."""
    return [
        (f"evt_{transaction:05d}{i:06d}", f"u{(transaction * size + i) % BATCH_USERS}", 12)
        for i in range(size)
    ]


def _numbered(template: str, rows: int, width: int) -> str:
    """``template`` (one row's VALUES with ``{}`` for each of its ``width`` values) for
    ``rows`` rows, numbered ``$1``, ``$2``...: a multi-row INSERT's VALUES for PostgreSQL."""
    return ", ".join(
        template.format(*(f"${r * width + c}" for c in range(1, width + 1))) for r in range(rows)
    )


def floor_sqlite(
    place: Path, synchronous: str, *, multi_row: bool = False, single: bool = False
) -> float:
    """The SQLite floor: CPU µs per event of a plain ``sqlite3`` program doing the minimum
    (``multi_row``: one INSERT of a thousand rows a table, rather than ``executemany``;
    ``single``: one event a transaction, each committed)."""
    name = "floor-single.db" if single else "floor-multi.db" if multi_row else "floor.db"
    size, transactions = (1, SINGLE_TRANSACTIONS) if single else (FLOOR_BATCH, FLOOR_TRANSACTIONS)
    connection = sqlite3.connect(place / name)
    connection.isolation_level = None
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.executescript(
        """
        CREATE TABLE events (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, type TEXT NOT NULL,
            properties TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE ledger (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL,
            delta INTEGER NOT NULL, event_id TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE balances (user_id TEXT PRIMARY KEY, balance INTEGER NOT NULL);
        """
    )
    properties = json.dumps({"amount": 12.5, "sku": "tea"})
    # Each statement's text made once, before the clock starts, as Plaudit keeps its own.
    Rows = list[tuple[str, str, int]]
    shapes: list[tuple[str, str, Callable[[Rows, str], list[tuple[Any, ...]]]]]
    shapes = [
        (
            "INSERT INTO events VALUES {}",
            "(?, ?, 'purchase', ?, ?)",
            lambda rows, now: [(e, u, properties, now) for e, u, _ in rows],
        ),
        (
            "INSERT INTO ledger (user_id, delta, event_id, created_at) VALUES {}",
            "(?, ?, ?, ?)",
            lambda rows, now: [(u, p, e, now) for e, u, p in rows],
        ),
        (
            "INSERT INTO balances VALUES {} ON CONFLICT (user_id) "
            "DO UPDATE SET balance = balance + excluded.balance",
            "(?, ?)",
            lambda rows, _now: [(u, p) for _, u, p in rows],
        ),
    ]
    statements = [
        (sql.format(", ".join([group] * size) if multi_row else group), values_of)
        for sql, group, values_of in shapes
    ]
    start = time.process_time()
    for transaction in range(transactions):
        rows = _floor_rows(transaction, size)
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        connection.execute("BEGIN")
        for sql, values_of in statements:
            values = values_of(rows, now)
            if multi_row:
                connection.execute(sql, [value for row in values for value in row])
            else:
                connection.executemany(sql, values)
        connection.execute("COMMIT")
    spent = time.process_time() - start
    connection.close()
    return spent / (size * transactions) * 1e6


def floor_postgres(url: str, *, multi_row: bool = False, single: bool = False) -> float:
    """The PostgreSQL floor: CPU µs per event (this process's; the server's is not counted, as
    for Plaudit) of a plain ``psycopg`` program doing the minimum, in tables of its own
    (``multi_row``: one INSERT of a thousand rows a table with the server's numbered
    placeholders through a ``RawCursor``, as Plaudit writes, rather than ``executemany``;
    ``single``: one event a transaction, each committed)."""
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    properties = json.dumps({"amount": 12.5, "sku": "tea"})
    with psycopg.connect(dsn) as connection:
        connection.execute(
            """
            DROP TABLE IF EXISTS floor_events, floor_ledger, floor_balances;
            CREATE TABLE floor_events (id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
                type TEXT NOT NULL, properties JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL);
            CREATE TABLE floor_ledger (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL,
                delta INTEGER NOT NULL, event_id TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL);
            CREATE TABLE floor_balances (user_id TEXT PRIMARY KEY, balance BIGINT NOT NULL);
            """
        )
        connection.commit()
        # Each statement's text made once, before the clock starts, as Plaudit keeps its own.
        Rows = list[tuple[str, str, int]]
        multi: list[tuple[str, str, Callable[[Rows], list[tuple[Any, ...]]]]] = [
            (
                "INSERT INTO floor_events VALUES {}",
                _numbered("({}, {}, 'purchase', {}, now())", FLOOR_BATCH, 3),
                lambda rows: [(e, u, properties) for e, u, _ in rows],
            ),
            (
                "INSERT INTO floor_ledger (user_id, delta, event_id, created_at) VALUES {}",
                _numbered("({}, {}, {}, now())", FLOOR_BATCH, 3),
                lambda rows: [(u, p, e) for e, u, p in rows],
            ),
            (
                "INSERT INTO floor_balances VALUES {} ON CONFLICT (user_id) DO "
                "UPDATE SET balance = floor_balances.balance + excluded.balance",
                _numbered("({}, {})", FLOOR_BATCH, 2),
                lambda rows: [(u, p) for _, u, p in rows],
            ),
        ]
        statements = [(sql.format(groups), values) for sql, groups, values in multi]
        size, transactions = (
            (1, SINGLE_TRANSACTIONS) if single else (FLOOR_BATCH, FLOOR_TRANSACTIONS)
        )
        try:
            start = time.process_time()
            for transaction in range(transactions):
                rows = _floor_rows(transaction, size)
                if multi_row:
                    with connection.transaction(), psycopg.RawCursor(connection) as raw:
                        for sql, values_of in statements:
                            raw.execute(sql, [v for row in values_of(rows) for v in row])
                    continue
                with connection.transaction(), connection.cursor() as cursor:
                    # One event: execute, as a plain program would (executemany's pipeline
                    # costs a third more for a single row: the round-13 review).
                    if single:
                        event, user, points = rows[0]
                        cursor.execute(
                            "INSERT INTO floor_events VALUES (%s, %s, 'purchase', %s, now())",
                            (event, user, properties),
                        )
                        cursor.execute(
                            "INSERT INTO floor_ledger (user_id, delta, event_id, created_at) "
                            "VALUES (%s, %s, %s, now())",
                            (user, points, event),
                        )
                        cursor.execute(
                            "INSERT INTO floor_balances VALUES (%s, %s) ON CONFLICT (user_id) DO "
                            "UPDATE SET balance = floor_balances.balance + excluded.balance",
                            (user, points),
                        )
                        continue
                    cursor.executemany(
                        "INSERT INTO floor_events VALUES (%s, %s, 'purchase', %s, now())",
                        [(event, user, properties) for event, user, _ in rows],
                    )
                    cursor.executemany(
                        "INSERT INTO floor_ledger (user_id, delta, event_id, created_at) "
                        "VALUES (%s, %s, %s, now())",
                        [(user, points, event) for event, user, points in rows],
                    )
                    cursor.executemany(
                        "INSERT INTO floor_balances VALUES (%s, %s) ON CONFLICT (user_id) DO "
                        "UPDATE SET balance = floor_balances.balance + excluded.balance",
                        [(user, points) for _, user, points in rows],
                    )
            spent = time.process_time() - start
        finally:
            connection.execute("DROP TABLE IF EXISTS floor_events, floor_ledger, floor_balances")
            connection.commit()
    return spent / (size * transactions) * 1e6


def user_token(secret: str, sub: str, now: int) -> str:
    claims = {
        "sub": sub,
        "iss": "bench",
        "aud": PRODUCT,
        "iat": now,
        "exp": now + 3600,
        "scope": ["read", "write"],
    }
    return pyjwt.encode(claims, secret, algorithm="HS256")


class FirstSeen(Sequence[Call]):
    """batch-new's requests for one connection: each names 1,000 users never named before,
    made when it is sent (as many as a run sends, never cycled back to known users)."""

    def __init__(self, connection: int, api_key: str) -> None:
        self.connection = connection
        self.headers = {"Authorization": f"Bearer {api_key}"}
        # Numbered as they are sent, not by index: ``load`` indexes each round from 0 again,
        # and a second round would name the first round's users, known by then.
        self.sent = itertools.count()

    def __len__(self) -> int:
        return 10**9

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Call]: ...
    def __getitem__(self, index: int | slice) -> Call | Sequence[Call]:
        if isinstance(index, slice):
            raise TypeError("one request at a time")
        size = BATCH["batch-new"]
        serial = next(self.sent)
        events = [
            {"user_id": f"c{self.connection}-n{serial}-{j}", "type": "purchase"}
            | {"properties": {"amount": 12.5, "sku": "tea"}}
            for j in range(size)
        ]
        body = json.dumps({"events": events}).encode()
        return Call("POST", f"/v1/products/{PRODUCT}/events", self.headers, body)


def calls(kind: str, connection: int, secret: str, api_key: str, now: int) -> Sequence[Call]:
    """The requests one connection cycles through: its own users, none shared."""
    if kind == "batch-new":
        return FirstSeen(connection, api_key)
    if kind in ("verify", "single"):
        tokens = [user_token(secret, f"c{connection}-u{i}", now) for i in range(TOKEN_USERS)]
        if kind == "verify":
            return [
                Call("GET", "/v1/auth/verify", {"Authorization": f"Bearer {t}"}) for t in tokens
            ]
        body = json.dumps({"type": "level_completed", "properties": {"level": 7}}).encode()
        return [Call("POST", "/v1/events", {"Authorization": f"Bearer {t}"}, body) for t in tokens]
    size = BATCH[kind]
    headers = {"Authorization": f"Bearer {api_key}"}
    out = []
    for start in range(0, BATCH_USERS, size):
        events = [
            {"user_id": f"c{connection}-s{(start + j) % BATCH_USERS}", "type": "purchase"}
            | {"properties": {"amount": 12.5, "sku": "tea"}}
            for j in range(size)
        ]
        out.append(
            Call(
                "POST",
                f"/v1/products/{PRODUCT}/events",
                headers,
                json.dumps({"events": events}).encode(),
            )
        )
    return out


async def load(
    base: str, per_connection: list[Sequence[Call]], seconds: float = 0.0, *, once: bool = False
) -> tuple[int, int, float, str]:
    """Each connection sends its calls one after another until ``seconds`` have passed (or,
    ``once``, each call once), and finishes the call in flight: (answered 2xx, errors, elapsed
    seconds, first error)."""
    counts = [0, 0]
    first_error = [""]
    limits = httpx.Limits(
        max_connections=len(per_connection), max_keepalive_connections=len(per_connection)
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker(mine: Sequence[Call]) -> None:
            index = 0
            while index < len(mine) if once else time.perf_counter() < deadline:
                call = mine[index % len(mine)]
                index += 1
                headers = call.headers
                if call.body is not None:
                    headers = {**headers, "Content-Type": "application/json"}
                response = await client.request(
                    call.method, call.path, headers=headers, content=call.body
                )
                if response.is_success:
                    counts[0] += 1
                else:
                    counts[1] += 1
                    first_error[0] = (
                        first_error[0] or f"{response.status_code} {response.text[:300]}"
                    )

        await asyncio.gather(*(worker(mine) for mine in per_connection))
        elapsed = time.perf_counter() - start
    return counts[0], counts[1], elapsed, first_error[0]


def groups_seen(base: str) -> tuple[float, float]:
    """The server's group commit so far: ``plaudit_event_group_size``'s sum and count."""
    text = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    ).text
    found = dict(re.findall(r"^plaudit_event_group_size_(sum|count) (\S+)$", text, re.MULTILINE))
    return float(found.get("sum", 0)), float(found.get("count", 0))


def by_wrk(
    base: str, per_connection: list[Sequence[Call]], work: Path, args: argparse.Namespace
) -> tuple[int, int, float, str]:
    """``load`` by wrk: the same calls (their tokens cycled through by all its connections),
    for ``--seconds``: (answered 2xx, errors, elapsed seconds, first error)."""
    calls = [call for mine in per_connection for call in mine]
    tokens = work / "wrk-tokens.txt"
    tokens.write_text("\n".join(c.headers["Authorization"].removeprefix("Bearer ") for c in calls))
    script = work / "wrk-events.lua"
    script.write_text(WRK_SCRIPT)
    first = calls[0]
    body = first.body.decode() if first.body is not None else ""
    start = time.perf_counter()
    ok, bad = wrk(
        base + first.path,
        script,
        [str(tokens), first.method, body],
        args.seconds,
        len(per_connection),
    )
    error = (
        f"{bad} requests failed (wrk counts no bodies: rerun with --client asyncio)" if bad else ""
    )
    return ok, bad, time.perf_counter() - start, error


def connections(kind: str, args: argparse.Namespace) -> int:
    return int(args.batch_connections if kind.startswith("batch") else args.connections)


def measure(
    store: str, env: dict[str, str], work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    # What `plaudit migrate` does; `plaudit serve` would on SQLite, uvicorn's factory does not.
    subprocess.run(  # our own interpreter and arguments
        [sys.executable, "-c", "from plaudit.cli import main; main()", "migrate"],
        env=env,
        cwd=work,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if store == "postgres":
        floor = floor_postgres(env["PLAUDIT_DATABASE_URL"])
        multi_floor = floor_postgres(env["PLAUDIT_DATABASE_URL"], multi_row=True)
        single_floor = floor_postgres(env["PLAUDIT_DATABASE_URL"], single=True)
    else:
        synchronous = env.get("PLAUDIT_SQLITE_SYNCHRONOUS", "FULL")
        floor = floor_sqlite(work, synchronous)
        multi_floor = floor_sqlite(work, synchronous, multi_row=True)
        single_floor = floor_sqlite(work, synchronous, single=True)
    hook, hook_port = black_hole()
    env = {**env, "PLAUDIT_ALLOW_PRIVATE_URLS": "true"}  # the webhook's 127.0.0.1
    server = Server(f"plaudit-{store}", "plaudit.app:app_from_environment", env, work)
    try:
        server.wait_ready("/healthz", {}, timeout=90)  # a loaded machine starts slowly
        secret, api_key = seed(server.base, hook_port)
        now = int(time.time())
        plan = {
            kind: [calls(kind, c, secret, api_key, now) for c in range(connections(kind, args))]
            for kind in KINDS
        }
        rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
        cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
        gross: dict[str, list[float]] = {kind: [] for kind in KINDS}
        errors: dict[str, int] = dict.fromkeys(KINDS, 0)
        grouped: list[tuple[float, float]] = []  # single: each round's events, transactions
        first_errors: dict[str, str] = {}
        # Warm: statement caches, and every user seen once (batch-1000 names them all), so that
        # rounds measure a steady state: cached tokens, known users, accounts that exist.
        with console.status(f"{store}: warming up"):
            for kind in ("verify", "single", "batch-1000"):
                asyncio.run(load(server.base, plan[kind], once=True))
        with console.status(f"{store}: {args.rounds} rounds") as status:
            for round_no in range(args.rounds):
                shift = round_no % len(KINDS)
                for kind in KINDS[shift:] + KINDS[:shift]:
                    status.update(f"{store}: round {round_no + 1} of {args.rounds}, {kind}")
                    seen = groups_seen(server.base) if kind == "single" else (0.0, 0.0)
                    before = server.cpu_seconds()
                    if args.client == "wrk" and kind in ("verify", "single"):
                        ok, bad, elapsed, error = by_wrk(server.base, plan[kind], work, args)
                    else:
                        ok, bad, elapsed, error = asyncio.run(
                            load(server.base, plan[kind], args.seconds)
                        )
                    spent = server.cpu_seconds() - before
                    # What the server burns with no request at all, just after: its background
                    # loops (the webhook worker's claim passes over a growing outbox, leaderboard
                    # re-ranks) are not the cost of the requests; they are taken out at this rate.
                    idle_from = server.cpu_seconds()
                    time.sleep(args.idle_seconds)
                    background = (server.cpu_seconds() - idle_from) / args.idle_seconds
                    if kind == "single":
                        events_now, groups_now = groups_seen(server.base)
                        grouped.append((events_now - seen[0], groups_now - seen[1]))
                    events = ok * max(BATCH[kind], 1)
                    rates[kind].append(events / elapsed)
                    gross[kind].append(spent / max(events, 1) * 1e6)
                    cpu[kind].append(max(spent - background * elapsed, 0.0) / max(events, 1) * 1e6)
                    errors[kind] += bad
                    if error:
                        first_errors.setdefault(kind, error)
    finally:
        server.stop()
        hook.close()
    per_second = {kind: statistics.median(values) for kind, values in rates.items()}
    cpu_us = {kind: statistics.median(values) for kind, values in cpu.items()}
    gross_us = {kind: statistics.median(values) for kind, values in gross.items()}
    return {
        "per_second": per_second,
        "ratio_to_verify": {kind: per_second[kind] / per_second["verify"] for kind in KINDS},
        "server_cpu_us": cpu_us,
        "server_cpu_us_with_background": gross_us,
        "floor_cpu_us": floor,
        "ratio_to_floor": {kind: cpu_us[kind] / floor for kind in KINDS if kind != "verify"},
        "multi_row_floor_cpu_us": multi_floor,
        "single_floor_cpu_us": single_floor,
        "single_ratio_to_single_floor": cpu_us["single"] / single_floor,
        "ratio_to_multi_row_floor": {
            kind: cpu_us[kind] / multi_floor for kind in KINDS if kind != "verify"
        },
        "errors": errors,
        "first_errors": first_errors,
        "single_mean_group": statistics.median(
            events / groups for events, groups in grouped if groups
        )
        if any(groups for _, groups in grouped)
        else None,
    }


def render(store: str, result: dict[str, Any], args: argparse.Namespace) -> Table:
    table = Table(
        title=f"{store}: one uvicorn worker on 127.0.0.1, median of {args.rounds} rounds of "
        f"{args.seconds:g} s",
        caption="verify: requests/s, the reference; the others: events/s, and x verify is "
        "their ratio to it. CPU: the server process's CPU µs per request (verify) or per event"
        + ("; PostgreSQL's own CPU is not in it" if store == "postgres" else "")
        + ". floor: the plain program's CPU µs per event (see the module's docstring); x floor: "
        "Plaudit's CPU per event over it (goals: batch-1000 4x, single 20x); x multi-row: over "
        "the same programme written with one multi-row INSERT a table, as Plaudit writes. "
        "'floor, 1 a transaction': the floor committing each event alone, as a lone single "
        "request does; under load single events share transactions (group commit: the mean "
        "group is below the table, beside single over this floor). The "
        "server's "
        "background loops (webhook claims, leaderboard re-ranks), measured idle for "
        f"{args.idle_seconds:g} s after each kind, are taken out; 'with background' leaves "
        "them in",
        caption_justify="left",
    )
    columns = (
        "kind",
        "connections",
        "events/s",
        "x verify",
        "server CPU µs",
        "x floor",
        "x multi-row",
        "with background",
        "errors",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "kind" else "right")
    floor, multi_floor = result["floor_cpu_us"], result["multi_row_floor_cpu_us"]
    table.add_row(
        "floor", "1", "", "", f"{floor:,.1f}", "1.0x", f"{floor / multi_floor:.2f}x", "", ""
    )
    table.add_row(
        "floor, multi-row",
        "1",
        "",
        "",
        f"{multi_floor:,.1f}",
        f"{multi_floor / floor:.2f}x",
        "1.0x",
        "",
        "",
    )
    single_floor = result["single_floor_cpu_us"]
    table.add_row(
        "floor, 1 a transaction",
        "1",
        "",
        "",
        f"{single_floor:,.1f}",
        f"{single_floor / floor:.2f}x",
        f"{single_floor / multi_floor:.2f}x",
        "",
        "",
    )
    for kind in KINDS:
        ratio = result["ratio_to_floor"].get(kind)
        multi = result["ratio_to_multi_row_floor"].get(kind)
        table.add_row(
            kind + (" (req/s)" if kind == "verify" else ""),
            str(connections(kind, args)),
            f"{result['per_second'][kind]:,.0f}",
            f"{result['ratio_to_verify'][kind]:.2f}x",
            f"{result['server_cpu_us'][kind]:,.0f}",
            "" if ratio is None else f"{ratio:.1f}x",
            "" if multi is None else f"{multi:.1f}x",
            f"{result['server_cpu_us_with_background'][kind]:,.0f}",
            str(result["errors"][kind]),
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("PLAUDIT_BENCH_POSTGRES_URL"),
        help="a database of the benchmark's own (default: $PLAUDIT_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8, help="for verify and single")
    parser.add_argument(
        "--client",
        choices=["wrk", "asyncio"],
        default="wrk" if WRK else "asyncio",
        help="load for verify and single: wrk (Debian's, the default when installed) or an "
        "asyncio httpx client, which tops out near what one worker serves (the batches always "
        "use it: a few large requests, where the client is never the bottleneck)",
    )
    parser.add_argument(
        "--batch-connections",
        type=int,
        default=2,
        help="for the batches: SQLite runs one write transaction at a time, and a batch of "
        "1,000 holds it for seconds, so more only queue (and time out at 30 s)",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        default="FULL",
        help="SQLite synchronous level(s) to measure, comma-separated (FULL, NORMAL, EXTRA)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=2.0,
        help="after each kind: how long the server's background CPU is measured, idle",
    )
    parser.add_argument("--quick", action="store_true", help="one round of 1 s: a smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if set(stores) - {"sqlite", "postgres"}:
        parser.error(f"unknown store(s) {sorted(set(stores) - {'sqlite', 'postgres'})}")
    levels = [x.strip().upper() for x in args.sqlite_synchronous.split(",") if x.strip()]
    if not levels or set(levels) - {"FULL", "NORMAL", "EXTRA"}:
        parser.error("--sqlite-synchronous takes FULL, NORMAL and/or EXTRA")

    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for store in stores:
        work = Path(tempfile.mkdtemp(prefix="plaudit-bench-events-"))
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "PLAUDIT_DATA_DIR": str(work / "data"),
            "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
            "PLAUDIT_METRICS_TOKEN": METRICS_TOKEN,
            "PLAUDIT_LOG_LEVEL": "warning",
        }
        env.pop("PLAUDIT_DATABASE_URL", None)
        try:
            if store == "postgres":
                if not args.postgres_url:
                    skipped[store] = "no URL: set PLAUDIT_BENCH_POSTGRES_URL or pass --postgres-url"
                    console.print(f"[yellow]{store} skipped[/]: {skipped[store]}")
                    continue
                db = postgres_database(args.postgres_url)
                if isinstance(db, str):
                    skipped[store] = db
                    console.print(f"[yellow]{store} skipped[/]: {db}")
                    continue
                env["PLAUDIT_DATABASE_URL"] = args.postgres_url
                try:
                    results[store] = measure(store, env, work, args)
                finally:
                    reset(db)  # leave nothing behind
                    db.dispose()
            else:
                for run, level in enumerate(levels):  # each on a fresh store of its own
                    place = work / f"{run}-{level}"
                    place.mkdir()
                    env["PLAUDIT_DATA_DIR"] = str(place / "data")
                    env["PLAUDIT_SQLITE_SYNCHRONOUS"] = level
                    name = store if levels == ["FULL"] else f"{store} synchronous={level}"
                    if levels.count(level) > 1:  # the same level again: how much runs vary
                        name += f" (run {run + 1})"
                    results[name] = measure(store, env, place, args)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    failed = any(sum(r["errors"].values()) for r in results.values())
    if args.json:
        print(json.dumps({"machine": machine(), "results": results, "skipped": skipped}, indent=2))
        return 1 if failed else 0
    out = Console()
    if not out.is_terminal:
        out.width = 120  # a log or a pipe: wide enough for the table
    for store, result in results.items():
        out.print(render(store, result, args))
        out.print(
            f"  single over the floor committing each event alone "
            f"({result['single_floor_cpu_us']:,.1f} µs): "
            f"{result['single_ratio_to_single_floor']:.1f}x"
        )
        if result["single_mean_group"] is not None:
            out.print(
                f"  single events a transaction (group commit), median round: "
                f"{result['single_mean_group']:.1f} with {args.connections} connections"
            )
        for kind, error in result["first_errors"].items():
            out.print(f"  first error on {kind}: {error}")
        out.print()
    for store, why in skipped.items():
        out.print(f"{store}: skipped ({why})")
    out.print(f"Machine: {machine()}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
