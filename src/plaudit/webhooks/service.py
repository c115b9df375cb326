"""Webhook endpoints and the outbox: what the management API, the CLI and other features call.

``enqueue`` is the one function other features call. It writes the message and one pending
delivery per subscribed endpoint in the caller's own transaction, so a notification is durable
exactly when the change it reports is; nothing is sent from here (see ``worker``).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from plaudit.errors import Conflict, InvalidInput
from plaudit.outbound.policy import check_url
from plaudit.products.programs import programs_changed
from plaudit.store.base import utcnow
from plaudit.store.bulk import insert_rows, random_ids
from plaudit.store.crypto import SecretBox
from plaudit.store.memo import remembered

from . import repository
from .models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from .schemas import EVENT_TYPES, DeliveriesPage, DeliveryDetail, DeliveryOut

#: Sent by POST .../webhooks/{id}/test to that endpoint only; nobody subscribes to it.
TEST_EVENT = "webhook.test"
#: How long failing deliveries are retried, from the message (or a manual redelivery).
RETRY_WINDOW = dt.timedelta(hours=24)
SECRET_PREFIX = "whsec_"
MAX_ENDPOINTS_PER_PRODUCT = 20

# --- the outbox ---------------------------------------------------------------------------

#: One notification to queue: (event type, the user it is about, its data).
Notice = tuple[str, str | None, dict[str, Any]]
_messages: Table = WebhookMessage.__table__  # type: ignore[assignment]
_deliveries: Table = WebhookDelivery.__table__  # type: ignore[assignment]
_MESSAGE_COLUMNS = ("id", "product_id", "event_type", "payload", "ordering_key", "created_at")
_DELIVERY_COLUMNS = (
    "product_id",
    "message_id",
    "endpoint_id",
    "ordering_key",
    "status",
    "attempts",
    "give_up_at",
    "created_at",
)


def enqueue(
    session: Session,
    *,
    product_id: str,
    event_type: str,
    data: dict[str, Any],
    user_id: str | None,
    now: dt.datetime | None = None,
) -> str | None:
    """Queue a notification for every enabled endpoint subscribed to ``event_type``.

    Runs in the caller's transaction: rolled back with it, committed with it. ``data`` gets the
    product and user ids added; ``user_id`` also orders the messages about one user. Returns
    the message id, or None when no endpoint listens (then nothing is written).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    subscriptions = remembered(
        session, ("webhooks", product_id), lambda: repository.subscriptions(session, product_id)
    )
    endpoints = [endpoint_id for endpoint_id, types in subscriptions if event_type in types]
    if not endpoints:
        return None
    message, _ = _write(
        session,
        product_id=product_id,
        event_type=event_type,
        data=data,
        user_id=user_id,
        endpoint_ids=sorted(endpoints),
        now=now or utcnow(),
    )
    return message.id


def enqueue_many(
    session: Session, *, product_id: str, notices: list[Notice], now: dt.datetime
) -> None:
    """Queue many notifications at once, in their order (the deliveries' ids follow it, so one
    user's messages still reach an endpoint oldest first): two statements, messages then
    deliveries, whatever the number. What ``enqueue`` does for each, set-wise."""
    subscriptions = remembered(
        session, ("webhooks", product_id), lambda: repository.subscriptions(session, product_id)
    )
    if not subscriptions or not notices:
        return
    listeners: dict[str, list[str]] = {}
    timestamp = now.isoformat().replace("+00:00", "Z")
    give_up_at = now + RETRY_WINDOW
    messages: list[tuple[Any, ...]] = []
    deliveries: list[tuple[Any, ...]] = []
    ids = iter(random_ids("msg_", len(notices)))
    for event_type, user_id, data in notices:
        endpoints = listeners.get(event_type)
        if endpoints is None:
            if event_type not in EVENT_TYPES:
                raise ValueError(f"unknown webhook event type {event_type!r}")
            endpoints = sorted(e for e, types in subscriptions if event_type in types)
            listeners[event_type] = endpoints
        if not endpoints:
            continue
        message_id = next(ids)
        payload = {
            "type": event_type,
            "timestamp": timestamp,
            "data": {"product_id": product_id, "user_id": user_id, **data},
        }
        messages.append((message_id, product_id, event_type, payload, user_id, now))
        for endpoint_id in endpoints:
            deliveries.append(
                (product_id, message_id, endpoint_id, user_id, "pending", 0, give_up_at, now)
            )
    insert_rows(session, _messages, _MESSAGE_COLUMNS, messages)
    insert_rows(session, _deliveries, _DELIVERY_COLUMNS, deliveries)


