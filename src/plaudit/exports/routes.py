"""CSV exports through the management API, streamed as they are read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse

from plaudit.access.state import AppState, State
from plaudit.products.dependencies import ManagedProduct

from .slots import SLOTS
from .stream import csv_chunks
from .tables import EXPORTS, Export, Window
from .window import window

router = APIRouter(tags=["exports"])
BASE = "/v1/products/{product_id}/exports"
CSV = "text/csv; charset=utf-8"

From = Annotated[
    dt.date | None, Query(alias="from", description="First day (YYYY-MM-DD, UTC), included.")
]
To = Annotated[
    dt.date | None, Query(alias="to", description="Last day (YYYY-MM-DD, UTC), included.")
]


def streamed(state: AppState, export: Export, product_id: str, span: Window) -> StreamingResponse:
    """The export as a download: rows are read in a session of the stream's own, opened when
    the first chunk is asked for and closed after the last (or when the client goes away)."""

    def body() -> Iterator[bytes]:
        with state.db.read_session() as session:
            for chunk in csv_chunks(session, export, product_id, span):
                yield chunk.encode()

    SLOTS.take(product_id)  # 429 when this product (or the process) streams enough already
    filename = f"{product_id}-{export.name}.csv"
    return StreamingResponse(
        SLOTS.holding(product_id, body()),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _document(name: str) -> dict[str, object]:
    export = EXPORTS[name]
    columns = ", ".join(f"`{column}`" for column, _ in export.columns)
    return {
        "response_class": StreamingResponse,
        "responses": {
            200: {
                "content": {CSV: {"schema": {"type": "string"}}},
                "description": (
                    f"CSV with a header row: {columns}. Text cells that start with = + - or @ are "
                    "prefixed with an apostrophe (CSV injection)."
                ),
            }
        },
        "description": f"'from' and 'to' narrow the rows by `{export.window_column}`.",
    }


@router.get(BASE + "/users", summary="The product's users as CSV", **_document("users"))  # type: ignore[arg-type]
def export_users(
    product_id: str, product: ManagedProduct, state: State, first: From = None, last: To = None
) -> StreamingResponse:
    return streamed(state, EXPORTS["users"], product.id, window(first, last))


@router.get(BASE + "/ledger", summary="The product's points ledger as CSV", **_document("ledger"))  # type: ignore[arg-type]
def export_ledger(
    product_id: str, product: ManagedProduct, state: State, first: From = None, last: To = None
) -> StreamingResponse:
    return streamed(state, EXPORTS["ledger"], product.id, window(first, last))


@router.get(
    BASE + "/referrals",
    summary="The product's referrals as CSV",
    **_document("referrals"),  # type: ignore[arg-type]
)
def export_referrals(
    product_id: str, product: ManagedProduct, state: State, first: From = None, last: To = None
) -> StreamingResponse:
    return streamed(state, EXPORTS["referrals"], product.id, window(first, last))
