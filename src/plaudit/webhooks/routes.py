"""The management API for webhooks (operator token or the product's API key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from plaudit.products.service import get_product
from plaudit.web.management import Manager, Principal
from plaudit.web.state import AppState, in_session

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


def _endpoint(
    session: Session, principal: Principal, product_id: str, endpoint_id: str
) -> WebhookEndpoint:
    principal.check_product(product_id)
    get_product(session, product_id)
    return service.get_endpoint(session, product_id, endpoint_id)


@router.post(
    "",
    status_code=201,
    response_model=EndpointCreated,
    summary="Add a webhook endpoint; its signing secret is shown once",
)
async def create_endpoint(
    request: Request, product_id: str, body: EndpointCreate, principal: Manager
) -> Any:
    principal.check_product(product_id)

    def work(session: Session, state: AppState) -> dict[str, Any]:
        get_product(session, product_id)
        endpoint, secret = service.create_endpoint(
            session,
            product_id=product_id,
            box=state.box,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            allow_private=state.settings.allow_private_urls,
        )
        return {**service.endpoint_info(endpoint), "secret": secret}

    return await in_session(request, work)


@router.get("", response_model=list[EndpointOut], summary="List webhook endpoints")
async def list_endpoints(request: Request, product_id: str, principal: Manager) -> Any:
    principal.check_product(product_id)

    def work(session: Session, _state: AppState) -> list[dict[str, Any]]:
        get_product(session, product_id)
        return [service.endpoint_info(e) for e in service.list_endpoints(session, product_id)]

    return await in_session(request, work)


@router.get("/{endpoint_id}", response_model=EndpointOut, summary="Read a webhook endpoint")
async def get_endpoint(
    request: Request, product_id: str, endpoint_id: str, principal: Manager
) -> Any:
    return await in_session(
        request,
        lambda s, _: service.endpoint_info(_endpoint(s, principal, product_id, endpoint_id)),
    )


@router.patch(
    "/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change a webhook endpoint: URL, event types, enabled, description",
)
async def update_endpoint(
    request: Request, product_id: str, endpoint_id: str, body: EndpointUpdate, principal: Manager
) -> Any:
    def work(session: Session, state: AppState) -> dict[str, Any]:
        endpoint = service.update_endpoint(
            session,
            _endpoint(session, principal, product_id, endpoint_id),
            allow_private=state.settings.allow_private_urls,
            url=body.url,
            event_types=body.event_types,
            enabled=body.enabled,
            description=body.description,
        )
        return service.endpoint_info(endpoint)

    return await in_session(request, work)


@router.delete(
    "/{endpoint_id}", status_code=204, summary="Delete a webhook endpoint and its delivery log"
)
async def delete_endpoint(
    request: Request, product_id: str, endpoint_id: str, principal: Manager
) -> Response:
    await in_session(
        request,
        lambda s, _: service.delete_endpoint(s, _endpoint(s, principal, product_id, endpoint_id)),
    )
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/test",
    status_code=202,
    response_model=DeliveryOut,
    summary="Queue a webhook.test message to this endpoint",
)
async def send_test(request: Request, product_id: str, endpoint_id: str, principal: Manager) -> Any:
    def work(session: Session, state: AppState) -> dict[str, Any]:
        endpoint = _endpoint(session, principal, product_id, endpoint_id)
        delivery = service.send_test(session, endpoint, now=state.now())
        return service.delivery_info(delivery, service.TEST_EVENT)

    return await in_session(request, work)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=DeliveriesPage,
    summary="The endpoint's delivery log, newest first",
)
async def list_deliveries(
    request: Request,
    product_id: str,
    endpoint_id: str,
    principal: Manager,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> Any:
    def work(session: Session, _state: AppState) -> dict[str, Any]:
        rows, total = service.list_deliveries(
            session,
            _endpoint(session, principal, product_id, endpoint_id),
            status=status,
            limit=limit,
            offset=offset,
        )
        return {"deliveries": rows, "total": total}

    return await in_session(request, work)


@router.get(
    "/{endpoint_id}/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="One delivery and its attempts",
)
async def get_delivery(
    request: Request,
    product_id: str,
    endpoint_id: str,
    principal: Manager,
    delivery_id: int = DeliveryId,
) -> Any:
    return await in_session(
        request,
        lambda s, _: service.delivery_detail(
            s, _endpoint(s, principal, product_id, endpoint_id), delivery_id
        ),
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery again, with a fresh day of retries",
)
async def redeliver(
    request: Request,
    product_id: str,
    endpoint_id: str,
    principal: Manager,
    delivery_id: int = DeliveryId,
) -> Any:
    return await in_session(
        request,
        lambda s, state: service.redeliver(
            s, _endpoint(s, principal, product_id, endpoint_id), delivery_id, now=state.now()
        ),
    )
