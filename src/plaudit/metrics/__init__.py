"""Plaudit's Prometheus counters, and the one-line hooks the rest of the code calls.

This package imports nothing from the rest of Plaudit, so that any package may count into it.
No label carries a tenant: a product id, user id or raw path would give every tenant its own
series, without bound, and tell the scraper who the tenants are. Per-product figures are the
analytics' business; here each label is a small fixed set (route templates, outcome codes).
What the store knows (outbox depth, leaderboard staleness) is read at scrape time, by
``plaudit.operations.store_gauges``, not counted here.
"""

from __future__ import annotations

from .counters import (
    REQUEST_SECONDS,
    REQUESTS,
    record_delivery,
    record_event_group,
    record_event_group_split,
    record_event_later,
    record_events,
    record_jwks_fetch,
    record_request,
    record_verification,
)

__all__ = [
    "REQUESTS",
    "REQUEST_SECONDS",
    "record_delivery",
    "record_event_group",
    "record_event_group_split",
    "record_event_later",
    "record_events",
    "record_jwks_fetch",
    "record_request",
    "record_verification",
]
