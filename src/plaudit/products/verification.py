"""What verifying user tokens keeps for the life of the process: the products' keystore, the
JWKS fetcher (its own threads, one flight per product), the log of refused tokens, and the
token-keyed memos in front of them (each a ``BoundedCache``).

``create_app`` builds one and hangs it on ``app.state.verification``; the client API's
dependency (``plaudit.users.client``) and the hot path read it from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from plaudit.access.cache import BoundedCache

from .failure_log import FailureLog
from .jwks_refresh import JwksFetcher
from .keystore import Keystore

TOKEN_PRODUCTS_SIZE = 50_000
VERIFY_BODIES_SIZE = 10_000


@dataclass
class Verification:
    keystore: Keystore
    #: JWKS fetches on threads of their own (registration, unknown kids, the schedule).
    jwks: JwksFetcher
    failures: FailureLog = field(default_factory=FailureLog)
    #: token -> (product id, the keystore's routing epoch then), for repeated tokens whose
    #: product is named only by their claims: taken while the epoch has not moved.
    token_products: BoundedCache[str, tuple[str, int]] = field(
        default_factory=lambda: BoundedCache(TOKEN_PRODUCTS_SIZE)
    )
    #: token -> (its cached VerifiedToken, the rendered /v1/auth/verify body, its length as
    #: header text); reused only while the verifier's cache returns that very object.
    verify_bodies: BoundedCache[str, tuple[object, bytes, bytes]] = field(
        default_factory=lambda: BoundedCache(VERIFY_BODIES_SIZE)
    )


def get_verification(request: Request) -> Verification:
    verification: Verification = request.app.state.verification
    return verification


VerificationState = Annotated[Verification, Depends(get_verification)]
