"""The calls routes make, one line each: ``await limits.hit(request, LimitClass.X, key)``.

The limiter hangs on the application (``app.state.limiter``, set by ``create_app``); an app
built without one (a test harness) is not limited.
"""

from __future__ import annotations

from starlette.requests import Request

from .limiter import Limiter
from .rates import LimitClass

__all__ = [
    "CLIENT_EVENTS_PER_USER",
    "MANAGEMENT_PER_API_KEY",
    "OPEN_ENDPOINT_PER_ADDRESS",
    "LimitClass",
    "check_client",
    "check_product",
    "client_address",
    "counts_click",
    "failed_verification",
    "hit",
    "limiter_of",
]

# The classes routes name in their one-line calls.
CLIENT_EVENTS_PER_USER = LimitClass.CLIENT_EVENTS_PER_USER
MANAGEMENT_PER_API_KEY = LimitClass.MANAGEMENT_PER_API_KEY
OPEN_ENDPOINT_PER_ADDRESS = LimitClass.OPEN_ENDPOINT_PER_ADDRESS


def limiter_of(request: Request) -> Limiter | None:
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    return limiter


def client_address(request: Request) -> str:
    limiter = limiter_of(request)
    if limiter is None:
        return request.client.host if request.client else "unknown"
    return limiter.address(request.scope)


async def hit(request: Request, kind: LimitClass, *key: str, product_id: str | None = None) -> None:
    """Count this call under ``key``; 429 with Retry-After past ``kind``'s rate."""
    limiter = limiter_of(request)
    if limiter is not None:
        await limiter.hit(kind, *key, product_id=product_id)


def check_client(request: Request, product_id: str | None = None) -> None:
    """429 if this client's address is past its rate of refused credentials; free otherwise."""
    limiter = limiter_of(request)
    if limiter is not None and limiter.blocking:
        limiter.check(
            LimitClass.FAILED_VERIFICATIONS_PER_ADDRESS,
            limiter.address(request.scope),
            product_id=product_id,
        )


async def check_product(request: Request, product_id: str) -> None:
    """429 if this product, or this client's address, is past its rate of refused tokens:
    asked before a token is verified afresh, so that tokens answered from memory still pass
    while a product is under attack. With Redis this asks it what other processes counted."""
    limiter = limiter_of(request)
    if limiter is None or not (limiter.blocking or limiter.shared):
        return
    await limiter.check_shared(
        LimitClass.FAILED_VERIFICATIONS_PER_PRODUCT, product_id, product_id=product_id
    )
    await limiter.check_shared(
        LimitClass.FAILED_VERIFICATIONS_PER_ADDRESS,
        limiter.address(request.scope),
        product_id=product_id,
    )


async def failed_verification(request: Request, *, product_id: str | None = None) -> None:
    """Count a refused credential: against the client's address, or (``product_id``) against
    the product it was refused for."""
    limiter = limiter_of(request)
    if limiter is None:
        return
    if product_id is None:
        key = limiter.address(request.scope)
        await limiter.failed(LimitClass.FAILED_VERIFICATIONS_PER_ADDRESS, key)
    else:
        await limiter.failed(LimitClass.FAILED_VERIFICATIONS_PER_PRODUCT, product_id)


async def counts_click(request: Request, code: str) -> bool:
    """Whether this click of the link ``code`` counts: once per visitor and period."""
    limiter = limiter_of(request)
    if limiter is None:
        return True
    return await limiter.within(
        LimitClass.REFERRAL_CLICKS_PER_VISITOR, code, limiter.address(request.scope)
    )
