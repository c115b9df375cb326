"""The management API's principal as a dependency: the operator's admin token, or a product's
API key (Bearer, or the referral platform guide's Basic with the key as password)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from plaudit.errors import Unauthenticated
from plaudit.limits import web as limits

from .api_keys import API_KEY_PREFIX
from .credentials import bearer
from .principal import Principal, authenticate, operator
from .session import acting
from .state import get_state


async def management_principal(request: Request) -> Principal:
    presented = bearer(request)
    if not presented:
        await limits.failed_verification(request)
        raise Unauthenticated()
    state = get_state(request)
    if presented.startswith(API_KEY_PREFIX):
        limits.check_client(request)  # the store is asked next: 429 if the address is limited

        def check() -> Principal | None:
            with state.db.session() as session:
                return authenticate(session, state.settings, presented)

        principal = await run_in_threadpool(check)
    else:
        principal = operator(state.settings, presented)  # no database needed
    if principal is not None:
        acting(request, principal)
        if principal.api_key_id is not None:  # the operator's own token is not rated
            key = principal.api_key_id
            await limits.hit(
                request, limits.MANAGEMENT_PER_API_KEY, key, product_id=principal.product_id
            )
        return principal
    await limits.failed_verification(request)
    raise Unauthenticated("The admin token or API key is not valid.")


Manager = Annotated[Principal, Depends(management_principal)]


def managed_product_id(
    principal: Manager, product_id: Annotated[str, Path(include_in_schema=False)]
) -> str:
    """The path's ``product_id``, once the principal may manage it (compared in constant time;
    another tenant's product is a 404, exactly as a product that does not exist).

    The handler names ``product_id: str`` itself too: that is where the OpenAPI document
    lists it, first among the path's parameters, as the path reads."""
    principal.check_product(product_id)
    return product_id


ManagedProductId = Annotated[str, Depends(managed_product_id)]


def operator_only(principal: Manager) -> Principal:
    principal.require_operator()
    return principal


Operator = Annotated[Principal, Depends(operator_only)]
