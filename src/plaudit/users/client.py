"""Authenticating a tenant's user by the token its backend signed: the client API's front door.

The product is named by the path, the ``X-Plaudit-Product`` header, or the token's own claims
(the referral widget guide's ``ProductId``, the gamification guide's ``aud``); a claim only
picks whose keys judge the token. A repeated token is answered from memory, and so is the
route a claim-routed token took (until the keystore's routing epoch moves). A new token is
verified, and its user mapped once: a user this process knows, whose row the token would not
change, is not written at all (``users/memory.py``).
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
from plaudit.access.credentials import USER_TOKEN_FIELDS, user_token_in
from plaudit.access.state import AppState, get_state
from plaudit.auth import ParsedToken, VerifiedToken, parse_unverified
from plaudit.auth.errors import AuthError, MissingToken, UnknownKey
from plaudit.auth.refusal import HEADER, PATH, claim_route
from plaudit.errors import OriginNotAllowed, UnknownProduct
from plaudit.limits import web as limits
from plaudit.products.keystore import ProductRuntime
from plaudit.products.models import Product
from plaudit.products.refusals import refused, unknown_product, unverified_claims
from plaudit.products.repository import get_product
from plaudit.products.verification import Verification, get_verification

from . import repository
from .memory import UserMemory, user_memory
from .models import User
from .service import map_user

PRODUCT_HEADER = "x-plaudit-product"
_PRODUCT_FIELD = PRODUCT_HEADER.encode()
#: Every header a client call reads, as ASGI spells them: read in one pass.
_READ = frozenset((*USER_TOKEN_FIELDS, _PRODUCT_FIELD, b"origin"))


@dataclass(frozen=True)
class ClientContext:
    runtime: ProductRuntime
    verified: VerifiedToken
    token: str
    users: UserMemory | None = None

    @property
    def product_id(self) -> str:
        return self.runtime.product_id

    def product_and_user(self, session: Session) -> tuple[Product, User]:
        """The product and the token's user: read by its primary key when this process knows
        it (and the token changes nothing in it), else mapped (made now on its first sight)."""
        product = get_product(session, self.product_id)
        return product, self.user_in(session, product)

    def user_in(self, session: Session, product: Product) -> User:
        """The token's user in ``product`` (this context's, read in ``session``), as
        ``product_and_user`` finds it: for callers that read the product once for many."""
        pk = self.remembered(product)
        if pk is not None:
            user = repository.user_by_pk(session, product.id, pk)
            # The row may since hold another id (erased to a pseudonym by another process,
            # or, on SQLite, a deleted row's key reused): then it is not this user's.
            if user is not None and user.external_id == self.verified.user_id:
                self.seen(product.id, user.id)
                return user
        return self.mapped(session, product)

    def remembered(self, product: Product) -> int | None:
        """The key of the token's user's row, if this process knows it and the token would
        change nothing in it: then the row is only to be read (and checked to be still this
        user's, as ``user_in`` does), never written."""
        memory = self.users
        if memory is None:
            return None
        known = memory.known(
            product.id, self.runtime.build, self.verified, published=product.published
        )
        return None if known is None else known.pk

    def seen(self, product_id: str, pk: int) -> None:
        """The remembered user was seen now (its ``last_seen_at``, flushed in the background)."""
        if self.users is not None:
            self.users.seen(product_id, self.verified.user_id, pk)

    def mapped(self, session: Session, product: Product) -> User:
        """The token's user mapped: made now on its first sight, its profile refreshed."""
        return map_user(
            session, product_id=product.id, published=product.published, verified=self.verified
        )


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
    headers = _headers(request)
    token = token or user_token_in(headers)
    if not token:
        raise MissingToken()
    route = PATH if product_id else HEADER  # refusals say how the product was reached
    if not product_id:
        named = headers.get(_PRODUCT_FIELD)
        product_id = named.decode("latin-1") if named is not None else None
    routed_by_claims = not product_id
    remember_route = False
    if routed_by_claims:
        # A token routed by its own claims once routes the same way again, until a product
        # changes (here or in another process: the keystore's routing epoch moves).
        remembered = verification.token_products.get(token)
        if remembered is not None and remembered[1] == keystore.routing_epoch:
            product_id = remembered[0]
        else:
            remember_route = True
    known = keystore.get(product_id) if product_id else None
    if known is None:
        limits.check_client(request, product_id)  # the store is asked next: 429 if limited
    parsed: ParsedToken | None = None  # kept, so that routing and verifying parse it once
    epoch = keystore.routing_epoch  # read before routing: a change meanwhile is not remembered
    if not product_id:
        parsed = parse_unverified(token, max_bytes=state.settings.max_token_bytes)
        product_id = await run_in_threadpool(keystore.route, parsed.claims)
        if product_id is None:
            raise unknown_product(named=None, route=route, claims=parsed.claims)
    runtime = (
        known or keystore.get(product_id) or await run_in_threadpool(keystore.load, product_id)
    )
    if runtime is None:
        raise unknown_product(
            named=None if routed_by_claims else product_id,
            route=route,
            claims=parsed.claims if parsed is not None else None,
        )
    origin_header = headers.get(b"origin")
    origin = origin_header.decode("latin-1") if origin_header is not None else None
    if origin is not None and not _origin_allowed(origin, runtime, state):
        raise OriginNotAllowed(
            f"Product {runtime.product_id!r} does not allow calls from {origin!r}."
        )
    now = state.clock()
    users = user_memory(request)  # once: the fresh path and the context share it
    try:
        verified = runtime.cached(token, now)
        if verified is not None:
            runtime.check(verified)
        else:
            await limits.check_product(request, runtime.product_id)  # past its refusals: 429
            runtime, verified = await _verify_fresh(
                state, verification, users, runtime, token, now, parsed=parsed
            )
        if remember_route:
            verification.token_products.put(token, (runtime.product_id, epoch))
        verified.require_scopes(*scopes)
    except AuthError as error:
        error = _refused(error, runtime, state, token, parsed, route, routed_by_claims)
        verification.failures.add(runtime.product_id, error, token)
        if error.status == 401:
            await limits.failed_verification(request, product_id=runtime.product_id)
        raise error from None
    return ClientContext(runtime=runtime, verified=verified, token=token, users=users)


async def _verify_fresh(
    state: AppState,
    verification: Verification,
    users: UserMemory,
    runtime: ProductRuntime,
    token: str,
    now: float,
    *,
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

    known = users.known(runtime.product_id, runtime.build, verified, published=runtime.published)
    if known is not None:  # nothing to write: only its last_seen_at moves, in the background
        users.seen(runtime.product_id, verified.user_id, known.pk)
        return runtime, verified
    mapped = runtime

    def map_it() -> None:
        with state.db.session() as session:
            user = map_user(
                session,
                product_id=mapped.product_id,
                published=mapped.published,
                verified=verified,
            )
            entry = users.entry(mapped.build, user)
        users.remember(mapped.product_id, verified.user_id, entry)  # once committed

    try:
        await run_in_threadpool(map_it)
    except Exception:
        # Not cached unless mapped: the next call with this token tries the mapping again.
        if runtime.verifier.cache is not None:
            runtime.verifier.cache.discard(token)
        raise
    return runtime, verified


def _refused(
    error: AuthError,
    runtime: ProductRuntime,
    state: AppState,
    token: str,
    parsed: ParsedToken | None,
    route: str,
    routed_by_claims: bool,
) -> AuthError:
    """The refusal naming the product checked, the route, the key and the fix (the failure
    path only: the token's claims are read again here rather than on every call)."""
    claims = (
        parsed.claims if parsed is not None else unverified_claims(token, runtime.verifier.parser)
    )
    if routed_by_claims:
        route = claim_route(claims, runtime.product_id, runtime.verifier.policy.audience) or "aud"
    return refused(
        error, runtime, route=route, claims=claims, public_url=state.settings.resolved_public_url
    )


def client_user(*scopes: str) -> Callable[[Request], Awaitable[ClientContext]]:
    """A dependency: the user a verified token names, holding ``scopes``."""

    async def dependency(request: Request) -> ClientContext:
        return await authenticate_user(request, scopes=scopes)

    return dependency


#: The scope a token needs to write (send events, redeem).
WRITE = ("write",)
#: The token's user, whatever its scopes; one that may read; one that may write.
ClientUser = Annotated[ClientContext, Depends(client_user())]
ReadingUser = Annotated[ClientContext, Depends(client_user("read"))]
WritingUser = Annotated[ClientContext, Depends(client_user(*WRITE))]


def _headers(request: Request) -> dict[bytes, bytes]:
    """The first value of each header a client call reads (as ``request.headers.get`` would
    give it), from one pass over the request's headers."""
    found: dict[bytes, bytes] = {}
    for name, value in request.scope["headers"]:
        if name in _READ and name not in found:
            found[name] = value
    return found


def _origin_allowed(origin: str, runtime: ProductRuntime, state: AppState) -> bool:
    origin = origin.lower()
    return origin in runtime.allowed_origins or origin == state.own_origin
