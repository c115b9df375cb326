"""The webhooks' reads of tenant data: every statement starts from ``scoped``.

The worker's statements run over every product's due deliveries at once (it is not a tenant's
read) and stay in ``worker``."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, contains_eager

from plaudit.access.scope import scoped
from plaudit.errors import NotFound

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage


def subscriptions(session: Session, product_id: str) -> list[tuple[str, frozenset[str]]]:
    """The product's enabled endpoints and the event types each listens to."""
    return [
        (endpoint_id, frozenset(types or ()))
        for endpoint_id, types in session.execute(
            scoped(WebhookEndpoint, product_id)
            .with_only_columns(WebhookEndpoint.id, WebhookEndpoint.event_types)
            .where(WebhookEndpoint.enabled)
        )
    ]


def endpoint_count(session: Session, product_id: str) -> int:
    count = session.scalar(scoped(WebhookEndpoint, product_id).with_only_columns(func.count()))
    return int(count or 0)


def endpoint(session: Session, product_id: str, endpoint_id: str) -> WebhookEndpoint:
    found = session.scalar(
        scoped(WebhookEndpoint, product_id).where(WebhookEndpoint.id == endpoint_id)
    )
    if found is None:
        raise NotFound(f"Product {product_id!r} has no webhook endpoint {endpoint_id!r}.")
    return found


def endpoints(session: Session, product_id: str) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            scoped(WebhookEndpoint, product_id).order_by(
                WebhookEndpoint.created_at, WebhookEndpoint.id
            )
        )
    )


def _deliveries(endpoint: WebhookEndpoint) -> Select[WebhookDelivery]:
    return scoped(WebhookDelivery, endpoint.product_id).where(
        WebhookDelivery.endpoint_id == endpoint.id
    )


def _with_message(query: Select[WebhookDelivery]) -> Select[WebhookDelivery]:
    """Deliveries with their message (what their event type is read from) in the same row."""
    return query.join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id).options(
        contains_eager(WebhookDelivery.message)
    )


def deliveries(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[WebhookDelivery], int]:
    """A page of the endpoint's deliveries (with their messages), newest first, and how many
    match."""
    query = _deliveries(endpoint)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        _with_message(query).order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def delivery(session: Session, endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    found = session.scalar(
        _with_message(_deliveries(endpoint)).where(WebhookDelivery.id == delivery_id)
    )
    if found is None:
        raise NotFound(f"Webhook endpoint {endpoint.id!r} has no delivery {delivery_id}.")
    return found


def attempts(session: Session, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    """A delivery's attempts, oldest first (the delivery was found through its product)."""
    return list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        )
    )
