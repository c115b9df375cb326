"""Setup that is not itself under test, written through the services in one transaction instead
of one HTTP round trip per row: products with their first credentials, users as a verified token
would map them. Each returns what the call it replaces answered, where a test
reads it; a test about the HTTP call itself keeps making it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from plaudit.products.schemas import ProductSettings
from plaudit.products.service import create_product, created_answer, update_product
from plaudit.settings import Settings
from plaudit.store.crypto import SecretBox
from plaudit.store.db import Database
from plaudit.users.service import upsert_user

from .service import NOW


def at(seconds: float = NOW) -> dt.datetime:
    """A pinned clock's reading as the services take it."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def product(
    db: Database,
    settings: Settings,
    *,
    id: str | None = None,
    name: str = "Acme",
    profile: str = "standard",
    **changes: Any,
) -> dict[str, Any]:
    """A product as POST /v1/products answers it (its API key and secret shown this once),
    with any settings a PATCH would change, encrypted with the app's master key."""
    with db.session() as session:
        created = create_product(
            session,
            box=SecretBox(settings.master_key or ""),
            name=name,
            product_id=id,
            profile=profile,
        )
        if changes:
            update_product(session, created.product, ProductSettings(**changes))
        answer: dict[str, Any] = created_answer(created).model_dump(mode="json")
        return answer


def users(
    db: Database,
    product_id: str,
    profiles: Iterable[tuple[str, dict[str, Any]]],
    *,
    listed: bool = True,
    now: float = NOW,
) -> None:
    """Users seen once each, in order, as GET /v1/auth/verify maps a token's user (a listed
    user for a published product), with their user.created webhooks queued."""
    with db.session() as session:
        for external_id, profile in profiles:
            upsert_user(
                session,
                product_id=product_id,
                external_id=external_id,
                profile=profile,
                listed=listed,
                now=at(now),
            )
