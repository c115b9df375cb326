"""The All Users list (management) and the referral platform guide's open endpoint (client)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from plaudit.access.credentials import USER_TOKEN_HEADERS, bearer
from plaudit.access.management import management_principal
from plaudit.access.session import DbSession
from plaudit.auth.errors import InsufficientPermissions, MissingToken
from plaudit.errors import InvalidInput
from plaudit.limits import web as limits
from plaudit.products import repository as products
from plaudit.products.dependencies import ManagedProduct

from . import service
from .client import authenticate_user
from .memory import forget_user
from .schemas import OpenUserUpsert, UserOut, UsersPage
from .vouched import check_vouched

router = APIRouter(tags=["users"])


@router.get(
    "/v1/products/{product_id}/users",
    response_model=UsersPage,
    summary="All Users: the product's mapped users, newest first, searchable",
)
def list_users(
    product_id: str,
    product: ManagedProduct,
    session: DbSession,
    q: str | None = Query(None, max_length=200, description="Search id, email, names, codes."),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=service.MAX_OFFSET),
    include_unlisted: bool = Query(False, description="Also users seen before publishing."),
) -> UsersPage:
    users, total = service.list_users(
        session,
        product.id,
        search=q,
        limit=limit,
        offset=offset,
        include_unlisted=include_unlisted,
    )
    return UsersPage(
        users=[UserOut.model_validate(u) for u in users], total=total, limit=limit, offset=offset
    )


@router.get(
    "/v1/products/{product_id}/users/{user_id}",
    response_model=UserOut,
    summary="One user's profile",
)
def get_user(product_id: str, user_id: str, product: ManagedProduct, session: DbSession) -> UserOut:
    return UserOut.model_validate(service.get_user(session, product.id, user_id))


@dataclass(frozen=True)
class OpenWrite:
    body: OpenUserUpsert
    #: None from the product's server (its API key may write any user); from the user's own
    #: token, whether the product lists users now.
    listed: bool | None


async def open_write(request: Request, body: OpenUserUpsert) -> OpenWrite:
    """The open endpoint's body, consistent with its path, and who may write it: checked in
    this order (the body, then the credentials)."""
    params = request.path_params
    product_id, account_id, user_id = params["product_id"], params["account_id"], params["user_id"]
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
        return OpenWrite(body, listed=None)
    address = limits.client_address(request)
    await limits.hit(request, limits.OPEN_ENDPOINT_PER_ADDRESS, address, product_id=product_id)
    if not presented_user_token and api_key and _is_basic(request):
        # Most often the HMAC signing secret, sent where the guide's servers send their API
        # key. It is never compared with the product's secrets, stored or echoed: the answer
        # only says where the password is read and that a secret sent there has left the server.
        await limits.failed_verification(request)  # as authenticate_user counts missing_token
        raise MissingToken(
            "The Basic password is read only as the product's API key (pk_...), and this one "
            "is not an API key; Plaudit never reads a user token or a signing secret there.",
            hint="From your server, send the product's API key as the Basic password (or "
            "'Authorization: Bearer pk_...'); from a browser, send the user's token in "
            "'X-SaaSquatch-User-Token'. If that password was your signing secret, it has left "
            "your backend: replace it (POST /v1/products/<id>/secrets) and disable the old one.",
        )
    context = await authenticate_user(request, product_id=product_id, scopes=("write",))
    if not hmac.compare_digest(context.verified.user_id.encode(), user_id.encode()):
        raise InsufficientPermissions(
            "A user token may only write its own user.",
            hint="Call with the user id the token names, or from your server with the "
            "product's API key to write any user.",
        )
    check_vouched(context.verified, account_id=account_id, body=body.profile())
    return OpenWrite(body, listed=context.runtime.published)


def _is_basic(request: Request) -> bool:
    return request.headers.get("authorization", "")[:6].lower() == "basic "


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
def open_upsert_user(
    product_id: str,
    account_id: str,
    user_id: str,
    write: Annotated[OpenWrite, Depends(open_write)],
    session: DbSession,
    request: Request,
) -> UserOut:
    product = products.get_product(session, product_id)
    # What this process remembers of the user may no longer be its row: the next token maps
    # it through the store again (and so writes its own values back, as it always has).
    forget_user(request, product_id, user_id)
    user = service.upsert_user(
        session,
        product_id=product_id,
        external_id=user_id,
        profile={"account_id": account_id, **write.body.profile()},
        listed=product.published if write.listed is None else write.listed,
    )
    return UserOut.model_validate(user)
