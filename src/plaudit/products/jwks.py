"""JWKS sources: a tenant's published key set, fetched by Plaudit on its own schedule.

Fetched when registered (before anything is stored, so that no transaction is open while a
tenant's host answers), refreshed in the background when due, and refetched on an unknown
``kid`` at most once per ``jwks_min_refetch_seconds`` (``jwks_refresh`` runs those fetches on
threads of their own). Every fetch has one total deadline and a size cap enforced while the
set streams in; a set with more than ``MAX_JWKS_KEYS`` members is refused. A failed fetch keeps
the last good set. Nothing is ever fetched because a token asks (``jku`` and ``x5u`` are
ignored by the core).
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit import metrics
from plaudit.auth import KeyError_, keys_from_jwks
from plaudit.errors import Conflict, InvalidInput, NotFound, UnsafeUrl
from plaudit.outbound import FetchFailed, check_url, fetch
from plaudit.store.base import utcnow
from plaudit.store.db import Database

from .models import JwksSource, Product
from .scope import scoped, touch

MAX_JWKS_BYTES = 256 * 1024
#: Members of one key set; a published set holds a handful (current, next, previous).
MAX_JWKS_KEYS = 100
#: The whole of one fetch: connecting, asking, and the last byte of the answer.
FETCH_SECONDS = 10.0
#: Sources one background pass fetches at once.
REFRESH_PARALLEL = 8


def check_new_source(session: Session, product: Product, url: str) -> None:
    """Refuse a URL this product has registered already."""
    if session.scalar(scoped(JwksSource, product.id).where(JwksSource.url == url)):
        raise Conflict("This JWKS URL is registered already.", field="url")


def fetch_new(url: str, *, client: httpx.Client, allow_private: bool) -> dict[str, Any]:
    """The key set at ``url``, fetched for its registration; the tenant's error if none.

    Runs before the source is stored, with no transaction open.
    """
    check_url(url, allow_private=allow_private)  # a clear unsafe_url before anything is sent
    document, error = download(url, client=client, allow_private=allow_private)
    if document is None:
        raise InvalidInput(
            f"The JWKS could not be fetched: {error}",
            hint='Check that the URL serves a JSON Web Key Set ({"keys": [...]}) over https, '
            f"of at most {MAX_JWKS_BYTES // 1024} KB and {MAX_JWKS_KEYS} keys, within "
            f"{FETCH_SECONDS:g} seconds.",
            field="url",
        )
    return document


def add_source(
    session: Session,
    product: Product,
    *,
    url: str,
    refresh_seconds: int = 3600,
    document: dict[str, Any],
) -> JwksSource:
    """Store a source with the key set ``fetch_new`` fetched for it."""
    check_new_source(session, product, url)
    now = utcnow()
    source = JwksSource(
        product_id=product.id,
        url=url,
        refresh_seconds=refresh_seconds,
        jwks=document,
        fetched_at=now,
        last_attempt_at=now,
    )
    session.add(source)
    touch(product)
    session.flush()
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
        fetched = fetch(
            client,
            url,
            allow_private=allow_private,
            seconds=FETCH_SECONDS,
            max_bytes=MAX_JWKS_BYTES,
            headers={"accept": "application/json"},
        )
        if fetched.status_code != 200:
            raise ValueError(f"the server answered HTTP {fetched.status_code}")
        document = json.loads(fetched.body)
        members = document.get("keys") if isinstance(document, dict) else None
        if isinstance(members, list) and len(members) > MAX_JWKS_KEYS:
            raise ValueError(
                f"the key set has {len(members)} keys; Plaudit takes at most {MAX_JWKS_KEYS}"
            )
        if not keys_from_jwks(document, skip_unusable=True):
            raise ValueError("the key set holds no signing key Plaudit can use")
    except (FetchFailed, UnsafeUrl) as exc:
        metrics.record_jwks_fetch("unsafe_url" if isinstance(exc, UnsafeUrl) else "fetch_failed")
        return None, exc.message
    except (ValueError, KeyError_) as exc:
        metrics.record_jwks_fetch("invalid_document")
        return None, getattr(exc, "message", None) or str(exc) or type(exc).__name__
    metrics.record_jwks_fetch("ok")
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


class Refreshed(NamedTuple):
    changed: int
    failed: int


def _refresh(
    db: Database, due: list[tuple[int, str]], *, client: httpx.Client, allow_private: bool
) -> Refreshed:
    # The network calls run between two short transactions, never inside one: on SQLite a
    # transaction holds the write lock, and a slow JWKS host must not stall every writer.
    # Several at once, so that one slow host delays the others by nothing.
    def one(url: str) -> Download:
        return download(url, client=client, allow_private=allow_private)

    if len(due) == 1:
        results = [one(due[0][1])]
    else:
        with ThreadPoolExecutor(max_workers=min(REFRESH_PARALLEL, len(due))) as pool:
            results = list(pool.map(one, [url for _, url in due]))
    changed = 0
    with db.session() as session:
        for (source_id, _), result in zip(due, results, strict=True):
            source = session.get(JwksSource, source_id)
            if source is not None:
                changed += record(session, source, result)
    return Refreshed(changed, sum(document is None for document, _ in results))


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
    return _refresh(db, due, client=client, allow_private=allow_private).changed if due else 0


def refetch_for_unknown_kid(
    db: Database,
    product_id: str,
    *,
    client: httpx.Client,
    allow_private: bool,
    min_interval: float,
) -> Refreshed:
    """An unknown kid may be a key the tenant just published: refetch, but not too often
    (across processes: by the sources' last attempt; within one, ``jwks_refresh`` also keeps
    it to one flight per product)."""
    now = utcnow()
    with db.session() as session:
        due = [
            (source.id, source.url)
            for source in session.scalars(scoped(JwksSource, product_id))
            if source.last_attempt_at is None
            or (now - source.last_attempt_at).total_seconds() >= min_interval
        ]
    return _refresh(db, due, client=client, allow_private=allow_private) if due else Refreshed(0, 0)
