"""Privacy requests as the API, the CLI and the console make them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from plaudit.products.models import Product
from plaudit.users import service as users

from . import repository
from .erase import Erasure, erase_user, file_request
from .export import export_user
from .models import PrivacyRequest
from .subject import subject_digest

MAX_PAGE = 200

__all__ = ["Erasure", "erase_user", "export_request", "list_requests"]


def export_request(
    session: Session, product: Product, user_id: str, *, digest_key: bytes, now: dt.datetime
) -> tuple[dict[str, Any], PrivacyRequest]:
    """The user's export document, recorded as a privacy request and in the audit log."""
    user = users.get_user(session, product.id, user_id)
    document = export_user(session, product, user, now=now)
    request = file_request(
        session,
        product.id,
        kind="export",
        user_id=user_id,
        digest=subject_digest(digest_key, product.id, user_id),
        summary={
            name: len(document[name])
            for name in ("ledger", "events", "redemptions", "badges", "webhooks")
        },
        now=now,
    )
    document["request_id"] = request.id
    return document, request


def list_requests(
    session: Session, product: Product, *, limit: int = 50, offset: int = 0
) -> tuple[list[PrivacyRequest], int]:
    return repository.requests_page(
        session, product.id, limit=min(max(limit, 1), MAX_PAGE), offset=max(offset, 0)
    )
