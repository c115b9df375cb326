"""Getting started: the snippet that signs a valid token for this product, in four languages,
how Plaudit finds the product for that token, and where to test one (the test box)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from plaudit.access.session import in_session
from plaudit.access.state import AppState
from plaudit.auth.profiles import get_profile
from plaudit.auth.refusal import ROUTING_CLAIMS
from plaudit.products import hmac_secrets, public_keys, service

from .. import snippets
from ..web import PREFIX, Console, ConsoleRoute, product_of, render

router = APIRouter(route_class=ConsoleRoute)


def token_test_box_url(product_id: str) -> str:
    """The Authentication tab's "Test a token" box, which the guides and 401 hints point to."""
    return f"{PREFIX}/products/{product_id}/authentication#test-heading"


def routing_claim(claims: dict[str, Any], product: dict[str, Any]) -> str | None:
    """The claim by which Plaudit finds this product for a token with ``claims`` (its id, or
    its audience), as it routes a call without a product header or path; None: the call must
    name the product itself."""
    names = {product["id"], product["audience"]} - {None}
    for claim in ROUTING_CLAIMS:
        value = claims.get(claim)
        if any(v in names for v in (value if isinstance(value, list) else [value])):
            return claim
    return None


@router.get(PREFIX + "/products/{product_id}/start", include_in_schema=False)
async def getting_started(request: Request, product_id: str, console: Console) -> Response:
    def work(session: Session, state: AppState) -> dict[str, Any]:
        product = product_of(session, console, product_id)
        settings = service.product_settings(product)
        secrets = [
            hmac_secrets.secret_info(x, state.now())
            for x in hmac_secrets.list_secrets(session, product)
        ]
        keys = [public_keys.key_info(k) for k in public_keys.list_keys(session, product)]
        made = snippets.recipe(
            settings, secrets=secrets, keys=keys, public_url=state.settings.resolved_public_url
        )
        return {
            "product": settings,
            "recipe": made,
            "snippets": snippets.snippets(made),
            "has_keys": bool(secrets) or bool(keys),
            "guide": get_profile(settings["profile"]),
            "routed_by": routing_claim(made.claims, settings),
            "test_box": token_test_box_url(settings["id"]),
        }

    return render(request, "start.html", tab="start", **(await in_session(request, work)))
