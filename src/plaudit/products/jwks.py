"""JWKS sources: a tenant's published key set, fetched by Plaudit on its own schedule.

Fetched when registered, refreshed in the background when due, and refetched on an unknown
``kid`` at most once per ``jwks_min_refetch_seconds``. A failed fetch keeps the last good set.
Nothing is ever fetched because a token asks (``jku`` and ``x5u`` are ignored by the core).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit.auth import KeyError_, keys_from_jwks
from plaudit.errors import Conflict, InvalidInput, NotFound, UnsafeUrl
from plaudit.netsafe import check_url
from plaudit.store.base import utcnow
from plaudit.store.db import Database

from .models import JwksSource, Product
from .scope import scoped, touch

MAX_JWKS_BYTES = 256 * 1024
FETCH_TIMEOUT = httpx.Timeout(5.0, connect=3.0)


def add_source(
    session: Session,
    product: Product,
    *,
    url: str,
    refresh_seconds: int = 3600,
    allow_private: bool,
    client: httpx.Client,
) -> JwksSource:
    check_url(url, allow_private=allow_private)
    if session.scalar(scoped(JwksSource, product.id).where(JwksSource.url == url)):
        raise Conflict("This JWKS URL is registered already.", field="url")
    source = JwksSource(product_id=product.id, url=url, refresh_seconds=refresh_seconds)
    session.add(source)
    session.flush()
    fetch(session, source, client=client, allow_private=allow_private)
    if source.jwks is None:
        raise InvalidInput(
            f"The JWKS could not be fetched: {source.last_error}",
            hint='Check that the URL serves a JSON Web Key Set ({"keys": [...]}) over https.',
            field="url",
        )
    return source


def list_sources(session: Session, product: Product) -> list[JwksSource]:
    return list(session.scalars(scoped(JwksSource, product.id).order_by(JwksSource.id)))


def delete_source(session: Session, product: Product, source_id: int) -> None:
    source = session.scalar(scoped(JwksSource, product.id).where(JwksSource.id == source_id))
    if source is None:
        raise NotFound(f"Product {product.id!r} has no JWKS source {source_id}.")
    session.delete(source)
    touch(product)


Download = tuple[dict[str, Any] | None, str | None]


def download(url: str, *, client: httpx.Client, allow_private: bool) -> Download:
    """Fetch and check a key set, outside any transaction: (document, None) or (None, error)."""
    try:
        check_url(url, allow_private=allow_private)
        response = client.get(
            url,
            timeout=FETCH_TIMEOUT,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise ValueError(f"the server answered HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError(f"the key set is larger than {MAX_JWKS_BYTES} bytes")
        document = json.loads(response.content)
        if not keys_from_jwks(document, skip_unusable=True):
            raise ValueError("the key set holds no signing key Plaudit can use")
    except (httpx.HTTPError, ValueError, UnsafeUrl, KeyError_) as exc:
        return None, getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return document, None


def record(session: Session, source: JwksSource, result: Download) -> bool:
    """Store a download's outcome. True if the key set changed; a failure keeps the last one."""
    document, error = result
    source.last_attempt_at = utcnow()
    if document is None:
        source.last_error = error
        return False
    source.last_error = None
    source.fetched_at = utcnow()
    changed: bool = document != source.jwks
    if changed:
        source.jwks = document
        touch(source.product)
    return changed


def fetch(
    session: Session, source: JwksSource, *, client: httpx.Client, allow_private: bool
) -> bool:
    """Fetch one source now, inside the caller's transaction (registration only)."""
    return record(session, source, download(source.url, client=client, allow_private=allow_private))


def _refresh(
    db: Database, due: list[tuple[int, str]], *, client: httpx.Client, allow_private: bool
) -> int:
    # The network calls run between two short transactions, never inside one: on SQLite a
    # transaction holds the write lock, and a slow JWKS host must not stall every writer.
    results = [
        (source_id, download(url, client=client, allow_private=allow_private))
        for source_id, url in due
    ]
    changed = 0
    with db.session() as session:
        for source_id, result in results:
            source = session.get(JwksSource, source_id)
            if source is not None:
                changed += record(session, source, result)
    return changed


def refresh_due(
    db: Database, *, client: httpx.Client, allow_private: bool, now: dt.datetime | None = None
) -> int:
    """Refresh every source whose refresh interval has passed; returns how many changed."""
    now = now or utcnow()
    with db.session() as session:
        due = [
            (source.id, source.url)
            for source in session.scalars(select(JwksSource))
            if source.last_attempt_at is None
            or now - source.last_attempt_at >= dt.timedelta(seconds=source.refresh_seconds)
        ]
    return _refresh(db, due, client=client, allow_private=allow_private) if due else 0


def refetch_for_unknown_kid(
    db: Database,
    product_id: str,
    *,
    client: httpx.Client,
    allow_private: bool,
    min_interval: float,
) -> bool:
    """An unknown kid may be a key the tenant just published: refetch, but not too often."""
    now = utcnow()
    with db.session() as session:
        due = [
            (source.id, source.url)
            for source in session.scalars(scoped(JwksSource, product_id))
            if source.last_attempt_at is None
            or (now - source.last_attempt_at).total_seconds() >= min_interval
        ]
    return bool(due) and _refresh(db, due, client=client, allow_private=allow_private) > 0
