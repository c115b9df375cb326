"""The refusals of a user token, as the client API, the console's test box and the CLI say them.

``plaudit.auth.refusal`` words what was checked and the fix; this knows where a product's test
box lives and what a product's runtime holds, and words a request that reaches no product.
Nothing here reads another product than the one a request reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plaudit.auth import TokenParser
from plaudit.auth.errors import AuthError
from plaudit.auth.refusal import (
    HEADER,
    PRODUCT_HEADER,
    ROUTING_CLAIMS,
    Checked,
    checked_refusal,
    claim_route,
)
from plaudit.errors import UnknownProduct

from .keystore import ProductRuntime

#: The console page that holds a product's test box, and the box's anchor on it.
TEST_BOX_PATH = "/console/products/{product_id}/authentication#test-heading"


def test_box_url(public_url: str, product_id: str) -> str:
    """Where a product's admin pastes a token to see every step of its judgement."""
    return public_url.rstrip("/") + TEST_BOX_PATH.format(product_id=product_id)


def checked(runtime: ProductRuntime, route: str, public_url: str | None) -> Checked:
    verifier = runtime.verifier
    enabled = [key for key in verifier.keys if key.enabled]
    algorithms = {alg for key in enabled for alg in key.algorithms}
    return Checked(
        product_id=runtime.product_id,
        route=route,
        profile=verifier.profile,
        policy=verifier.policy,
        test_box=test_box_url(public_url, runtime.product_id) if public_url else None,
        only_kid=enabled[0].kid if len(enabled) == 1 else None,
        only_alg=next(iter(algorithms)) if len(algorithms) == 1 else None,
    )


def assumed_route(runtime: ProductRuntime, claims: Mapping[str, Any] | None) -> str:
    """How a token reaches this product when the caller does not say (the test box, the CLI):
    by the claim that names it, else as a request naming it in the header would."""
    return claim_route(claims, runtime.product_id, runtime.verifier.policy.audience) or HEADER


def unverified_claims(token: str, parser: TokenParser) -> dict[str, Any] | None:
    """The token's claims as sent, only to be quoted back in a refusal; None if unreadable."""
    try:
        return parser.parse(token).claims
    except AuthError:
        return None


def refused(
    error: AuthError,
    runtime: ProductRuntime,
    *,
    route: str,
    claims: Mapping[str, Any] | None,
    public_url: str | None,
) -> AuthError:
    """``error`` saying which product checked the token, how it got there, and the fix."""
    return checked_refusal(error, checked(runtime, route, public_url), claims)


def unknown_product(
    *, named: str | None, route: str, claims: Mapping[str, Any] | None
) -> UnknownProduct:
    """No product answers: quote what was looked up and where, and nothing else (no test box:
    there is no product to link to, and no hint of which products exist)."""
    if named is not None:
        where = f"the {PRODUCT_HEADER} header" if route == HEADER else "the request's path"
        return UnknownProduct(
            f"No product has the id {_quote(named)} ({where}).",
            hint="Check the product id: it is the 'id' of POST /v1/products' answer, shown on "
            "the console's product page.",
        )
    values = [
        f"{name} {_quote(value)}"
        for name in ROUTING_CLAIMS
        for value in _strings((claims or {}).get(name))
    ]
    if not values:
        return UnknownProduct(
            f"The request names no product: no {PRODUCT_HEADER} header, none in the path, and "
            "the token has no 'ProductId' or 'aud' claim.",
            hint=f"Send '{PRODUCT_HEADER}: <product id>', or sign the product's id into the "
            "token's 'aud' (or 'ProductId' for the referral widget's tokens).",
        )
    return UnknownProduct(
        f"No single product answers to the token's {', '.join(values[:3])}.",
        hint="Check the spelling: the claim must be exactly the product's id, or the audience "
        f"set for it; or name the product with the {PRODUCT_HEADER} header.",
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value[:10] if isinstance(v, str)]
    return []


def _quote(value: str) -> str:
    shown = value if len(value) <= 80 else value[:80] + "..."
    return repr(shown)
