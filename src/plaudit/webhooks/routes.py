"""The management API for webhooks (operator token or the product's API key).

Handlers are plain functions (FastAPI runs them in its threadpool) on the managed product, the
endpoint found through it, and the request's session, which commits before the response.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from plaudit.access.session import DbSession
from plaudit.access.state import State
from plaudit.products.dependencies import ManagedProduct

from . import service
from .models import WebhookEndpoint
from .schemas import (
    DeliveriesPage,
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
)

router = APIRouter(prefix="/v1/products/{product_id}/webhooks", tags=["webhooks"])

#: Delivery ids are 64-bit integers in both stores.
DeliveryId = Path(ge=1, le=2**63 - 1)


def managed_endpoint(
    product: ManagedProduct,
    session: DbSession,
    endpoint_id: Annotated[str, Path(include_in_schema=False)],
) -> WebhookEndpoint:
    """The path's endpoint, of a product the principal may manage. The handler names
    ``endpoint_id`` itself too: that is where the OpenAPI document lists it."""
    return service.get_endpoint(session, product.id, endpoint_id)


Endpoint = Annotated[WebhookEndpoint, Depends(managed_endpoint)]


@router.post(
    "",
    status_code=201,
    response_model=EndpointCreated,
    summary="Add a webhook endpoint; its signing secret is shown once",
)
def create_endpoint(
    product_id: str, body: EndpointCreate, product: ManagedProduct, session: DbSession, state: State
) -> EndpointCreated:
    endpoint, secret = service.create_endpoint(
        session,
        product_id=product.id,
        box=state.box,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        allow_private=state.settings.allow_private_urls,
    )
    return EndpointCreated.model_validate(
        {**EndpointOut.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get("", response_model=list[EndpointOut], summary="List webhook endpoints")
def list_endpoints(
    product_id: str, product: ManagedProduct, session: DbSession
) -> list[EndpointOut]:
    return [EndpointOut.model_validate(e) for e in service.list_endpoints(session, product.id)]


@router.get("/{endpoint_id}", response_model=EndpointOut, summary="Read a webhook endpoint")
def get_endpoint(product_id: str, endpoint_id: str, endpoint: Endpoint) -> EndpointOut:
    return EndpointOut.model_validate(endpoint)


@router.patch(
    "/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change a webhook endpoint: URL, event types, enabled, description",
)
def update_endpoint(
    product_id: str,
    endpoint_id: str,
    body: EndpointUpdate,
    endpoint: Endpoint,
    session: DbSession,
    state: State,
) -> EndpointOut:
    changed = service.update_endpoint(
        session,
        endpoint,
        allow_private=state.settings.allow_private_urls,
        url=body.url,
        event_types=body.event_types,
        enabled=body.enabled,
        description=body.description,
    )
    return EndpointOut.model_validate(changed)


@router.delete(
    "/{endpoint_id}", status_code=204, summary="Delete a webhook endpoint and its delivery log"
)
def delete_endpoint(
    product_id: str, endpoint_id: str, endpoint: Endpoint, session: DbSession
) -> Response:
    service.delete_endpoint(session, endpoint)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/test",
    status_code=202,
    response_model=DeliveryOut,
    summary="Queue a webhook.test message to this endpoint",
)
def send_test(
    product_id: str, endpoint_id: str, endpoint: Endpoint, session: DbSession, state: State
) -> Any:
    return DeliveryOut.model_validate(service.send_test(session, endpoint, now=state.now()))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=DeliveriesPage,
    summary="The endpoint's delivery log, newest first",
)
def list_deliveries(
    product_id: str,
    endpoint_id: str,
    endpoint: Endpoint,
    session: DbSession,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> Any:
    return service.list_deliveries(session, endpoint, status=status, limit=limit, offset=offset)


@router.get(
    "/{endpoint_id}/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="One delivery and its attempts",
)
def get_delivery(
    product_id: str,
    endpoint_id: str,
    endpoint: Endpoint,
    session: DbSession,
    delivery_id: int = DeliveryId,
) -> Any:
    return service.delivery_detail(session, endpoint, delivery_id)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery again, with a fresh day of retries",
)
def redeliver(
    product_id: str,
    endpoint_id: str,
    endpoint: Endpoint,
    session: DbSession,
    state: State,
    delivery_id: int = DeliveryId,
) -> Any:
    return service.redeliver(session, endpoint, delivery_id, now=state.now())
