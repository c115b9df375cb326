"""Delivering the outbox: signed POSTs, retried with backoff for a day, in order per user.

A pass claims the due deliveries in one short transaction, sends them with no transaction
open, and records the outcomes in another. Claiming sets a lease (``next_attempt_at`` a minute
ahead): a process that dies mid-send leaves the delivery to be sent again when the lease ends,
so delivery is at least once, never at most once. On PostgreSQL the claim takes its rows with
``FOR UPDATE SKIP LOCKED``, so several processes never claim one delivery at once; on SQLite
every transaction takes the write lock at BEGIN, which serialises claims just the same.

Order: a delivery is due only when no older delivery to the same endpoint about the same user
is still pending, so one user's messages reach an endpoint one at a time, oldest first (a
message that gives up no longer holds the later ones back). Messages about no user are not
ordered.

Nothing here runs on the request path: the app starts ``run`` as its own task. Bulkheads: at
most ``PARALLEL`` deliveries are in flight per process, at most ``PER_ENDPOINT`` of them to one
endpoint, and each attempt (connect, send, answer) ends within ``ATTEMPT_SECONDS`` as a whole.
A delivery is claimed as soon as a slot is free and recorded as soon as it is answered, so a
receiver that drips holds its own slots for that long, never another endpoint's deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import structlog
from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import aliased
from standardwebhooks import Webhook

from plaudit import __version__, metrics
from plaudit.errors import UnsafeUrl
from plaudit.outbound import FetchFailed, fetch, pinned_client
from plaudit.store.crypto import MasterKeyError, SecretBox
from plaudit.store.db import Database

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage

if TYPE_CHECKING:
    from plaudit.access.state import AppState

log = structlog.get_logger("plaudit.webhooks")

#: One attempt as a whole (connect, send, the answer's start): a receiver should answer at once
#: and work later. A receiver that drips is cut off here, however steadily it drips.
ATTEMPT_SECONDS = 10.0
#: How long a claimed delivery is left to its sender before another may take it.
LEASE = dt.timedelta(seconds=60)
FIRST_RETRY = dt.timedelta(seconds=5)
MAX_RETRY = dt.timedelta(hours=1)
#: How much of a receiver's answer is kept in the attempt log.
EXCERPT_BYTES = 256
#: Deliveries in flight at once, per process (and per pass of ``deliver_due``).
PARALLEL = 10
#: Of those, to one endpoint: a slow receiver holds at most this many slots.
PER_ENDPOINT = 2
#: Deliveries one call of ``deliver_due`` claims by default.
PASS_LIMIT = 20
POLL_SECONDS = 1.0
#: Delivered and failed messages are kept this long for the log, then pruned.
KEEP = dt.timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with what sending it needs (read in the claiming transaction)."""

    delivery_id: int
    endpoint_id: int
    lease: dt.datetime
    url: str
    #: None when the stored secret does not decrypt (the master key changed).
    secret: str | None
    message_id: str
    body: str


@dataclass(frozen=True)
class Outcome:
    job: Job
    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Report:
    attempted: int = 0
    delivered: int = 0
    #: Deliveries that ran out of retries in this pass (status failed).
    gave_up: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """5 s after the first failure, doubling each time, at most an hour."""
    doublings = min(max(attempts - 1, 0), 20)
    return min(FIRST_RETRY * (1 << doublings), MAX_RETRY)


