"""The counters and histograms, each with a small fixed set of label values, and their hooks.

A hook is called on hot paths (``record_request`` on every request, ``record_verification``
on every client call), so each keeps its labelled children in a dict: one lookup and one
locked increment per call, never prometheus-client's ``labels()`` (which builds and checks a
label tuple each time). The dicts are bounded by their label sets: route templates, status
codes, outcome codes.

Under ``plaudit serve --workers N`` prometheus-client's multiprocess mode writes these to files
that ``/metrics`` sums (see ``plaudit.operations.scrape``); nothing here changes for it.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

# The *_created series double every series for a figure Prometheus infers from resets anyway.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Request latency buckets, in seconds: the cached verify answers in well under a millisecond,
#: a batch of events in tens of milliseconds; past 5 s a load balancer has given up.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Event batches: one event takes milliseconds, a batch of 1,000 up to seconds.
INGEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "plaudit_http_requests",
    "HTTP requests answered, by route template (not the raw path), method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "plaudit_http_request_duration_seconds",
    "Time from a request's arrival to its response's end, by route template.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
VERIFICATIONS = Counter(
    "plaudit_verifications",
    "User tokens judged by the client API, by outcome: ok, or the refusal's error code.",
    ["outcome"],
)
EVENTS = Counter(
    "plaudit_events_ingested",
    "Events run through the pipeline (retries of stored ones included), by source.",
    ["source"],
)
INGEST_SECONDS = Histogram(
    "plaudit_event_ingest_duration_seconds",
    "Time the pipeline took per batch (a single event is a batch of one), by source.",
    ["source"],
    buckets=INGEST_BUCKETS,
)
#: Group commit: how many single client events one transaction stored.
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1000)
EVENT_GROUPS = Histogram(
    "plaudit_event_group_size",
    "Single client events stored together by one transaction (group commit).",
    buckets=GROUP_BUCKETS,
)
EVENT_GROUP_SPLITS = Counter(
    "plaudit_event_group_splits",
    "Groups of client events that failed before their commit and were stored one by one.",
)
EVENTS_LATER = Counter(
    "plaudit_event_group_later",
    "Client events whose row was locked elsewhere past the group's patience, stored later alone.",
)
DELIVERIES = Counter(
    "plaudit_webhook_deliveries",
    "Webhook delivery attempts recorded, by outcome: delivered, retrying, failed (gave up).",
    ["outcome"],
)
JWKS_FETCHES = Counter(
    "plaudit_jwks_fetches",
    "JWKS documents fetched from tenants' hosts, by outcome: ok, fetch_failed, unsafe_url, "
    "invalid_document.",
    ["outcome"],
)

# The outcomes known in advance start at 0, so that a rate over them exists before the first.
for _outcome in ("delivered", "retrying", "failed"):
    DELIVERIES.labels(_outcome)
for _outcome in ("ok", "fetch_failed", "unsafe_url", "invalid_document"):
    JWKS_FETCHES.labels(_outcome)
for _source in ("client", "server"):
    EVENTS.labels(_source)
VERIFICATIONS.labels("ok")

_requests: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_verifications: dict[str, Counter] = {}


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request; ``route`` is a template (``/v1/products/{product_id}``)."""
    key = (route, method, status)
    children = _requests.get(key)
    if children is None:
        children = _requests[key] = (
            REQUESTS.labels(route, method, str(status)),
            REQUEST_SECONDS.labels(route),
        )
    children[0].inc()
    children[1].observe(seconds)


def record_verification(outcome: str) -> None:
    """One user token judged: ``ok``, or the refusal's stable error code."""
    child = _verifications.get(outcome)
    if child is None:
        child = _verifications[outcome] = VERIFICATIONS.labels(outcome)
    child.inc()


def record_events(count: int, seconds: float, *, source: str) -> None:
    """A batch of ``count`` events run through the pipeline in ``seconds``."""
    EVENTS.labels(source).inc(count)
    INGEST_SECONDS.labels(source).observe(seconds)


def record_event_group(size: int) -> None:
    """A group of ``size`` single client events about to be stored by one transaction."""
    EVENT_GROUPS.observe(size)


def record_event_group_split() -> None:
    """A group failed before its commit: its events are stored one by one."""
    EVENT_GROUP_SPLITS.inc()


def record_event_later() -> None:
    """A client event whose row was locked elsewhere is stored later, alone."""
    EVENTS_LATER.inc()


def record_delivery(status: str) -> None:
    """A webhook attempt recorded, by the delivery's status after it: ``delivered``,
    ``failed`` (gave up), or ``pending`` (counted as ``retrying``)."""
    DELIVERIES.labels("retrying" if status == "pending" else status).inc()


def record_jwks_fetch(outcome: str) -> None:
    """A JWKS fetch: ``ok``, ``fetch_failed``, ``unsafe_url`` or ``invalid_document``."""
    JWKS_FETCHES.labels(outcome).inc()
