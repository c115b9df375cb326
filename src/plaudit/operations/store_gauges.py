"""What the store knows, read when Prometheus scrapes: outbox depth and age, leaderboard
staleness. Read at scrape time, not kept in memory, because every process shares one store and
any of them may be scraped; each figure is then the store's, whichever process answered.

The reads are two indexed queries with a deadline (``DEADLINE_SECONDS``): on PostgreSQL a
``statement_timeout``; on every store the scrape stops waiting then, and answers without these
gauges and with ``plaudit_store_gauges_up 0`` rather than hang the scrape. They run on one
thread of their own (``deadline.SingleRead``), so that scrapes piling up on a slow store hold
one connection, not many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import aliased

from plaudit.gamification.models import LeaderboardSnapshot
from plaudit.loyalty.models import LedgerEntry
from plaudit.store.base import UTCDateTime
from plaudit.store.db import Database
from plaudit.webhooks.models import WebhookDelivery

from .deadline import SingleRead

DEADLINE_SECONDS = 2.0


@dataclass(frozen=True)
class StoreFigures:
    outbox_pending: int
    #: Age of the oldest pending delivery; 0 with none pending.
    outbox_oldest_seconds: float
    #: Age of the oldest ledger entry not yet in its product's ranked boards; 0 when current.
    leaderboard_staleness_seconds: float


def read(db: Database, now: dt.datetime) -> StoreFigures:
    """The figures, in one short read-only transaction."""
    with db.session() as session:
        if not db.is_sqlite:
            milliseconds = int(DEADLINE_SECONDS * 1000)
            session.connection().exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
        pending, oldest = session.execute(
            select(
                func.count(),
                type_coerce(func.min(WebhookDelivery.created_at), UTCDateTime),
            ).where(WebhookDelivery.status == "pending")
        ).one()
        # Per ranked board, the first ledger entry its ranks have not seen (one index seek on
        # ix_ledger_entries_product each); the oldest of those is how stale ranks can be.
        snapshot = aliased(LeaderboardSnapshot)
        first_unranked = (
            select(LedgerEntry.created_at)
            .where(
                LedgerEntry.product_id == snapshot.product_id,
                LedgerEntry.id > snapshot.last_entry_id,
            )
            .order_by(LedgerEntry.id)
            .limit(1)
            .correlate(snapshot)
            .scalar_subquery()
        )
        unranked = session.scalar(
            select(type_coerce(func.min(first_unranked), UTCDateTime)).select_from(snapshot)
        )
    return StoreFigures(
        outbox_pending=int(pending or 0),
        outbox_oldest_seconds=_age(now, oldest),
        leaderboard_staleness_seconds=_age(now, unranked),
    )


def _age(now: dt.datetime, then: dt.datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def store_gauges(db: Database, now: Callable[[], dt.datetime]) -> SingleRead[StoreFigures]:
    """What a scrape awaits: ``read`` on a thread of its own, within the deadline."""
    return SingleRead(lambda: read(db, now()), seconds=DEADLINE_SECONDS, name="plaudit-metrics")


def families(figures: StoreFigures | None) -> Collector:
    """The gauges for one scrape; without figures (the store was late) only ``up`` = 0."""
    return _Families(figures)


class _Families(Collector):
    def __init__(self, figures: StoreFigures | None) -> None:
        self._figures = figures

    def collect(self) -> Iterable[Metric]:
        figures = self._figures
        yield GaugeMetricFamily(
            "plaudit_store_gauges_up",
            "1 if the store-derived gauges below were read within the scrape's deadline.",
            value=0 if figures is None else 1,
        )
        if figures is None:
            return
        yield GaugeMetricFamily(
            "plaudit_outbox_pending",
            "Webhook deliveries waiting to be sent (due now or later), across every product.",
            value=figures.outbox_pending,
        )
        yield GaugeMetricFamily(
            "plaudit_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery; 0 when none is pending.",
            value=figures.outbox_oldest_seconds,
        )
        yield GaugeMetricFamily(
            "plaudit_leaderboard_staleness_seconds",
            "Age of the oldest ledger entry not yet in its product's ranked leaderboards; "
            "0 when every ranked board is current.",
            value=figures.leaderboard_staleness_seconds,
        )
