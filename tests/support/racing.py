"""Server batches sent at once, each from a thread of its own, each its own transaction: for
the tests that show what concurrent batches leave behind (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

from plaudit.events.schemas import ServerEventIn
from plaudit.pipeline import ingest
from plaudit.products.models import Product
from plaudit.store.db import Database

#: How long a racing batch may wait for the others to start, and to finish.
SECONDS = 60


def race(
    db: Database, product_id: str, batches: Sequence[Sequence[ServerEventIn]], *, now: dt.datetime
) -> list[BaseException]:
    """Ingest ``batches`` at once (released together by a barrier): what each raised."""
    barrier = threading.Barrier(len(batches))
    failures: list[BaseException] = []

    def send(events: Sequence[ServerEventIn]) -> None:
        barrier.wait(timeout=10)
        try:
            with db.session() as session:
                product = session.get(Product, product_id)
                assert product is not None
                ingest.ingest_batch(session, product, events, source="server", now=now)
        except BaseException as exc:  # returned, with the others
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(events,)) for events in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS)
    return failures