def _write(
    session: Session,
    *,
    product_id: str,
    event_type: str,
    data: dict[str, Any],
    user_id: str | None,
    endpoint_ids: list[str],
    now: dt.datetime,
) -> tuple[WebhookMessage, list[WebhookDelivery]]:
    message = WebhookMessage(
        id="msg_" + secrets.token_hex(12),
        product_id=product_id,
        event_type=event_type,
        payload={
            "type": event_type,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"product_id": product_id, "user_id": user_id, **data},
        },
        ordering_key=user_id,
        created_at=now,
    )
    session.add(message)
    session.flush()  # the message before its deliveries (foreign key), in order
    deliveries = [
        WebhookDelivery(
            product_id=product_id,
            message_id=message.id,
            message=message,
            endpoint_id=endpoint_id,
            ordering_key=user_id,
            status="pending",
            attempts=0,
            next_attempt_at=None,
            give_up_at=now + RETRY_WINDOW,
            created_at=now,
        )
        for endpoint_id in endpoint_ids
    ]
    session.add_all(deliveries)
    session.flush()
    return message, deliveries


# --- endpoints ----------------------------------------------------------------------------


def generate_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def create_endpoint(
    session: Session,
    *,
    product_id: str,
    box: SecretBox,
    url: str,
    event_types: list[str],
    description: str = "",
    allow_private: bool,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret, which is shown this once."""
    check_url(url, allow_private=allow_private)
    if repository.endpoint_count(session, product_id) >= MAX_ENDPOINTS_PER_PRODUCT:
        raise Conflict(
            f"Product {product_id!r} has {MAX_ENDPOINTS_PER_PRODUCT} webhook endpoints already.",
            hint="Delete one you no longer use; one endpoint may subscribe to many event types.",
        )
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        id="ep_" + secrets.token_hex(8),
        product_id=product_id,
        url=url,
        event_types=_event_types(event_types),
        secret_ciphertext=box.seal(secret),
        enabled=True,
        description=description,
    )
    session.add(endpoint)
    session.flush()
    programs_changed(session, product_id)
    return endpoint, secret


def _event_types(event_types: list[str]) -> list[str]:
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown or not event_types:
        raise InvalidInput(
            f"Unknown event type {unknown[0]!r}." if unknown else "Subscribe to an event type.",
            hint=f"Choose from {', '.join(EVENT_TYPES)}.",
            field="event_types",
        )
    return [t for t in EVENT_TYPES if t in event_types]  # canonical order, no repeats


def get_endpoint(session: Session, product_id: str, endpoint_id: str) -> WebhookEndpoint:
    return repository.endpoint(session, product_id, endpoint_id)


def list_endpoints(session: Session, product_id: str) -> list[WebhookEndpoint]:
    return repository.endpoints(session, product_id)


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    allow_private: bool,
    url: str | None = None,
    event_types: list[str] | None = None,
    enabled: bool | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    if url is not None:
        endpoint.url = check_url(url, allow_private=allow_private)
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if enabled is not None:
        endpoint.enabled = enabled
    if description is not None:
        endpoint.description = description
    session.flush()
    programs_changed(session, endpoint.product_id)
    return endpoint


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries; the messages stay for the other endpoints."""
    session.delete(endpoint)
    programs_changed(session, endpoint.product_id)


def send_test(
    session: Session, endpoint: WebhookEndpoint, *, now: dt.datetime | None = None
) -> WebhookDelivery:
    """Queue a ``webhook.test`` message to this endpoint only."""
    if not endpoint.enabled:
        raise Conflict(
            f"Webhook endpoint {endpoint.id!r} is disabled.",
            hint='Enable it first: PATCH it with {"enabled": true}.',
        )
    _, deliveries = _write(
        session,
        product_id=endpoint.product_id,
        event_type=TEST_EVENT,
        data={"endpoint_id": endpoint.id, "message": "A test notification from Plaudit."},
        user_id=None,
        endpoint_ids=[endpoint.id],
        now=now or utcnow(),
    )
    return deliveries[0]


# --- the delivery log ---------------------------------------------------------------------


def list_deliveries(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> DeliveriesPage:
    """One endpoint's deliveries, newest first, and how many match."""
    rows, total = repository.deliveries(
        session, endpoint, status=status, limit=limit, offset=offset
    )
    return DeliveriesPage(deliveries=[DeliveryOut.model_validate(d) for d in rows], total=total)


def delivery_detail(
    session: Session, endpoint: WebhookEndpoint, delivery_id: int
) -> DeliveryDetail:
    """One delivery with its attempts, oldest first."""
    delivery = repository.delivery(session, endpoint, delivery_id)
    return DeliveryDetail.model_validate(
        {
            **DeliveryOut.model_validate(delivery).model_dump(),
            "attempt_log": repository.attempts(session, delivery),
        }
    )


def redeliver(
    session: Session,
    endpoint: WebhookEndpoint,
    delivery_id: int,
    *,
    now: dt.datetime | None = None,
) -> DeliveryOut:
    """Send a delivery again, whatever its state: due at once, with a fresh day of retries."""
    if not endpoint.enabled:
        raise Conflict(
            f"Webhook endpoint {endpoint.id!r} is disabled.",
            hint='Enable it first: PATCH it with {"enabled": true}.',
        )
    delivery = repository.delivery(session, endpoint, delivery_id)
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.give_up_at = (now or utcnow()) + RETRY_WINDOW
    delivery.delivered_at = None
    session.flush()
    return DeliveryOut.model_validate(delivery)
