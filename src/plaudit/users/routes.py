"""The All Users list (management) and the referral platform guide's open endpoint (client)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from plaudit.auth.errors import InsufficientPermissions
from plaudit.errors import InvalidInput, NotFound
from plaudit.products.service import get_product
from plaudit.web.client import authenticate_user
from plaudit.web.credentials import USER_TOKEN_HEADERS, bearer
from plaudit.web.management import Manager, management_principal
from plaudit.web.state import AppState, in_session

from . import service
from .schemas import OpenUserUpsert, UserOut, UsersPage
from .vouched import check_vouched

router = APIRouter(tags=["users"])


@router.get(
    "/v1/products/{product_id}/users",
    response_model=UsersPage,
    summary="All Users: the product's mapped users, newest first, searchable",
)
async def list_users(
    request: Request,
    product_id: str,
    principal: Manager,
    q: str | None = Query(None, max_length=200, description="Search id, email, names, codes."),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=service.MAX_OFFSET),
    include_unlisted: bool = Query(False, description="Also users seen before publishing."),
) -> Any:
    principal.check_product(product_id)

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        get_product(session, product_id)
        users, total = service.list_users(
            session,
            product_id,
            search=q,
            limit=limit,
            offset=offset,
            include_unlisted=include_unlisted,
        )
        return {
            "users": [u.to_dict() for u in users],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    return await in_session(request, work)


@router.get(
    "/v1/products/{product_id}/users/{user_id}",
    response_model=UserOut,
    summary="One user's profile",
)
async def get_user(request: Request, product_id: str, user_id: str, principal: Manager) -> Any:
    principal.check_product(product_id)

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        return service.get_user(session, product_id, user_id).to_dict()

    return await in_session(request, work)


@router.post(
    "/api/v1/{product_id}/open/account/{account_id}/user/{user_id}",
    response_model=UserOut,
    summary="Upsert a user (the referral platform guide's open endpoint)",
    description="From a browser with the user's token in `X-SaaSquatch-User-Token` (or "
    "`X-Plaudit-User-Token`, or `Authorization: Bearer`): the token's user may write only "
    "itself, in the account the token names, with the values the token carries (else 403 "
    "`claims_mismatch`). From a server with the product's API key (Bearer, or Basic with the key as "
    "password): any user.",
)
async def open_upsert_user(
    request: Request, product_id: str, account_id: str, user_id: str, body: OpenUserUpsert
) -> Any:
    if body.id is not None and body.id != user_id:
        raise InvalidInput("The body's 'id' differs from the user id in the path.", field="id")
    if body.accountId is not None and body.accountId != account_id:
        raise InvalidInput(
            "The body's 'accountId' differs from the account id in the path.", field="accountId"
        )
    presented_user_token = any(request.headers.get(h) for h in USER_TOKEN_HEADERS)
    api_key = bearer(request)
    if not presented_user_token and api_key and api_key.startswith("pk_"):
        principal = await management_principal(request)
        principal.check_product(product_id)
        listed = None
    else:
        context = await authenticate_user(request, product_id=product_id, scopes=("write",))
        if not hmac.compare_digest(context.verified.user_id.encode(), user_id.encode()):
            raise InsufficientPermissions(
                "A user token may only write its own user.",
                hint="Call with the user id the token names, or from your server with the "
                "product's API key to write any user.",
            )
        check_vouched(context.verified, account_id=account_id, body=body.profile())
        listed = context.runtime.published

    def work(session: Session, _state: AppState) -> dict[str, Any]:
        product = get_product(session, product_id)
        user = service.upsert_user(
            session,
            product_id=product_id,
            external_id=user_id,
            profile={"account_id": account_id, **body.profile()},
            listed=product.published if listed is None else listed,
        )
        return user.to_dict()

    try:
        return await in_session(request, work)
    except NotFound:
        raise NotFound(f"No product has the id {product_id!r}.") from None
