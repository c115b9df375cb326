"""``GET /metrics``: the Prometheus exposition, for a scraper holding ``PLAUDIT_METRICS_TOKEN``.

Protected by a bearer token of its own, on the API's port, rather than by a port of its own:
``plaudit serve --workers N`` runs N processes behind one listening socket, and N processes
cannot share a second port; a token works the same for one process or many, behind any load
balancer. It is a credential for this route only (never the admin token, which manages every
product), compared in constant time. Unset, ``/metrics`` is off (404 naming the setting).

Several processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (``plaudit serve --workers N`` sets
it), prometheus-client writes each process's counters to files there, and whichever process
answers the scrape sums them all (multiprocess mode). Otherwise each process is scraped alone
(one per pod or container). Either way, the gauges read from the store (``store_gauges``) are
the store's, read at scrape time within a short deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from fastapi import APIRouter, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response

from plaudit.access.state import get_state
from plaudit.errors import NotFound, Unauthenticated

from .deadline import SingleRead
from .store_gauges import StoreFigures, families

router = APIRouter(include_in_schema=False)  # an operator's scrape, not part of the API


def registry() -> CollectorRegistry:
    """This process's registry, or in multiprocess mode one that sums every process's files."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    summed = CollectorRegistry()
    multiprocess.MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
    return summed


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state = get_state(request)
    _check_token(request.headers.get("authorization", ""), state.settings.metrics_token)
    read: SingleRead[StoreFigures] = request.app.state.store_gauges
    store = CollectorRegistry(auto_describe=False)
    store.register(families(await read()))
    body = generate_latest(registry()) + generate_latest(store)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _check_token(authorization: str, expected: str | None) -> None:
    if not expected:
        raise NotFound(
            "Metrics are off.",
            hint="Set PLAUDIT_METRICS_TOKEN and have Prometheus send it as a bearer token "
            "(docs/operations.md, Metrics).",
        )
    scheme, _, given = authorization.partition(" ")
    # Digests first: compare_digest is constant-time only for inputs of equal length.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(expected.encode()).digest()
    ):
        raise Unauthenticated(
            "/metrics needs the metrics token.",
            hint="Send 'Authorization: Bearer <PLAUDIT_METRICS_TOKEN>'.",
        )
