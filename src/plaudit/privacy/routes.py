"""The privacy requests' API: a user's export, a user's erasure, and the requests made.

An export is a GET of a resource derived from the user (recorded as it is read); an erasure
is a POST of an action on the user, idempotent: asked again it answers the first erasure.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from plaudit.access.session import DbSession, changed
from plaudit.access.state import State
from plaudit.products.dependencies import ManagedProduct

from . import service
from .schemas import ErasureOut, PrivacyRequestOut, PrivacyRequestsPage, UserExport
from .subject import digest_key

router = APIRouter(tags=["privacy"])
USER = "/v1/products/{product_id}/users/{user_id}"


@router.get(
    USER + "/export",
    response_model=UserExport,
    summary="Everything Plaudit holds about one user, as JSON (recorded as a privacy request)",
)
def export_user(
    product_id: str, user_id: str, product: ManagedProduct, session: DbSession, state: State
) -> dict[str, Any]:
    document, _ = service.export_request(
        session,
        product,
        user_id,
        digest_key=digest_key(state.settings.master_key or ""),
        now=state.now(),
    )
    return document


@router.post(
    USER + "/erase",
    response_model=ErasureOut,
    summary="Erase one user: personal data removed, the id pseudonymised (idempotent)",
    description="Removes the user's profile, events, badges, streaks, tallies and share code, "
    "replaces their id everywhere by a pseudonym, keeps the ledger's sums and the other side "
    "of each referral, and refuses the user's tokens signed before now. Asked again for the "
    "same user id, answers the first erasure with `already_erased: true`. See docs/privacy.md.",
)
def erase_user(
    product_id: str, user_id: str, product: ManagedProduct, session: DbSession, state: State
) -> ErasureOut:
    erasure = service.erase_user(
        session,
        product,
        user_id,
        digest_key=digest_key(state.settings.master_key or ""),
        now=state.now(),
    )
    if not erasure.already:
        changed(session, product.id)  # this process forgets the user's verified tokens now
    return ErasureOut(
        **PrivacyRequestOut.model_validate(erasure.request).model_dump(),
        already_erased=erasure.already,
    )


@router.get(
    "/v1/products/{product_id}/privacy-requests",
    response_model=PrivacyRequestsPage,
    summary="The product's privacy requests (exports and erasures), newest first",
)
def list_requests(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    limit: int = Query(50, ge=1, le=service.MAX_PAGE),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> PrivacyRequestsPage:
    rows, total = service.list_requests(session, product, limit=limit, offset=offset)
    return PrivacyRequestsPage(
        requests=[PrivacyRequestOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
