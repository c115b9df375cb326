"""The auth-failure log: refused tokens, kept per product for the tenant to debug with.

Recording happens off the request path: a refused request only appends to a bounded queue, which
the background loop writes out, at most ``MAX_PER_SECOND`` a product per process, so a flood of
bad tokens costs the database little and the caller nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from sqlalchemy.exc import IntegrityError

from plaudit.auth import parse_unverified
from plaudit.auth.errors import AuthError
from plaudit.store.base import utcnow
from plaudit.store.db import Database

from .failures import record_failures, safe_json

MAX_PER_SECOND = 20
MAX_QUEUED = 5_000


class FailureLog:
    def __init__(self) -> None:
        self._queue: deque[dict[str, Any]] = deque(maxlen=MAX_QUEUED)
        self._window: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def add(self, product_id: str, error: AuthError, token: str | None) -> None:
        second = int(time.monotonic())
        with self._lock:
            window, count = self._window.get(product_id, (second, 0))
            if window != second:
                window, count = second, 0
            if count >= MAX_PER_SECOND:
                return
            self._window[product_id] = (window, count + 1)
        header: Any = None
        claims: Any = None
        if token:
            try:
                parsed = parse_unverified(token, max_bytes=65_536)
                header, claims = dict(parsed.header.fields), parsed.claims
            except AuthError:
                pass
        self._queue.append(
            {
                "product_id": product_id,
                "occurred_at": utcnow(),
                "code": error.code,
                "message": error.message[:1000],
                "header": safe_json(header),
                "claims": safe_json(claims),
            }
        )

    def flush(self, db: Database) -> int:
        batch: list[dict[str, Any]] = []
        while self._queue and len(batch) < 1000:
            batch.append(self._queue.popleft())
        if batch:
            try:
                with db.session() as session:
                    record_failures(session, batch)
            except IntegrityError:
                return 0  # a product deleted meanwhile: its failures go with it
        return len(batch)
