"""``plaudit webhooks``: a product's webhook endpoints and their delivery log, from a terminal.

The same service functions as the HTTP API, on the database PLAUDIT_DATABASE_URL names. The
running server delivers what these commands queue (a redelivery goes out within seconds).
"""

from __future__ import annotations

from typing import Annotated

import typer

from plaudit.errors import InvalidInput
from plaudit.products.service import get_product
from plaudit.webhooks import service
from plaudit.webhooks.schemas import EVENT_TYPES, EndpointOut

from .runtime import console, emit, services

app = typer.Typer(
    help="Webhook endpoints, their delivery log, and redelivery.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ProductArg = Annotated[str, typer.Argument(help="The product id.")]
EndpointArg = Annotated[str, typer.Argument(help="The endpoint id (ep_...).")]
STATUSES = ("pending", "delivered", "failed")


@app.command("add")
def webhooks_add(
    product_id: ProductArg,
    url: Annotated[str, typer.Argument(help="Where notifications are POSTed (https).")],
    event_types: Annotated[
        list[str],
        typer.Option(
            "--event",
            "-e",
            help=f"An event type to receive (repeat the option): {', '.join(EVENT_TYPES)}.",
        ),
    ],
    description: Annotated[str, typer.Option(help="What the endpoint is for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add an endpoint; prints its signing secret once."""
    with services() as s, s.session() as session:
        get_product(session, product_id)
        endpoint, secret = service.create_endpoint(
            session,
            product_id=product_id,
            box=s.box,
            url=url,
            event_types=event_types,
            description=description,
            allow_private=s.settings.allow_private_urls,
        )
        result = {**EndpointOut.model_validate(endpoint).model_dump(), "secret": secret}
    if as_json:
        emit(result, as_json=True)
        return
    console.print(f"[bold green]Added webhook endpoint {result['id']}[/] -> {url}")
    console.print(f"  events : {', '.join(result['event_types'])}")
    console.print(f"  secret : {secret}")
    console.print(
        "[yellow]The secret is shown once: give it to your receiver to verify signatures.[/yellow]"
    )


@app.command("list")
def webhooks_list(product_id: ProductArg, as_json: JsonOpt = False) -> None:
    """A product's endpoints (never their secrets)."""
    with services() as s, s.session() as session:
        get_product(session, product_id)
        rows = [
            EndpointOut.model_validate(e).model_dump()
            for e in service.list_endpoints(session, product_id)
        ]
    emit(
        rows,
        as_json=as_json,
        title="Webhook endpoints",
        columns=["id", "url", "event_types", "enabled", "description", "created_at"],
    )


@app.command("deliveries")
def webhooks_deliveries(
    product_id: ProductArg,
    endpoint_id: EndpointArg,
    status: Annotated[
        str | None, typer.Option(help="Only pending, delivered or failed deliveries.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    offset: Annotated[int, typer.Option(min=0, max=1_000_000_000)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """An endpoint's delivery log, newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"Unknown status {status!r}; choose one of {', '.join(STATUSES)}.", field="status"
        )
    with services() as s, s.session() as session:
        get_product(session, product_id)
        endpoint = service.get_endpoint(session, product_id, endpoint_id)
        page = service.list_deliveries(
            session, endpoint, status=status, limit=limit, offset=offset
        ).model_dump()
    if as_json:
        emit(page, as_json=True)
        return
    emit(
        page["deliveries"],
        as_json=False,
        title=f"Deliveries ({page['total']})",
        columns=[
            "id",
            "message_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_attempt_at",
        ],
    )


@app.command("redeliver")
def webhooks_redeliver(
    product_id: ProductArg,
    endpoint_id: EndpointArg,
    delivery_id: Annotated[
        int, typer.Argument(help="The delivery's id, from 'deliveries'.", min=1, max=2**63 - 1)
    ],
    as_json: JsonOpt = False,
) -> None:
    """Send a delivery again (with a fresh day of retries); the server sends it within seconds."""
    with services() as s, s.session() as session:
        get_product(session, product_id)
        endpoint = service.get_endpoint(session, product_id, endpoint_id)
        result = service.redeliver(session, endpoint, delivery_id).model_dump()
    if as_json:
        emit(result, as_json=True)
        return
    console.print(
        f"[bold green]Delivery {delivery_id}[/] ({result['event_type']}, "
        f"{result['message_id']}) is queued again."
    )
