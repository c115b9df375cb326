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

Nothing here runs on the request path: the app starts ``run`` as its own task, whose passes run
in a worker thread; a slow receiver costs that thread at most the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import structlog
from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import aliased
from standardwebhooks import Webhook

from plaudit import __version__
from plaudit.errors import UnsafeUrl
from plaudit.netsafe import check_url
from plaudit.store.crypto import MasterKeyError, SecretBox
from plaudit.store.db import Database

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage

if TYPE_CHECKING:
    from plaudit.access.state import AppState

log = structlog.get_logger("plaudit.webhooks")

#: Per operation (connect, each read, write): a receiver should answer at once and work later.
TIMEOUT = httpx.Timeout(5.0)
#: How long a claimed delivery is left to its sender before another may take it.
LEASE = dt.timedelta(seconds=60)
FIRST_RETRY = dt.timedelta(seconds=5)
MAX_RETRY = dt.timedelta(hours=1)
#: How much of a receiver's answer is kept in the attempt log.
EXCERPT_BYTES = 256
#: Deliveries sent at once by one pass (each to a different endpoint or user).
PARALLEL = 10
#: Deliveries one pass of the app's loop claims; a pass lasts at most about one timeout.
PASS_LIMIT = 20
POLL_SECONDS = 1.0
#: Delivered and failed messages are kept this long for the log, then pruned.
KEEP = dt.timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with what sending it needs (read in the claiming transaction)."""

    delivery_id: int
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


def claim(db: Database, *, box: SecretBox, now: dt.datetime, limit: int) -> list[Job]:
    """Take the due deliveries for this process: each gets a lease ending ``LEASE`` from now."""
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
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
        # PostgreSQL: rows another process is claiming are skipped, not waited for. SQLite
        # renders nothing here; its BEGIN IMMEDIATE serialises claims instead.
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    lease = now + LEASE
    jobs = []
    with db.session() as session:
        for delivery, url, ciphertext, payload in session.execute(query):
            delivery.next_attempt_at = lease
            try:
                secret: str | None = box.open(ciphertext)
            except MasterKeyError:
                secret = None
            jobs.append(
                Job(
                    delivery_id=delivery.id,
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
    """POST one message, signed per Standard Webhooks; never raises."""
    started = time.monotonic()
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    try:
        check_url(job.url, allow_private=allow_private)  # again: DNS may have changed
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
        with client.stream(
            "POST",
            job.url,
            content=job.body.encode(),
            headers=headers,
            timeout=TIMEOUT,
            follow_redirects=False,
        ) as response:
            status_code = response.status_code
            excerpt = _excerpt(response)
        if 300 <= status_code < 400:
            error = "The receiver redirected; webhooks do not follow redirects."
    except UnsafeUrl as exc:
        error = exc.message
    except MasterKeyError as exc:
        error = str(exc)
    except httpx.TimeoutException:
        error = f"No answer within {TIMEOUT.read:g} seconds."
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(
        job=job,
        status_code=status_code,
        error=error,
        excerpt=excerpt,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def _excerpt(response: httpx.Response) -> str | None:
    """The start of the answer, never the whole of it."""
    taken = b""
    try:
        for chunk in response.iter_bytes():
            taken += chunk
            if len(taken) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status is what counts; a body that stalls is not waited for
    return taken[:EXCERPT_BYTES].decode("utf-8", "replace") or None


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


async def run(state: AppState, *, poll_seconds: float = POLL_SECONDS) -> None:
    """Deliver what is due, forever: the task the app starts in its lifespan.

    Passes run on a thread of their own, never one the request handlers share. The loop goes
    on at once while passes come back full, and otherwise looks again after ``poll_seconds``
    (or the keystore refresh interval, if shorter).
    """
    interval = min(poll_seconds, state.settings.keystore_refresh_seconds)
    client = httpx.Client()  # its own pool: webhook receivers never hold up JWKS fetches
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plaudit-webhooks")
    last_prune = 0.0

    def one_pass() -> Report:
        nonlocal last_prune
        now = state.now()
        report = deliver_due(
            state.db,
            client=client,
            box=state.box,
            now=now,
            allow_private=state.settings.allow_private_urls,
        )
        if time.monotonic() - last_prune >= PRUNE_EVERY_SECONDS:
            last_prune = time.monotonic()
            prune(state.db, now=now)
        return report

    try:
        while True:
            full = False
            try:
                report = await _finish(asyncio.get_running_loop().run_in_executor(thread, one_pass))
                full = report.attempted >= PASS_LIMIT
            except Exception as exc:  # logged; the loop must survive a database hiccup
                log.warning("webhook_pass_failed", error_type=type(exc).__name__)
            await asyncio.sleep(0 if full else interval)
    finally:
        thread.shutdown(wait=False)
        client.close()


async def _finish(future: asyncio.Future[Report]) -> Report:
    """The pass's report. Cancelled meanwhile (the app stopping), the pass still finishes
    first: it holds leases and open requests, and records what its receivers answered."""
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel the loop started by ``run``, once its pass in flight is done (a pass lasts at
    most about one timeout)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