def deliver_due(
    db: Database,
    *,
    client: httpx.Client,
    box: SecretBox,
    now: dt.datetime,
    allow_private: bool,
    limit: int = PASS_LIMIT,
    wall_clock: Callable[[], float] = time.time,
) -> Report:
    """Send up to ``limit`` due deliveries and record how each went.

    ``now`` schedules (what is due, the next retry, giving up); ``wall_clock`` stamps the
    signature, which receivers check against their own clocks.
    """
    jobs = claim(db, box=box, now=now, limit=limit)
    if not jobs:
        return Report()

    def one(job: Job) -> Outcome:
        return send(job, client=client, allow_private=allow_private, wall_clock=wall_clock)

    if len(jobs) == 1:
        outcomes = [one(jobs[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(PARALLEL, len(jobs))) as pool:
            outcomes = list(pool.map(one, jobs))
    return record(db, outcomes, now=now)


def claim(
    db: Database,
    *,
    box: SecretBox,
    now: dt.datetime,
    limit: int,
    in_flight: Mapping[int, int] | None = None,
    per_endpoint: int | None = None,
) -> list[Job]:
    """Take the due deliveries for this process: each gets a lease ending ``LEASE`` from now.

    With ``per_endpoint``, no endpoint gets more than that many in flight, counting
    ``in_flight`` (endpoint id -> deliveries this process is sending to it now).
    """
    in_flight = dict(in_flight or {})
    full = [e for e, n in in_flight.items() if per_endpoint is not None and n >= per_endpoint]
    older = aliased(WebhookDelivery)
    held_back = exists().where(
        older.endpoint_id == WebhookDelivery.endpoint_id,
        older.ordering_key == WebhookDelivery.ordering_key,  # NULL matches nothing: unordered
        older.status == "pending",
        older.id < WebhookDelivery.id,
    )
    query = (
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret_ciphertext)
        .add_columns(WebhookMessage.payload)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(
            WebhookDelivery.status == "pending",
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
            WebhookEndpoint.enabled,
            ~held_back,
            WebhookDelivery.endpoint_id.not_in(full),
        )
        .order_by(WebhookDelivery.id)
        # Room to skip an endpoint's surplus and still fill the slots with other endpoints'.
        .limit(limit if per_endpoint is None else limit * (per_endpoint + 2))
        # PostgreSQL: rows another process is claiming are skipped, not waited for. SQLite
        # renders nothing here; its BEGIN IMMEDIATE serialises claims instead.
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    lease = now + LEASE
    jobs: list[Job] = []
    with db.session() as session:
        for delivery, url, ciphertext, payload in session.execute(query):
            if len(jobs) >= limit:
                break
            taken = in_flight.get(delivery.endpoint_id, 0)
            if per_endpoint is not None and taken >= per_endpoint:
                continue  # left unleased, for a later claim
            in_flight[delivery.endpoint_id] = taken + 1
            delivery.next_attempt_at = lease
            try:
                secret: str | None = box.open(ciphertext)
            except MasterKeyError:
                secret = None
            jobs.append(
                Job(
                    delivery_id=delivery.id,
                    endpoint_id=delivery.endpoint_id,
                    lease=lease,
                    url=url,
                    secret=secret,
                    message_id=delivery.message_id,
                    body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
                )
            )
    return jobs


def send(
    job: Job,
    *,
    client: httpx.Client,
    allow_private: bool,
    wall_clock: Callable[[], float] = time.time,
) -> Outcome:
    """POST one message, signed per Standard Webhooks, within ``ATTEMPT_SECONDS``; never raises."""
    started = time.monotonic()
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    try:
        if job.secret is None:
            raise MasterKeyError("the endpoint's secret does not decrypt with PLAUDIT_MASTER_KEY")
        stamp = int(wall_clock())
        signature = Webhook(job.secret).sign(
            job.message_id, dt.datetime.fromtimestamp(stamp, dt.UTC), job.body
        )
        headers = {
            "webhook-id": job.message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
            "content-type": "application/json",
            "user-agent": f"Plaudit-Webhooks/{__version__}",
        }
        # The address is checked again where the connection is made (DNS may have changed).
        answer = fetch(
            client,
            job.url,
            allow_private=allow_private,
            seconds=ATTEMPT_SECONDS,
            max_bytes=EXCERPT_BYTES,
            over_cap="truncate",  # the start of the answer, never the whole of it
            method="POST",
            content=job.body.encode(),
            headers=headers,
        )
        status_code = answer.status_code
        excerpt = answer.body.decode("utf-8", "replace") or None
        if 300 <= status_code < 400:
            error = "The receiver redirected; webhooks do not follow redirects."
    except UnsafeUrl as exc:
        error = exc.message
    except MasterKeyError as exc:
        error = str(exc)
    except FetchFailed as exc:
        error = exc.message
    return Outcome(
        job=job,
        status_code=status_code,
        error=error,
        excerpt=excerpt,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def record(db: Database, outcomes: list[Outcome], *, now: dt.datetime) -> Report:
    """Write each attempt to the log and move its delivery on: delivered, retried or failed."""
    delivered = gave_up = 0
    with db.session() as session:
        for outcome in outcomes:
            job = outcome.job
            delivery = session.get(WebhookDelivery, job.delivery_id)
            if delivery is None:  # the endpoint was deleted meanwhile
                continue
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    attempted_at=now,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    response_excerpt=outcome.excerpt,
                    duration_ms=outcome.duration_ms,
                )
            )
            if delivery.status != "pending" or delivery.next_attempt_at != job.lease:
                continue  # redelivered by hand, or the lease ran out and another took it
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            if outcome.ok:
                delivery.status = "delivered"
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                delivered += 1
            elif now >= delivery.give_up_at:
                delivery.status = "failed"
                delivery.next_attempt_at = None
                gave_up += 1
                log.warning(
                    "webhook_gave_up",
                    product_id=delivery.product_id,
                    endpoint_id=delivery.endpoint_id,
                    message_id=delivery.message_id,
                    attempts=delivery.attempts,
                )
            else:
                # The last retry lands on the deadline itself, not past it.
                delivery.next_attempt_at = min(
                    now + retry_delay(delivery.attempts), delivery.give_up_at
                )
            metrics.record_delivery(delivery.status)  # delivered, failed, or pending: retrying
    return Report(attempted=len(outcomes), delivered=delivered, gave_up=gave_up)


def prune(db: Database, *, now: dt.datetime, keep: dt.timedelta = KEEP) -> int:
    """Delete messages older than ``keep`` that nothing is still delivering (with their log)."""
    pending = exists().where(
        WebhookDelivery.message_id == WebhookMessage.id, WebhookDelivery.status == "pending"
    )
    with db.session() as session:
        result = session.execute(
            delete(WebhookMessage).where(WebhookMessage.created_at < now - keep, ~pending)
        )
        return int(getattr(result, "rowcount", 0) or 0)


# --- the app's loop -----------------------------------------------------------------------


class _Slots:
    """Deliveries this process is sending now, per endpoint (thread-safe counts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: dict[int, int] = {}

    def snapshot(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_endpoint)

    def free(self) -> int:
        with self._lock:
            return PARALLEL - sum(self._by_endpoint.values())

    def take(self, jobs: list[Job]) -> None:
        with self._lock:
            for job in jobs:
                self._by_endpoint[job.endpoint_id] = self._by_endpoint.get(job.endpoint_id, 0) + 1

    def give_back(self, job: Job) -> None:
        with self._lock:
            left = self._by_endpoint.get(job.endpoint_id, 1) - 1
            if left > 0:
                self._by_endpoint[job.endpoint_id] = left
            else:
                self._by_endpoint.pop(job.endpoint_id, None)


async def run(state: AppState, *, poll_seconds: float = POLL_SECONDS) -> None:
    """Deliver what is due, forever: the task the app starts in its lifespan.

    Claims run on a thread of their own, sends on ``PARALLEL`` threads of their own, never ones
    the request handlers share. A free slot is filled at once; with nothing due, the loop looks
    again after ``poll_seconds`` (or the keystore refresh interval, if shorter).
    """
    interval = min(poll_seconds, state.settings.keystore_refresh_seconds)
    allow_private = state.settings.allow_private_urls
    # Its own pool: webhook receivers never hold up JWKS fetches.
    client = pinned_client(
        allow_private=allow_private,
        ssl_context=httpx.create_ssl_context(),
        max_connections=PARALLEL * 2,
    )
    claimer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plaudit-webhooks-claim")
    senders = ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="plaudit-webhooks")
    slots = _Slots()
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    sending: set[Future[None]] = set()
    last_prune = 0.0

    def claim_free() -> list[Job]:
        nonlocal last_prune
        now = state.now()
        jobs: list[Job] = []
        free = slots.free()
        if free > 0:
            jobs = claim(
                state.db,
                box=state.box,
                now=now,
                limit=free,
                in_flight=slots.snapshot(),
                per_endpoint=PER_ENDPOINT,
            )
            slots.take(jobs)
        if time.monotonic() - last_prune >= PRUNE_EVERY_SECONDS:
            last_prune = time.monotonic()
            prune(state.db, now=now)
        return jobs

    def deliver(job: Job) -> None:
        try:
            outcome = send(job, client=client, allow_private=allow_private)
            record(state.db, [outcome], now=state.now())
        except Exception as exc:  # logged; the lease brings the delivery back
            log.warning("webhook_send_failed", error_type=type(exc).__name__)
        finally:
            slots.give_back(job)
            loop.call_soon_threadsafe(wake.set)

    def start(jobs: list[Job]) -> None:
        for job in jobs:
            future = senders.submit(deliver, job)
            sending.add(future)
            future.add_done_callback(sending.discard)

    try:
        while True:
            wake.clear()
            jobs: list[Job] = []
            try:
                jobs = await _finish(loop.run_in_executor(claimer, claim_free), start)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # logged; the loop must survive a database hiccup
                log.warning("webhook_pass_failed", error_type=type(exc).__name__)
            start(jobs)
            if jobs and slots.free() > 0:
                continue  # more may be due than one claim found room for
            await _woken(wake, interval)
    finally:
        # Stopping: what is in flight finishes first (each within ATTEMPT_SECONDS), so that
        # what the receivers answered is recorded and no lease is left to run out.
        if sending:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(sending)])
        claimer.shutdown(wait=False)
        senders.shutdown(wait=False)
        client.close()


async def _woken(wake: asyncio.Event, seconds: float) -> None:
    """Until ``wake`` is set or ``seconds`` pass. Not ``wait_for``: on Python 3.11 it can
    swallow a cancellation that lands as the event is set, and the loop would never stop."""
    waiter = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()


async def _finish(
    future: asyncio.Future[list[Job]], start: Callable[[list[Job]], None]
) -> list[Job]:
    """The claim's jobs. Cancelled meanwhile (the app stopping), the claim still finishes and
    its jobs are sent first: they hold leases."""
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        if not future.cancelled() and future.exception() is None:
            start(future.result())
        raise


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel the loop started by ``run``, once the deliveries in flight are done (each within
    ``ATTEMPT_SECONDS``)."""
    if task is None:
        return
    task.cancel()
    # The deliveries in flight end within their deadline; past it, cancel again rather than
    # hold the app's shutdown.
    await asyncio.wait({task}, timeout=ATTEMPT_SECONDS + 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
