"""Authenticating a tenant's user by the token its backend signed: the client API's front door.

The product is named by the path, the ``X-Plaudit-Product`` header, or the token's own claims
(the referral widget guide's ``ProductId``, the gamification guide's ``aud``); a claim only
picks whose keys judge the token. A repeated token is answered from memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from plaudit import metrics
from plaudit.access.credentials import user_token
from plaudit.access.state import AppState, get_state
from plaudit.auth import ParsedToken, VerifiedToken, parse_unverified
from plaudit.auth.errors import AuthError, MissingToken, UnknownKey
from plaudit.errors import OriginNotAllowed, UnknownProduct
from plaudit.limits import web as limits
from plaudit.products.keystore import ProductRuntime
from plaudit.products.models import Product
from plaudit.products.repository import get_product
from plaudit.products.verification import Verification, get_verification

from .models import User
from .service import map_user

PRODUCT_HEADER = "x-plaudit-product"


@dataclass(frozen=True)
class ClientContext:
    runtime: ProductRuntime
    verified: VerifiedToken
    token: str

    @property
    def product_id(self) -> str:
        return self.runtime.product_id

    def product_and_user(self, session: Session) -> tuple[Product, User]:
        """The product and the token's user, made now if this is their first sight."""
        product = get_product(session, self.product_id)
        user = map_user(
            session, product_id=product.id, published=product.published, verified=self.verified
        )
        return product, user


async def authenticate_user(
    request: Request,
    *,
    product_id: str | None = None,
    scopes: tuple[str, ...] = (),
    token: str | None = None,
) -> ClientContext:
    try:
        context = await _authenticate_user(
            request, product_id=product_id, scopes=scopes, token=token
        )
    except (AuthError, UnknownProduct) as error:
        metrics.record_verification(error.code)
        if error.status == 401:  # refused credentials count; a missing scope (403) does not
            await limits.failed_verification(request)
        raise
    metrics.record_verification("ok")
    return context


async def _authenticate_user(
    request: Request, *, product_id: str | None, scopes: tuple[str, ...], token: str | None
) -> ClientContext:
    state = get_state(request)
    verification = get_verification(request)
    keystore = verification.keystore
    token = token or user_token(request)
    if not token:
        raise MissingToken()
    product_id = product_id or request.headers.get(PRODUCT_HEADER)
    routed_by_claims = not product_id
    if routed_by_claims:
        # A token routed by its own claims once routes the same way again: remember it.
        product_id = verification.token_products.get(token)
    known = keystore.get(product_id) if product_id else None
    if known is None:
        limits.check_client(request, product_id)  # the store is asked next: 429 if limited
    parsed: ParsedToken | None = None  # kept, so that routing and verifying parse it once
    if not product_id:
        parsed = parse_unverified(token, max_bytes=state.settings.max_token_bytes)
        product_id = await run_in_threadpool(keystore.route, parsed.claims)
        if product_id is None:
            raise UnknownProduct()
    runtime = (
        known or keystore.get(product_id) or await run_in_threadpool(keystore.load, product_id)
    )
    if runtime is None:
        raise UnknownProduct(f"No product has the id {product_id!r}.")
    origin = request.headers.get("origin")
    if origin is not None and not _origin_allowed(origin, runtime, state):
        raise OriginNotAllowed(
            f"Product {runtime.product_id!r} does not allow calls from {origin!r}."
        )
    now = state.clock()
    try:
        verified = runtime.cached(token, now)
        if verified is not None:
            runtime.check(verified)
        else:
            await limits.check_product(request, runtime.product_id)  # past its refusals: 429
            runtime, verified = await _verify_fresh(
                state,
                verification,
                runtime,
                token,
                now,
                remember_route=routed_by_claims,
                parsed=parsed,
            )
        verified.require_scopes(*scopes)
    except AuthError as error:
        verification.failures.add(runtime.product_id, error, token)
        if error.status == 401:
            await limits.failed_verification(request, product_id=runtime.product_id)
        raise
    return ClientContext(runtime=runtime, verified=verified, token=token)


async def _verify_fresh(
    state: AppState,
    verification: Verification,
    runtime: ProductRuntime,
    token: str,
    now: float,
    *,
    remember_route: bool,
    parsed: ParsedToken | None,
) -> tuple[ProductRuntime, VerifiedToken]:
    try:
        verified = runtime.verify(token, now, parsed=parsed)
    except UnknownKey:
        if not runtime.has_jwks:
            raise
        # Awaited on the event loop, fetched on the JWKS threads: one flight per product, and
        # this request waits for it a few seconds at most (see products/jwks_refresh.py).
        await verification.jwks.refetch(runtime.product_id)
        # A refetch (this one, or one that landed just before) rebuilt the runtime if it
        # brought new keys; the same runtime means nothing new to try.
        reloaded = verification.keystore.get(runtime.product_id)
        if reloaded is None or reloaded is runtime:
            raise
        runtime = reloaded
        verified = runtime.verify(token, now, parsed=parsed)

    def map_it() -> None:
        with state.db.session() as session:
            map_user(
                session,
                product_id=runtime.product_id,
                published=runtime.published,
                verified=verified,
            )

    try:
        await run_in_threadpool(map_it)
    except Exception:
        # Not cached unless mapped: the next call with this token tries the mapping again.
        if runtime.verifier.cache is not None:
            runtime.verifier.cache.discard(token)
        raise
    if remember_route:
        verification.token_products.put(token, runtime.product_id)
    return runtime, verified


def client_user(*scopes: str) -> Callable[[Request], Awaitable[ClientContext]]:
    """A dependency: the user a verified token names, holding ``scopes``."""

    async def dependency(request: Request) -> ClientContext:
        return await authenticate_user(request, scopes=scopes)

    return dependency


#: The token's user, whatever its scopes; one that may read; one that may write.
ClientUser = Annotated[ClientContext, Depends(client_user())]
ReadingUser = Annotated[ClientContext, Depends(client_user("read"))]
WritingUser = Annotated[ClientContext, Depends(client_user("write"))]


def _origin_allowed(origin: str, runtime: ProductRuntime, state: AppState) -> bool:
    origin = origin.lower()
    return origin in runtime.allowed_origins or origin == state.own_origin
